// Package pace waits until an instant precisely, for open-loop load.
//
// Go's runtime timers overshoot by about 1 ms on this kind of machine
// (measured: a 100 µs timer fired after 1.04 ms at p50), which would add a
// millisecond of the harness's own making to every latency measured from a
// scheduled time. nanosleep(2) overshoots by ~60-120 µs, so the last stretch
// of a wait uses it, and the final microseconds yield-spin. A caller never
// wakes before its instant, so nothing is ever sent early.
package pace

import (
	"context"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

const (
	coarseSlack = 2 * time.Millisecond  // runtime timer until this close to due
	fineSlack   = 80 * time.Microsecond // nanosleep until this close, then spin
)

// Waiter waits on one goroutine; it reuses its timer. For the best precision
// the goroutine should hold runtime.LockOSThread (nanosleep blocks its thread).
type Waiter struct{ timer *time.Timer }

// NewWaiter returns a Waiter with a stopped timer.
func NewWaiter() *Waiter {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &Waiter{timer: t}
}

// Until returns when due is reached (true) or ctx ended first (false).
func (w *Waiter) Until(ctx context.Context, due time.Time) bool {
	if wait := time.Until(due) - coarseSlack; wait > 0 {
		w.timer.Reset(wait)
		select {
		case <-ctx.Done():
			w.timer.Stop()
			return false
		case <-w.timer.C:
		}
	}
	if wait := time.Until(due) - fineSlack; wait > 0 {
		ts := unix.NsecToTimespec(int64(wait))
		_ = unix.Nanosleep(&ts, nil)
	}
	for time.Now().Before(due) {
		runtime.Gosched()
	}
	return ctx.Err() == nil
}

// SleepUntil waits for t with the runtime timer (about 1 ms coarse, fine for
// timelines measured in seconds: pauses, faults); false when ctx ended
// first.
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
