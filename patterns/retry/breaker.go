package retry

import (
	"sync"
	"time"
)

// State is a circuit breaker's state.
type State string

// Breaker states: closed calls the handler; open refuses calls until the
// cooldown ends; half-open lets one probe through, whose outcome closes or
// re-opens it.
const (
	Closed   State = "closed"
	Open     State = "open"
	HalfOpen State = "half-open"
)

// BreakerConfig configures a Breaker.
type BreakerConfig struct {
	// Threshold is the failure rate (0..1] over Window above which the
	// breaker opens.
	Threshold float64
	// Window is the rolling window the failure rate is computed over.
	Window time.Duration
	// Cooldown is how long the breaker stays open before a probe.
	Cooldown time.Duration
	// MinCalls is the number of calls within Window below which the
	// breaker never opens (one failure out of one call is not a trend).
	MinCalls int
}

// Transition is one state change, with when it happened.
type Transition struct {
	At       time.Time
	From, To State
}

// breakerBuckets divide the window: the rate is over the last Window to
// within Window/breakerBuckets, at a fixed cost per call.
const breakerBuckets = 10

// Breaker is a failure-rate circuit breaker over a rolling window.
// Safe for concurrent use; the clock is passed in so tests are exact.
type Breaker struct {
	cfg BreakerConfig

	mu          sync.Mutex
	state       State
	openedAt    time.Time
	probing     bool
	buckets     [breakerBuckets]struct{ calls, fails int }
	bucketStart time.Time // start of the newest bucket
	newest      int
	transitions []Transition
}

// NewBreaker returns a closed breaker.
func NewBreaker(cfg BreakerConfig) *Breaker {
	if cfg.MinCalls < 1 {
		cfg.MinCalls = 1
	}
	return &Breaker{cfg: cfg, state: Closed}
}

// Wait says how long to wait before calling the handler at now: 0 when the
// breaker is closed, or half-open and this caller is the probe; otherwise
// until the cooldown ends (open), or a short while for the probe's outcome
// (half-open, another caller probing).
func (b *Breaker) Wait(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Open:
		if left := b.openedAt.Add(b.cfg.Cooldown).Sub(now); left > 0 {
			return left
		}
		b.move(now, HalfOpen)
		b.probing = true
		return 0
	case HalfOpen:
		if b.probing {
			return min(b.cfg.Cooldown, 10*time.Millisecond)
		}
		b.probing = true
		return 0
	}
	return 0
}

// Record counts one call's outcome at now and changes state when it
// must: a failed probe re-opens, a successful one closes; in closed state,
// a failure rate above the threshold over the window opens.
func (b *Breaker) Record(now time.Time, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case HalfOpen:
		b.probing = false
		if ok {
			b.reset(now)
			b.move(now, Closed)
		} else {
			b.openedAt = now
			b.move(now, Open)
		}
		return
	case Open:
		return // a call that started before the breaker opened
	}
	b.roll(now)
	bk := &b.buckets[b.newest]
	bk.calls++
	if !ok {
		bk.fails++
	}
	calls, fails := 0, 0
	for _, x := range b.buckets {
		calls += x.calls
		fails += x.fails
	}
	if !ok && calls >= b.cfg.MinCalls && float64(fails)/float64(calls) > b.cfg.Threshold {
		b.openedAt = now
		b.move(now, Open)
	}
}

// roll advances the bucket ring to now, emptying buckets that fell out of
// the window.
func (b *Breaker) roll(now time.Time) {
	width := b.cfg.Window / breakerBuckets
	if width <= 0 {
		width = time.Millisecond
	}
	if b.bucketStart.IsZero() {
		b.bucketStart = now
		return
	}
	for steps := 0; now.Sub(b.bucketStart) >= width; steps++ {
		if steps >= breakerBuckets { // idle for a whole window: start afresh
			b.reset(now)
			return
		}
		b.newest = (b.newest + 1) % breakerBuckets
		b.buckets[b.newest] = struct{ calls, fails int }{}
		b.bucketStart = b.bucketStart.Add(width)
	}
}

func (b *Breaker) reset(now time.Time) {
	b.buckets = [breakerBuckets]struct{ calls, fails int }{}
	b.bucketStart = now
	b.newest = 0
}

func (b *Breaker) move(now time.Time, to State) {
	b.transitions = append(b.transitions, Transition{At: now, From: b.state, To: to})
	b.state = to
}

// State is the current state.
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// Transitions are the state changes so far, oldest first.
func (b *Breaker) Transitions() []Transition {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Transition(nil), b.transitions...)
}

// Period is a time the breaker was not closed (open, then half-open until
// a probe succeeded): the consumer was paused.
type Period struct{ Start, End time.Time }

// OpenPeriods are the spans from each opening to the next close; one that
// has not closed ends at end.
func OpenPeriods(ts []Transition, end time.Time) []Period {
	var out []Period
	var start time.Time
	open := false
	for _, t := range ts {
		switch {
		case t.To == Open && !open:
			start, open = t.At, true
		case t.To == Closed && open:
			out = append(out, Period{start, t.At})
			open = false
		}
	}
	if open {
		out = append(out, Period{start, end})
	}
	return out
}
