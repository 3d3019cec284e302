package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// Executor runs a handler for one event at a time with retries, a circuit
// breaker and a DLQ. The consumer calling it waits while it retries, as an
// in-order consumer must: the events after a failing one wait too, which
// is the cost the result measures.
type Executor struct {
	Policy  Policy
	Breaker *Breaker // nil: no breaker
	DLQ     Sink     // nil: a given-up event is only reported
	// Now and Sleep are the clock; nil = time.Now and a ctx-aware sleep.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) bool

	mu  sync.Mutex
	rng *rand.Rand
}

// NewExecutor returns an executor whose jitter is drawn from seed.
func NewExecutor(p Policy, b *Breaker, dlq Sink, seed uint64) *Executor {
	return &Executor{Policy: p, Breaker: b, DLQ: dlq, rng: rand.New(rand.NewPCG(seed, seed^0x51afd7ed558ccd))}
}

// Outcome is what became of one event.
type Outcome struct {
	Attempts     int           // tries made (>= 1 unless the context ended first)
	DeadLettered bool          // given up and put in the DLQ
	Err          error         // the last attempt's error (nil when it succeeded)
	Paused       time.Duration // time spent waiting for the breaker
}

// ErrStopped is the last error of an event whose retries the context cut
// short: it is dead-lettered so it is accounted for, not dropped.
var ErrStopped = errors.New("consumer stopped before the retries were exhausted")

// Do calls h until it succeeds or Policy.Attempts tries failed, waiting the
// backoff between tries and for the breaker before each; then it puts
// letter (with the attempts and last error filled in) in the DLQ. h gets
// the 1-based try number. A DLQ write that fails is returned in Err with
// DeadLettered false.
func (e *Executor) Do(ctx context.Context, letter Letter, h func(try int) error) Outcome {
	now, sleep := e.Now, e.Sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	attempts := max(e.Policy.Attempts, 1)
	var out Outcome
	for try := 1; try <= attempts; try++ {
		if e.Breaker != nil {
			for {
				w := e.Breaker.Wait(now())
				if w <= 0 {
					break
				}
				out.Paused += w
				if !sleep(ctx, w) {
					out.Err = ErrStopped
					return e.deadLetter(ctx, letter, out)
				}
			}
		}
		out.Attempts = try
		out.Err = h(try)
		if e.Breaker != nil {
			e.Breaker.Record(now(), out.Err == nil)
		}
		if out.Err == nil {
			return out
		}
		if try == attempts {
			break
		}
		e.mu.Lock()
		w := e.Policy.Wait(try, e.rng)
		e.mu.Unlock()
		if !sleep(ctx, w) {
			break
		}
	}
	return e.deadLetter(ctx, letter, out)
}

func (e *Executor) deadLetter(ctx context.Context, l Letter, out Outcome) Outcome {
	if out.Err == nil {
		out.Err = ErrStopped
	}
	if e.DLQ == nil {
		return out
	}
	l.Attempts, l.Err, l.At = out.Attempts, out.Err.Error(), time.Now()
	if e.Now != nil {
		l.At = e.Now()
	}
	// The DLQ write must land even when the consumer is stopping.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := e.DLQ.Put(wctx, l); err != nil {
		out.Err = errors.Join(out.Err, err)
		return out
	}
	out.DeadLettered = true
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
