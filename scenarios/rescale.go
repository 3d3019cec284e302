package scenarios

import (
	"math"
	"time"
)

// TotalDuration is the length of the load profile: the sum of stage
// durations, or load.duration when there are no stages.
func (s *Scenario) TotalDuration() time.Duration {
	if len(s.Load.Stages) == 0 {
		return s.Load.Duration.D()
	}
	var t time.Duration
	for _, st := range s.Load.Stages {
		t += st.Over.D()
	}
	return t
}

// Rescale stretches or shrinks the whole timeline proportionally (stages,
// load.duration, pauses, fault windows, the steady-state window) so the total
// becomes d, for --duration smoke runs of long scenarios. Rates and
// load.events are left alone. A constant-rate scenario with no length gets
// load.duration = d; d <= 0 changes nothing.
func (s *Scenario) Rescale(d time.Duration) {
	total := s.TotalDuration()
	if d <= 0 {
		return
	}
	if total <= 0 && len(s.Load.Stages) == 0 {
		// A constant rate with no length yet (e.g. --set load.stages=[]):
		// --duration gives it one.
		s.Load.Duration = Duration(d)
		return
	}
	if total <= 0 {
		return
	}
	f := float64(d) / float64(total)
	// Scaled times are rounded to the millisecond: "6.667s", not
	// "6.666666667s", in results and logs.
	scale := func(x *Duration) {
		*x = Duration(math.Round(float64(*x)*f/float64(time.Millisecond)) * float64(time.Millisecond))
	}
	if len(s.Load.Stages) == 0 {
		s.Load.Duration = Duration(d)
	} else {
		for i := range s.Load.Stages {
			scale(&s.Load.Stages[i].Over)
		}
		// Put rounding drift on the last stage so the total is exactly d.
		last := &s.Load.Stages[len(s.Load.Stages)-1]
		last.Over += Duration(d - s.TotalDuration())
		if s.Load.Duration != 0 {
			scale(&s.Load.Duration)
		}
	}
	end := Duration(d)
	clamp := func(at, dur *Duration) {
		scale(at)
		scale(dur)
		if *at <= end && *at+*dur > end { // rounding must not push a window past the end
			*dur = end - *at
		}
	}
	for i := range s.Consumers.Pause {
		clamp(&s.Consumers.Pause[i].At, &s.Consumers.Pause[i].For)
	}
	for i := range s.Faults {
		clamp(&s.Faults[i].At, &s.Faults[i].For)
	}
	scale(&s.SteadyState.Window)
	scale(&s.Load.Warmup)
	rescaleOutbox(s, scale)
	rescaleVersions(s, scale)
	rescaleSnapshot(s, scale)
	rescaleHandlers(s, clamp)
}

// ScaleRate multiplies every rate (load.start and each stage's to) by f, for
// --rate-scale. load.events (a count) is not changed.
func (s *Scenario) ScaleRate(f float64) {
	s.Load.Start *= f
	for i := range s.Load.Stages {
		s.Load.Stages[i].To *= f
	}
}
