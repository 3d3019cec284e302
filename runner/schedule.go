package runner

import (
	"math"
	"time"

	"github.com/evbench/evbench/scenarios"
)

// Schedule turns a piecewise-linear rate profile into arrival times. Event n
// (0-based) is due when the cumulative number of arrivals N(t) reaches n, so
// every scheduled time is derived from the run's start and nothing a slow
// store does can shift it (open loop, as k6's arrival-rate executors do).
type Schedule struct {
	segs  []segment
	total int64 // number of events in the whole profile
	dur   time.Duration
	// span is when the offer ends: dur, or earlier when load.events caps
	// the profile (the instant its last event is due).
	span time.Duration
	// phase and stride make this one shard's part of the profile (Stride):
	// its events are the profile's phase, phase+stride, phase+2*stride...,
	// so the shards interleave and together send exactly the profile.
	// stride 1 is the whole profile.
	phase, stride int64
	part          int64 // the number of this part's events
}

// segment is a linear ramp from rate a to rate b over [t0, t0+T) seconds,
// holding n0 arrivals before it.
type segment struct {
	t0, T, a, b, n0 float64
}

// count is the number of arrivals in the first tau seconds of the segment.
func (s segment) count(tau float64) float64 {
	return s.a*tau + (s.b-s.a)/(2*s.T)*tau*tau
}

// NewSchedule builds the schedule of a load profile, capped at load.events
// when that is set.
func NewSchedule(l scenarios.Load) *Schedule {
	sch := &Schedule{stride: 1}
	rate := l.Start
	t, n := 0.0, 0.0
	add := func(to float64, over time.Duration) {
		T := over.Seconds()
		if T <= 0 {
			rate = to
			return
		}
		seg := segment{t0: t, T: T, a: math.Max(rate, 0), b: math.Max(to, 0), n0: n}
		sch.segs = append(sch.segs, seg)
		n += seg.count(T)
		t += T
		rate = to
	}
	if len(l.Stages) == 0 {
		add(l.Start, l.Duration.D())
	}
	for _, st := range l.Stages {
		add(st.To, st.Over.D())
	}
	sch.dur = time.Duration(t * float64(time.Second))
	sch.total = int64(math.Floor(n + 1e-9))
	sch.span = sch.dur
	if l.Events > 0 && l.Events < sch.total {
		sch.total = l.Events
		sch.span = sch.timeOf(float64(l.Events))
	}
	sch.part = sch.total
	return sch
}

// Stride makes the schedule shard i of n's part of the profile: the
// profile's events i, i+n, i+2n... at their own instants. Dividing the
// rate by n instead would put every shard's k-th event at the same
// instant (n at once, then a gap) and round each shard's count down.
func (s *Schedule) Stride(i, n int) *Schedule {
	c := *s
	c.phase, c.stride = int64(i), int64(max(n, 1))
	c.part = 0
	if s.total > c.phase {
		c.part = (s.total - c.phase + c.stride - 1) / c.stride
	}
	return &c
}

// Total is the number of events the schedule (its part) holds.
func (s *Schedule) Total() int64 { return s.part }

// Duration is the length of the profile.
func (s *Schedule) Duration() time.Duration { return s.dur }

// Span is how long the schedule offers load: Duration, or less when
// load.events stops it early. Total / Span is the offered rate.
func (s *Schedule) Span() time.Duration { return s.span }

// OfferedRate is the mean rate the schedule really offers, events/s.
func (s *Schedule) OfferedRate() float64 {
	if s.span <= 0 {
		return 0
	}
	return float64(s.part) / s.span.Seconds()
}

// timeOf is the instant N(t) reaches n (the profile's end when it never does).
func (s *Schedule) timeOf(n float64) time.Duration {
	for _, seg := range s.segs {
		if n-seg.n0 <= seg.count(seg.T)+1e-9 {
			return time.Duration((seg.t0 + solve(seg, n-seg.n0)) * float64(time.Second))
		}
	}
	return s.dur
}

// CountAt is N(t): how many arrivals are due at or before t (fractional),
// never more than Total. A part's is its share of the profile's.
func (s *Schedule) CountAt(t time.Duration) float64 {
	n := math.Min(s.countAt(t), float64(s.total))
	switch {
	case s.stride <= 1:
		return n
	case n >= float64(s.total):
		return float64(s.part) // the fraction below would fall short by up to 1
	}
	return math.Min(math.Max((n-float64(s.phase))/float64(s.stride), 0), float64(s.part))
}

func (s *Schedule) countAt(t time.Duration) float64 {
	sec := t.Seconds()
	for _, seg := range s.segs {
		if sec < seg.t0+seg.T {
			tau := math.Max(sec-seg.t0, 0)
			return seg.n0 + seg.count(tau)
		}
	}
	if len(s.segs) == 0 {
		return 0
	}
	last := s.segs[len(s.segs)-1]
	return last.n0 + last.count(last.T)
}

// RateAt is the offered rate at t, events/s (0 once the offer ended).
func (s *Schedule) RateAt(t time.Duration) float64 {
	if t >= s.span {
		return 0
	}
	sec := t.Seconds()
	for _, seg := range s.segs {
		if sec < seg.t0+seg.T {
			return (seg.a + (seg.b-seg.a)*(sec-seg.t0)/seg.T) / float64(s.stride)
		}
	}
	return 0
}

// Cursor walks the schedule in order without searching from the start.
type Cursor struct {
	s   *Schedule
	seg int
	n   int64
}

// Cursor starts a walk at event 0.
func (s *Schedule) Cursor() *Cursor { return &Cursor{s: s} }

// Next returns the due time of the next event and its number (in the
// part: 0, 1, 2...), or ok=false when the schedule is exhausted.
func (c *Cursor) Next() (at time.Duration, n int64, ok bool) {
	if c.n >= c.s.part {
		return 0, c.n, false
	}
	target := float64(c.s.phase + c.n*c.s.stride)
	for c.seg < len(c.s.segs) {
		seg := c.s.segs[c.seg]
		need := target - seg.n0
		if need <= seg.count(seg.T)+1e-9 {
			tau := solve(seg, need)
			n := c.n
			c.n++
			return time.Duration((seg.t0 + tau) * float64(time.Second)), n, true
		}
		c.seg++
	}
	return 0, c.n, false
}

// solve returns tau in [0, T] with seg.count(tau) == need. The quadratic
// a*tau + k*tau^2 = need is solved in the cancellation-free form
// tau = 2*need / (a + sqrt(a^2 + 4*k*need)), which also covers a == 0.
func solve(seg segment, need float64) float64 {
	if need <= 0 {
		return 0
	}
	k := (seg.b - seg.a) / (2 * seg.T)
	disc := seg.a*seg.a + 4*k*need
	if disc < 0 {
		disc = 0
	}
	den := seg.a + math.Sqrt(disc)
	if den <= 0 {
		return seg.T
	}
	return math.Min(2*need/den, seg.T)
}
