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
