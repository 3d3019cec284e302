package memory

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
	"github.com/evbench/evbench/internal/pace"
)

func TestParseCapacityDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn     string
		name    string
		want    Capacity
		wantErr string // substring of the error; "" means valid
	}{
		{dsn: "memory://", want: Capacity{}},
		{dsn: "memory://a", name: "a"},
		{dsn: "memory://?capacity=50000", want: Capacity{EventsPerSec: 50000}},
		{dsn: "memory://b?capacity=2.5e4&service=exp", name: "b", want: Capacity{EventsPerSec: 25000, Exp: true}},
		{dsn: "memory://?capacity=100&service=fixed", want: Capacity{EventsPerSec: 100}},
		{dsn: "memory://?capacity=0", wantErr: `capacity "0": want events per second, a number > 0`},
		{dsn: "memory://?capacity=-5", wantErr: `capacity "-5"`},
		{dsn: "memory://?capacity=fast", wantErr: `capacity "fast"`},
		{dsn: "memory://?capacity=NaN", wantErr: `capacity "NaN"`},
		{dsn: "memory://?capacity=Inf", wantErr: `capacity "Inf"`},
		{dsn: "memory://?capacity=", wantErr: `capacity ""`},
		{dsn: "memory://?capacity=1e12", wantErr: "at most 1e9"},
		{dsn: "memory://?capacity=100&service=poisson", wantErr: `service "poisson": want fixed`},
		{dsn: "memory://?service=exp", wantErr: "service=exp needs capacity: add capacity=EVENTS_PER_S"},
		{dsn: "memory://?capacity=1&capacity=2", wantErr: "parameter capacity given 2 times"},
		{dsn: "memory://?rate=100", wantErr: `unknown parameter "rate" (the memory driver takes capacity=EVENTS_PER_S and service=fixed|exp)`},
		{dsn: "postgres://x", wantErr: "want memory://"},
	} {
		name, c, err := parseDSN(tc.dsn)
		if tc.wantErr == "" {
			if err != nil || name != tc.name || c != tc.want {
				t.Errorf("parseDSN(%q) = %q, %+v, %v; want %q, %+v", tc.dsn, name, c, err, tc.name, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("parseDSN(%q) error = %v; want it to contain %q", tc.dsn, err, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("parseDSN(%q) error spans lines: %q", tc.dsn, err)
		}
	}
}

func TestSimulatedDescribeAndReopen(t *testing.T) {
	ctx := context.Background()
	reg, _ := drivers.Lookup("memory")
	name := fmt.Sprintf("describe-%d", time.Now().UnixNano())
	defer embedded{name: name}.Close()
	d, err := reg.Open(ctx, "memory://"+name+"?capacity=50000&service=exp", drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := d.(interface{ Describe() string }).Describe()
	if want := "memory (simulated capacity 50000 events/s, exp service)"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	if got := NewSimulated(Capacity{EventsPerSec: 1500}).Describe(); got != "memory (simulated capacity 1500 events/s, fixed service)" {
		t.Errorf("Describe = %q", got)
	}
	// A second connection with the same parameters shares the store; one
	// with others is refused unless it resets.
	if _, err := reg.Open(ctx, "memory://"+name+"?capacity=50000&service=exp", drivers.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Open(ctx, "memory://"+name+"?capacity=100", drivers.Options{}); err == nil || !strings.Contains(err.Error(), "same parameters") {
		t.Fatalf("reopen with another capacity: %v, want a same-parameters error", err)
	}
	if _, err := reg.Open(ctx, "memory://"+name+"?capacity=100", drivers.Options{Reset: true}); err != nil {
		t.Fatal(err)
	}
}

func TestSimulatedConformance(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) drivers.Driver {
		d := NewSimulated(Capacity{EventsPerSec: 1e6})
		t.Cleanup(func() { d.Close() })
		return d
	})
}

// TestSimulatedStoresAtCompletion: an event is invisible until its
// service ends.
func TestSimulatedStoresAtCompletion(t *testing.T) {
	ctx := context.Background()
	d := NewSimulated(Capacity{EventsPerSec: 20}) // 50 ms per event
	t0 := time.Now()
	done := make(chan []drivers.Position, 1)
	d.AppendAsync(ctx, drivertest.Events(2, 1), func(p []drivers.Position, err error) {
		if err != nil {
			t.Error(err)
		}
		done <- p
	})
	if h, _ := d.Head(ctx); h.Total() != 0 {
		t.Fatalf("head %d right after the append, want 0 (stored at completion)", h.Total())
	}
	pos := <-done
	if el := time.Since(t0); el < 100*time.Millisecond {
		t.Fatalf("2 events at 20/s completed after %v, want >= 100ms", el)
	}
	if h, _ := d.Head(ctx); h.Total() != 2 || len(pos) != 2 || pos[1].Offset != 1 {
		t.Fatalf("head %d, positions %v after completion", h.Total(), pos)
	}
	// The synchronous path waits too.
	t1 := time.Now()
	if _, err := d.Append(ctx, drivertest.Events(1, 1)); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t1); el < 50*time.Millisecond {
		t.Fatalf("sync append at 20/s returned after %v, want >= 50ms", el)
	}
}

// overload appends n events in batches as fast as it can and returns the
// achieved completion rate: events over the span from the first append to
// the last completion.
func overload(t *testing.T, c Capacity, n, batch int) float64 {
	t.Helper()
	ctx := context.Background()
	d := NewSimulated(c)
	evs := drivertest.Events(n, 100)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last time.Time
	t0 := time.Now()
	for i := 0; i < n; i += batch {
		wg.Add(1)
		d.AppendAsync(ctx, evs[i:min(i+batch, n)], func(_ []drivers.Position, err error) {
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			last = time.Now()
			mu.Unlock()
			wg.Done()
		})
	}
	submit := time.Since(t0)
	wg.Wait()
	rate := float64(n) / last.Sub(t0).Seconds()
	t.Logf("%s service, capacity %.0f/s, batch %d: %d events submitted in %v, achieved %.0f/s (%.2f%% of capacity)",
		c.Service(), c.EventsPerSec, batch, n, submit.Round(time.Millisecond), rate, 100*rate/c.EventsPerSec)
	if h, _ := d.Head(ctx); h.Total() != int64(n) {
		t.Errorf("head %d after all completions, want %d", h.Total(), n)
	}
	return rate
}

func TestSimulatedThroughputUnderOverload(t *testing.T) {
	for _, tc := range []struct {
		c     Capacity
		n     int
		batch int
	}{
		{Capacity{EventsPerSec: 50000}, 50000, 10},
		{Capacity{EventsPerSec: 50000, Exp: true}, 50000, 10},
		{Capacity{EventsPerSec: 20000}, 20000, 1},
	} {
		t.Run(fmt.Sprintf("%s-%d-batch%d", tc.c.Service(), int(tc.c.EventsPerSec), tc.batch), func(t *testing.T) {
			rate := overload(t, tc.c, tc.n, tc.batch)
			if dev := math.Abs(rate/tc.c.EventsPerSec - 1); dev > 0.02 {
				t.Errorf("achieved %.0f/s under overload, want capacity %.0f/s within 2%% (off by %.1f%%)", rate, tc.c.EventsPerSec, 100*dev)
			}
		})
	}
}

// TestSimulatedSustains200k: the completer keeps up with 200,000+
// completions/s of single-event appends (the brief's floor on a 2-core VM).
func TestSimulatedSustains200k(t *testing.T) {
	if testing.Short() {
		t.Skip("1 s of load")
	}
	if raceEnabled {
		t.Skip("the race detector slows every append several times over")
	}
	c := Capacity{EventsPerSec: 250000}
	rate := overload(t, c, 250000, 1)
	if rate < 200000 {
		t.Errorf("achieved %.0f completions/s at capacity 250,000/s, want >= 200,000/s", rate)
	}
}

// TestSimulatedLatencyAtHalfLoad: at 50 % load with evenly spaced arrivals
// and a fixed service time nothing queues, so commit latency is the service
// time plus the completer's wake-up lateness.
func TestSimulatedLatencyAtHalfLoad(t *testing.T) {
	ctx := context.Background()
	const capacity = 1000 // 1 ms per event
	svc := time.Second / capacity
	d := NewSimulated(Capacity{EventsPerSec: capacity})
	w := pace.NewWaiter()
	defer w.Close()
	const n = 500 // at 500/s: 1 s
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	evs := drivertest.Events(n, 10)
	start := time.Now().Add(time.Millisecond)
	for i := range n {
		w.Until(ctx, start.Add(time.Duration(i)*2*svc))
		t0 := time.Now()
		wg.Add(1)
		d.AppendAsync(ctx, evs[i:i+1], func(_ []drivers.Position, err error) {
			lat[i] = time.Since(t0)
			wg.Done()
		})
	}
	wg.Wait()
	slices.Sort(lat)
	p50, p90 := lat[n/2], lat[n*9/10]
	t.Logf("service %v at 50%% load: latency min %v p50 %v p90 %v max %v", svc, lat[0], p50, p90, lat[n-1])
	if lat[0] < svc {
		t.Errorf("an append completed after %v, before its service time %v", lat[0], svc)
	}
	if p50 > svc+svc/4 {
		t.Errorf("p50 %v at 50%% load, want near the service time %v (within 25%%)", p50, svc)
	}
}

// TestSimulatedFIFOPerKey: completions and stored order follow arrival
// order, so per-key order holds, with batches of mixed sizes and
// concurrent appenders.
func TestSimulatedFIFOPerKey(t *testing.T) {
	ctx := context.Background()
	d := NewSimulated(Capacity{EventsPerSec: 200000, Exp: true})
	drivertest.CheckKeyOrder(t, d, drivertest.KeyOrderLoad{})

	// One appender: done order is submission order, positions increase.
	evs := drivertest.Events(3000, 7)
	var mu sync.Mutex
	var order []int
	var offsets []int64
	var wg sync.WaitGroup
	for i, j := 0, 0; i < len(evs); j++ {
		n := 1 + j%9
		b := evs[i:min(i+n, len(evs))]
		i += len(b)
		wg.Add(1)
		d.AppendAsync(ctx, b, func(p []drivers.Position, err error) {
			mu.Lock()
			order = append(order, j)
			for _, q := range p {
				offsets = append(offsets, q.Offset)
			}
			mu.Unlock()
			wg.Done()
		})
	}
	wg.Wait()
	if !slices.IsSorted(order) {
		t.Fatalf("completions out of arrival order: %v", order[:min(len(order), 20)])
	}
	for i := 1; i < len(offsets); i++ {
		if offsets[i] != offsets[i-1]+1 {
			t.Fatalf("positions %d, %d: not consecutive in arrival order", offsets[i-1], offsets[i])
		}
	}
}

// TestSimulatedExpServiceMean: exponential service times have mean
// 1/capacity and a coefficient of variation of 1 (fixed: 0).
func TestSimulatedExpServiceMean(t *testing.T) {
	for _, exp := range []bool{false, true} {
		q := newServer(Capacity{EventsPerSec: 40000, Exp: exp}, newStore())
		const n = 200000
		var sum, sumSq float64
		for range n {
			s := q.service(1)
			sum += s
			sumSq += s * s
		}
		mean := sum / n
		cv := math.Sqrt(sumSq/n-mean*mean) / mean
		want := 1e9 / 40000.0
		t.Logf("exp=%v: mean service %.1f ns (want %.1f), cv %.3f", exp, mean, want, cv)
		if math.Abs(mean/want-1) > 0.01 {
			t.Errorf("exp=%v: mean service %.1f ns, want %.1f within 1%%", exp, mean, want)
		}
		wantCV := 0.0
		if exp {
			wantCV = 1
		}
		if math.Abs(cv-wantCV) > 0.02 {
			t.Errorf("exp=%v: coefficient of variation %.3f, want %.0f", exp, cv, wantCV)
		}
	}
}

// BenchmarkSimulatedCompletions is the simulated server's own ceiling:
// single-event appends at a capacity far above what one submitter offers,
// so every append is served and completed as fast as the completer can;
// completions/s is the figure (docs/drivers.md).
func BenchmarkSimulatedCompletions(b *testing.B) {
	ctx := context.Background()
	d := NewSimulated(Capacity{EventsPerSec: 1e8})
	evs := drivertest.Events(1<<16, 100)
	var wg sync.WaitGroup
	done := func([]drivers.Position, error) { wg.Done() }
	t0 := time.Now()
	i := 0
	for b.Loop() {
		wg.Add(1)
		d.AppendAsync(ctx, evs[i&(1<<16-1):i&(1<<16-1)+1], done)
		i++
	}
	wg.Wait()
	b.ReportMetric(float64(i)/time.Since(t0).Seconds(), "completions/s")
}
