package retry

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Window is a span of time (offsets from a start) in which something holds.
type Window struct{ From, To time.Duration }

// Flaky injects handler failures: each attempt fails with probability Rate
// (a transient error, drawn from a seeded source so a run can be
// repeated), and every attempt on an event of one of FailTypes fails (a
// poison message or a broken downstream), only within During when it is
// set (a downstream outage). Safe for concurrent use.
type Flaky struct {
	Rate      float64
	FailTypes map[string]bool
	During    []Window

	mu  sync.Mutex
	rng *rand.Rand
}

// NewFlaky returns a failure injector seeded with seed.
func NewFlaky(rate float64, failTypes []string, during []Window, seed uint64) *Flaky {
	f := &Flaky{Rate: rate, FailTypes: map[string]bool{}, During: during, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for _, t := range failTypes {
		f.FailTypes[t] = true
	}
	return f
}

// ErrInjected is the error of every injected failure.
type ErrInjected struct{ Reason string }

func (e *ErrInjected) Error() string { return "injected handler failure: " + e.Reason }

// Check returns the failure this attempt of an event of type typ gets at
// offset at (since the run's start), or nil.
func (f *Flaky) Check(typ string, at time.Duration) error {
	if f == nil {
		return nil
	}
	if f.FailTypes[typ] && f.inWindow(at) {
		return &ErrInjected{Reason: fmt.Sprintf("event type %s fails", typ)}
	}
	if f.Rate <= 0 {
		return nil
	}
	f.mu.Lock()
	fail := f.rng.Float64() < f.Rate
	f.mu.Unlock()
	if fail {
		return &ErrInjected{Reason: fmt.Sprintf("transient (failure_rate %g)", f.Rate)}
	}
	return nil
}

func (f *Flaky) inWindow(at time.Duration) bool {
	if len(f.During) == 0 {
		return true
	}
	for _, w := range f.During {
		if at >= w.From && at < w.To {
			return true
		}
	}
	return false
}
