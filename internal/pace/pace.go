// Package pace waits until an instant, for open-loop load: never early, and
// as little late as the runtime allows without hurting the process it
// measures.
//
// DOC-FIGURES
package pace

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// The mechanisms a Waiter can use, as Kind reports them and New accepts.
const (
	kindTimerfd   = "timerfd"
	kindTimer     = "timer"
	kindNanosleep = "nanosleep"
)

const (
	coarseSlack = 2 * time.Millisecond  // nanosleep: runtime timer until this close to due
	fineSlack   = 80 * time.Microsecond // nanosleep: nanosleep until this close, then spin
)

// errCancelled reports that the context ended during a timerfd wait.
var errCancelled = errors.New("pace: wait cancelled")

// Waiter paces one goroutine: it is not safe for concurrent Until calls
// (Close may be called from any goroutine). It reuses its timer or
// descriptor across waits, so a wait allocates nothing beyond what
// context.AfterFunc needs for a cancellable context.
type Waiter struct {
	kind   string
	timer  *time.Timer
	fd     *timerfd // nil unless kind is timerfd
	closed atomic.Bool
}

// NewWaiter returns the default waiter: precise and cooperative. On Linux it
// parks the goroutine on a timerfd in the netpoller (see the package
// comment); where a timerfd is unavailable it falls back to the runtime
// timer (Kind then says "timer"). Close it when done to release the
// descriptor.
func NewWaiter() *Waiter {
	if w, err := New(kindTimerfd); err == nil {
		return w
	}
	return NewTimerWaiter()
}

// NewTimerWaiter returns a waiter that uses the runtime timer only: it never
// holds a P, but a wait under 1 ms rounds up to about 1 ms when nothing else
// wakes the netpoller. Kept for A/B comparisons with the timerfd waiter.
func NewTimerWaiter() *Waiter {
	return &Waiter{kind: kindTimer, timer: stoppedTimer()}
}

// NewPreciseWaiter returns a waiter that finishes each wait with
// nanosleep(2) and a short yield-spin. The nanosleep holds its P (see the
// package comment), so it suits a benchmark loop whose process has little
// else to schedule; its goroutine should hold runtime.LockOSThread. Where
// nanosleep is not wired up (non-Linux) it is the timer waiter.
func NewPreciseWaiter() *Waiter {
	if !haveNanosleep {
		return NewTimerWaiter()
	}
	return &Waiter{kind: kindNanosleep, timer: stoppedTimer()}
}

// New returns a waiter of the named kind ("timerfd", "timer" or
// "nanosleep") for A/B runs. Unlike NewWaiter it does not fall back: it
// fails if the kind is unknown or unavailable on this system.
func New(kind string) (*Waiter, error) {
	switch kind {
	case kindTimerfd:
		fd, err := newTimerfd()
		if err != nil {
			return nil, fmt.Errorf("pace: timerfd waiter: %w", err)
		}
		return &Waiter{kind: kindTimerfd, timer: stoppedTimer(), fd: fd}, nil
	case kindTimer:
		return NewTimerWaiter(), nil
	case kindNanosleep:
		if !haveNanosleep {
			return nil, fmt.Errorf("pace: nanosleep waiter is not available on %s", runtime.GOOS)
		}
		return NewPreciseWaiter(), nil
	}
	return nil, fmt.Errorf("pace: unknown waiter kind %q (valid: %q, %q, %q)",
		kind, kindTimerfd, kindTimer, kindNanosleep)
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// Kind names the mechanism the next Until will use: "timerfd", "timer" or
// "nanosleep". A timerfd waiter reports "timer" once closed (or once its
// descriptor failed), because from then on it waits with the runtime timer.
func (w *Waiter) Kind() string {
	if w.kind == kindTimerfd && w.closed.Load() {
		return kindTimer
	}
	return w.kind
}

// Close releases the timerfd, if any. It is idempotent and always safe; it
// does not invalidate the waiter: a later (or concurrent) Until falls back
// to the runtime timer, still never early. On the other kinds Close does
// nothing.
func (w *Waiter) Close() error {
	if !w.closed.CompareAndSwap(false, true) {
		return nil
	}
	if w.fd != nil {
		return w.fd.close()
	}
	return nil
}

// Until returns when due is reached (true) or ctx ended first (false). It
// never returns before due; a due in the past returns at once without a
// system call. A ctx that ends mid-wait interrupts it promptly.
func (w *Waiter) Until(ctx context.Context, due time.Time) bool {
	fdDone := false
	switch {
	case w.fd != nil && !w.closed.Load():
		switch err := w.fd.wait(ctx, due); {
		case err == nil:
			fdDone = true
		case err == errCancelled:
			return false
		case !w.closed.Load():
			// The descriptor failed (it never has in practice): keep
			// pacing with the runtime timer from now on rather than fail
			// the run.
			w.Close()
		}
	case w.kind == kindNanosleep:
		if !w.timerWait(ctx, due, coarseSlack) {
			return false
		}
		if wait := time.Until(due) - fineSlack; wait > 0 {
			nanosleep(wait)
		}
	}
	// The timer finishes a wait the timerfd could not, and is all the timer
	// kind uses.
	if !fdDone && !w.timerWait(ctx, due, 0) {
		return false
	}
	for time.Now().Before(due) { // the final spin; no mechanism wakes early
		runtime.Gosched()
	}
	return ctx.Err() == nil
}

// timerWait waits with the runtime timer until slack before due; false if
// ctx ended first.
func (w *Waiter) timerWait(ctx context.Context, due time.Time, slack time.Duration) bool {
	wait := time.Until(due) - slack
	if wait <= 0 {
		return true
	}
	w.timer.Reset(wait)
	select {
	case <-ctx.Done():
		w.timer.Stop()
		return false
	case <-w.timer.C:
		return true
	}
}

// SleepUntil waits for t with the runtime timer (fine for timelines measured
// in seconds: pauses, faults); false when ctx ended first.
func SleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
