package scenarios

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

const samples = 100_000

func counts(t *testing.T, k Keys) []int {
	t.Helper()
	p, err := NewKeyPicker(k)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	c := make([]int, k.Count)
	for i := 0; i < samples; i++ {
		j := p.Pick(r)
		if j < 0 || j >= k.Count {
			t.Fatalf("%s picked %d outside [0,%d)", k.Distribution, j, k.Count)
		}
		c[j]++
	}
	return c
}

func TestUniform(t *testing.T) {
	c := counts(t, Keys{Count: 10, Distribution: "uniform"})
	for i, n := range c {
		if math.Abs(float64(n)/samples-0.1) > 0.01 {
			t.Errorf("key %d share %.3f, want 0.1 ± 0.01", i, float64(n)/samples)
		}
	}
}

func TestZipfIsSkewed(t *testing.T) {
	const n = 1000
	c := counts(t, Keys{Count: n, Distribution: "zipf", S: 1.1})
	top := float64(c[0]) / samples
	// Exact P(rank 1) = 1 / H(n, 1.1) ~ 0.20 for n = 1000, vs 0.001 uniform.
	var h float64
	for i := 1; i <= n; i++ {
		h += math.Pow(float64(i), -1.1)
	}
	want := 1 / h
	if math.Abs(top-want) > 0.01 {
		t.Fatalf("top key share %.4f, want %.4f ± 0.01", top, want)
	}
	if !(c[0] > c[1] && c[1] > c[9] && c[9] > c[99]) {
		t.Fatalf("not decreasing by rank: %d %d %d %d", c[0], c[1], c[9], c[99])
	}
	if c[n-1] == 0 && c[n-2] == 0 && c[n-3] == 0 {
		// The tail must be reachable (the last key has p ~ 1e-4).
		t.Log("tail keys unpicked: acceptable but suspicious")
	}
}

func TestZipfSingleKey(t *testing.T) {
	c := counts(t, Keys{Count: 1, Distribution: "zipf", S: 2})
	if c[0] != samples {
		t.Fatal("single key not always picked")
	}
}

// TestRoundRobin pins the cycle (0, 1, ..., n-1, 0, ...) and so the exact
// equal share per key that OMB's KEY_ROUND_ROBIN gives; the rand is unused.
func TestRoundRobin(t *testing.T) {
	cases := []struct {
		count int
		want  []int // first picks
	}{
		{1, []int{0, 0, 0}},
		{3, []int{0, 1, 2, 0, 1, 2, 0}},
		{5, []int{0, 1, 2, 3, 4, 0}},
	}
	for _, tc := range cases {
		p, err := NewKeyPicker(Keys{Count: tc.count, Distribution: "roundrobin"})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range tc.want {
			if got := p.Pick(nil); got != w {
				t.Fatalf("count %d: pick %d = %d, want %d", tc.count, i, got, w)
			}
		}
	}
	// Exactly equal shares over whole cycles, and a fresh picker restarts.
	c := counts(t, Keys{Count: 7, Distribution: "roundrobin"})
	for i, n := range c {
		if want := samples / 7; n != want && n != want+1 {
			t.Errorf("key %d picked %d times, want %d or %d", i, n, want, want+1)
		}
	}
	p, _ := NewKeyPicker(Keys{Count: 7, Distribution: "roundrobin"})
	if got := p.Pick(nil); got != 0 {
		t.Fatalf("a new picker starts at %d, want 0", got)
	}
}

func TestHotsetShare(t *testing.T) {
	cases := []Keys{
		{Count: 10000, Distribution: "hotset", Hot: 0.01, Share: 0.8},
		{Count: 100, Distribution: "hotset", Hot: 0.2, Share: 0.5},
		{Count: 3, Distribution: "hotset", Hot: 0.001, Share: 0.9}, // hot rounds up to 1 key
	}
	for _, k := range cases {
		c := counts(t, k)
		hot := int(math.Ceil(k.Hot * float64(k.Count)))
		var onHot int
		for _, n := range c[:hot] {
			onHot += n
		}
		if got := float64(onHot) / samples; math.Abs(got-k.Share) > 0.01 {
			t.Errorf("%+v: hot share %.4f, want %.2f ± 0.01", k, got, k.Share)
		}
	}
}

func TestNewKeyPickerErrors(t *testing.T) {
	cases := []struct {
		k    Keys
		want string
	}{
		{Keys{Count: 10, Distribution: "pareto"}, `events.keys.distribution: unknown distribution "pareto"; use one of: hotset, roundrobin, uniform, zipf`},
		{Keys{Count: 0, Distribution: "uniform"}, "events.keys.count: 0; need at least 1 key"},
		{Keys{Count: 10, Distribution: "zipf", S: 1}, "events.keys.s: 1 is too small; zipf needs s > 1 (e.g. 1.1)"},
		{Keys{Count: 10, Distribution: "hotset", Hot: 0, Share: 0.5}, "events.keys.hot: 0 is outside (0,1)"},
		{Keys{Count: 10, Distribution: "hotset", Hot: 0.1, Share: 1}, "events.keys.share: 1 is outside (0,1)"},
	}
	for _, tc := range cases {
		_, err := NewKeyPicker(tc.k)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want prefix %q", tc.k, err, tc.want)
		}
	}
	if p, err := NewKeyPicker(Keys{Count: 5}); err != nil || p == nil {
		t.Fatalf("empty distribution must mean uniform: %v", err)
	}
}

func TestKeyName(t *testing.T) {
	for _, i := range []int{0, 7, 123456789} {
		if got, want := KeyName(i), "order-"+strconv.Itoa(i); got != want {
			t.Errorf("KeyName(%d) = %q, want %q", i, got, want)
		}
	}
}

func BenchmarkPick(b *testing.B) {
	for _, k := range []Keys{
		{Count: 100000, Distribution: "uniform"},
		{Count: 100000, Distribution: "zipf", S: 1.1},
		{Count: 100000, Distribution: "hotset", Hot: 0.01, Share: 0.8},
	} {
		b.Run(k.Distribution, func(b *testing.B) {
			p, err := NewKeyPicker(k)
			if err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			sum := 0
			for i := 0; i < b.N; i++ {
				sum += p.Pick(r)
			}
			_ = sum
		})
	}
}

func BenchmarkKeyName(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = KeyName(i & 0xffff)
	}
}
