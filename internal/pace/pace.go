// Package pace waits until an instant, for open-loop load: never early, and
// as little late as the runtime allows without hurting the process it
// measures.
//
// Two waiters, measured here (2-core VM, `evbench run burst --duration 10s`
// on the embedded refstore, two runs each, same sitting):
//
//	cooperative (runtime timer):  send delay p50 226-231 µs, p99 1.3-1.5 ms; commit p99 3.1-3.6 ms
//	precise (timer + nanosleep):  send delay p50  53-80 µs,  p99 6.0-6.4 ms; commit p99 9.1-9.9 ms
//
// nanosleep(2) is precise (~40-120 µs late) but it is a blocking system
// call: its thread keeps its P until sysmon retakes it, which can take up to
// 10 ms in a quiet process, and meanwhile the goroutines reading acks wait.
// The runner therefore uses the cooperative waiter; the precise one suits a
// benchmark loop whose process has little else to schedule.
package pace

import (
	"context"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

const (
	coarseSlack = 2 * time.Millisecond  // precise: runtime timer until this close to due
	fineSlack   = 80 * time.Microsecond // precise: nanosleep until this close, then spin
)

// Waiter waits on one goroutine and reuses its timer.
type Waiter struct {
	timer   *time.Timer
	precise bool
}

// NewWaiter returns the cooperative waiter: the runtime timer only, never
// holding a P while it waits.
func NewWaiter() *Waiter { return newWaiter(false) }

// NewPreciseWaiter returns a waiter that finishes each wait with
// nanosleep(2) and a short yield-spin. Its goroutine should hold
// runtime.LockOSThread.
func NewPreciseWaiter() *Waiter { return newWaiter(true) }

func newWaiter(precise bool) *Waiter {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &Waiter{timer: t, precise: precise}
}

// Until returns when due is reached (true) or ctx ended first (false).
func (w *Waiter) Until(ctx context.Context, due time.Time) bool {
	slack := time.Duration(0)
	if w.precise {
		slack = coarseSlack
	}
	if wait := time.Until(due) - slack; wait > 0 {
		w.timer.Reset(wait)
		select {
		case <-ctx.Done():
			w.timer.Stop()
			return false
		case <-w.timer.C:
		}
	}
	if w.precise {
		if wait := time.Until(due) - fineSlack; wait > 0 {
			ts := unix.NsecToTimespec(int64(wait))
			_ = unix.Nanosleep(&ts, nil)
		}
	}
	for time.Now().Before(due) { // a timer never fires early, but be sure
		runtime.Gosched()
	}
	return ctx.Err() == nil
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
