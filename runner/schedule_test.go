package runner

import (
	"math"
	"testing"
	"time"

	"github.com/evbench/evbench/scenarios"
)

func dur(d time.Duration) scenarios.Duration { return scenarios.Duration(d) }

func TestScheduleCounts(t *testing.T) {
	tests := []struct {
		name  string
		load  scenarios.Load
		total int64
	}{
		{"constant", scenarios.Load{Start: 100, Duration: dur(10 * time.Second)}, 1000},
		{"ramp up", scenarios.Load{Start: 0, Stages: []scenarios.Stage{{To: 200, Over: dur(10 * time.Second)}}}, 1000},
		{"ramp down", scenarios.Load{Start: 200, Stages: []scenarios.Stage{{To: 0, Over: dur(10 * time.Second)}}}, 1000},
		{"hold then spike", scenarios.Load{Start: 100, Stages: []scenarios.Stage{
			{To: 100, Over: dur(5 * time.Second)}, {To: 1000, Over: 0}, {To: 1000, Over: dur(2 * time.Second)},
		}}, 2500},
		{"capped by events", scenarios.Load{Start: 100, Duration: dur(10 * time.Second), Events: 42}, 42},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSchedule(tc.load)
			if s.Total() != tc.total {
				t.Fatalf("total = %d, want %d", s.Total(), tc.total)
			}
			c := s.Cursor()
			var prev time.Duration
			var got int64
			for {
				at, n, ok := c.Next()
				if !ok {
					break
				}
				if n != got {
					t.Fatalf("event number %d, want %d", n, got)
				}
				if at < prev {
					t.Fatalf("event %d at %v before previous %v", n, at, prev)
				}
				if at > s.Duration() {
					t.Fatalf("event %d at %v after the profile ends (%v)", n, at, s.Duration())
				}
				// N(at) must equal n: the schedule inverts the cumulative count.
				if diff := math.Abs(s.CountAt(at) - float64(n)); diff > 1e-3 {
					t.Fatalf("N(%v) = %.4f, want %d", at, s.CountAt(at), n)
				}
				prev = at
				got++
			}
			if got != tc.total {
				t.Fatalf("walked %d events, want %d", got, tc.total)
			}
		})
	}
}

func TestScheduleRampShape(t *testing.T) {
	// Ramp 0 -> 200/s over 10 s: a quarter of the events fall in the first half.
	s := NewSchedule(scenarios.Load{Start: 0, Stages: []scenarios.Stage{{To: 200, Over: dur(10 * time.Second)}}})
	c := s.Cursor()
	firstHalf := 0
	for {
		at, _, ok := c.Next()
		if !ok {
			break
		}
		if at < 5*time.Second {
			firstHalf++
		}
	}
	if firstHalf < 245 || firstHalf > 255 {
		t.Fatalf("first half holds %d events, want ~250", firstHalf)
	}
	if r := s.RateAt(5 * time.Second); math.Abs(r-100) > 1e-6 {
		t.Fatalf("rate at 5s = %v, want 100", r)
	}
}

func BenchmarkScheduleNext(b *testing.B) {
	s := NewSchedule(scenarios.Load{Start: 1e6, Stages: []scenarios.Stage{{To: 2e6, Over: dur(time.Hour)}}})
	c := s.Cursor()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, ok := c.Next(); !ok {
			c = s.Cursor()
		}
	}
}

// load.events stops the offer early: the offered rate is the events over
// the span they were offered in, not over the whole profile.
func TestOfferedRateWhenEventsCap(t *testing.T) {
	s := NewSchedule(scenarios.Load{Start: 1000, Duration: scenarios.Duration(10 * time.Second), Events: 2000})
	if s.Total() != 2000 || s.Span() < 1990*time.Millisecond || s.Span() > 2010*time.Millisecond {
		t.Fatalf("total %d span %v, want 2000 events over 2s", s.Total(), s.Span())
	}
	if r := s.OfferedRate(); r < 995 || r > 1005 {
		t.Fatalf("offered %v/s, want 1000/s", r)
	}
	if c := s.CountAt(5 * time.Second); c != 2000 {
		t.Fatalf("CountAt(5s) = %v, want the cap 2000", c)
	}
	if r := s.RateAt(3 * time.Second); r != 0 {
		t.Fatalf("RateAt after the cap = %v, want 0", r)
	}
	u := NewSchedule(scenarios.Load{Start: 1000, Duration: scenarios.Duration(10 * time.Second)})
	if u.Span() != 10*time.Second || u.OfferedRate() != 1000 {
		t.Fatalf("uncapped: span %v rate %v", u.Span(), u.OfferedRate())
	}
}

// e2e latency is measured on the monotonic clock: the scheduled wall time
// becomes an exact offset from the start, and "now" is a monotonic
// difference, so no wall reading taken during the run enters it.
func TestRunClockIgnoresWallSteps(t *testing.T) {
	start := time.Now()
	c := newRunClock(start)
	created := start.Add(250 * time.Millisecond).UnixNano()
	if got := c.offset(created); got != 250*time.Millisecond {
		t.Fatalf("offset %v, want 250ms", got)
	}
	now := start.Add(400 * time.Millisecond) // monotonic reading 400 ms after start
	if e2e := c.since(now) - c.offset(created); e2e != 150*time.Millisecond {
		t.Fatalf("e2e %v, want 150ms", e2e)
	}
}

// TestStrideInterleaves: the N parts of a profile hold exactly its events
// at exactly its instants, each part every N-th of them, so shards
// interleave and sum to the whole: 10400 events in 3 parts are 10400, not
// 3 x floor(10400/3) = 10398, and never three at one instant.
func TestStrideInterleaves(t *testing.T) {
	loads := []scenarios.Load{
		{Start: 1040, Duration: dur(10 * time.Second)},
		{Start: 10, Stages: []scenarios.Stage{{To: 900, Over: dur(4 * time.Second)}, {To: 900, Over: dur(2 * time.Second)}, {To: 50, Over: dur(3 * time.Second)}}},
		{Start: 100, Duration: dur(10 * time.Second), Events: 101},
	}
	for li, l := range loads {
		whole := NewSchedule(l)
		var want []time.Duration
		for c := whole.Cursor(); ; {
			at, _, ok := c.Next()
			if !ok {
				break
			}
			want = append(want, at)
		}
		for _, n := range []int{1, 2, 3, 7} {
			got := make([]time.Duration, len(want))
			var total int64
			var rate float64
			for i := 0; i < n; i++ {
				part := whole.Stride(i, n)
				total += part.Total()
				rate += part.RateAt(time.Second)
				if end := part.CountAt(whole.Duration() + time.Second); end != float64(part.Total()) {
					t.Errorf("load %d, part %d/%d: CountAt(end) = %v, want its Total %d", li, i, n, end, part.Total())
				}
				k := int64(0)
				for c := part.Cursor(); ; k++ {
					at, local, ok := c.Next()
					if !ok {
						break
					}
					if local != k {
						t.Fatalf("load %d, part %d/%d: event number %d, want %d", li, i, n, local, k)
					}
					got[int64(i)+k*int64(n)] = at
				}
				if k != part.Total() {
					t.Errorf("load %d, part %d/%d: cursor gave %d events, Total says %d", li, i, n, k, part.Total())
				}
			}
			if total != whole.Total() {
				t.Errorf("load %d, %d parts: %d events together, want the whole's %d", li, n, total, whole.Total())
			}
			if math.Abs(rate-whole.RateAt(time.Second)) > 1e-9 {
				t.Errorf("load %d, %d parts: rates sum to %v, want %v", li, n, rate, whole.RateAt(time.Second))
			}
			for j := range want {
				if got[j] != want[j] {
					t.Fatalf("load %d, %d parts: event %d at %v, want the whole's %v", li, n, j, got[j], want[j])
				}
			}
		}
	}
}
