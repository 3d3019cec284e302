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
