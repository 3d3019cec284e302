// Package pace waits until an instant, for open-loop load: never early, and
// as little late as the runtime allows without hurting the process it
// measures.
//
// # Waiters
//
// NewWaiter (Kind "timerfd", Linux) arms a one-shot CLOCK_MONOTONIC timerfd
// with the time left and parks the goroutine reading it through the
// netpoller. NewTimerWaiter ("timer") waits on a runtime timer;
// NewPreciseWaiter ("nanosleep") finishes each wait with nanosleep(2). New
// picks one by name for A/B runs. Elsewhere than Linux, NewWaiter and
// NewPreciseWaiter are the timer waiter.
//
// # Why a timerfd
//
// A runtime timer wakes nothing by itself: a thread with nothing to run
// passes the next timer's delay to netpoll as epoll_wait's timeout, in whole
// milliseconds, and rounds any positive delay under 1 ms up to 1 ms
// (runtime/netpoll_epoll.go). Unless something else wakes the poller, a
// 300 µs wait ends after about 1 ms, and a generator pacing 10,000 waits/s
// with it is always behind.
//
// nanosleep(2) is a blocking system call: its thread keeps its P until
// sysmon retakes it, which in a quiet process can take up to 10 ms, and
// meanwhile the goroutines reading acks wait (`evbench run burst --duration
// 10s` on the embedded refstore measured commit p99 9.1-9.9 ms with it
// against 3.1-3.6 ms with the timer waiter). It also sleeps with the
// thread's timer slack (50 µs by default).
//
// A timerfd is a kernel hrtimer armed without slack. When it expires the fd
// turns readable, the edge-triggered epoll registration that os.NewFile
// made reports it, and epoll_wait returns at once, whatever its millisecond
// timeout, in the thread idling in the netpoller, which then runs the
// goroutine on an idle P. While waiting the goroutine is parked ("IO wait"
// in a goroutine dump), holding neither P nor thread, like a goroutine
// reading a socket. Go's monotonic clock on Linux is CLOCK_MONOTONIC, but
// time.Time's monotonic reading has its own origin, so the timer is armed
// relative, with time.Until(due): the instant between measuring and arming
// only makes the expiry later. Cancellation turns into a past read
// deadline, which the netpoller delivers to the parked read at once.
//
// Cost: a wait is a timerfd_settime(2) and, after the wake, a read(2); the
// runtime's own park, wake and idle work (futex, epoll_wait, sysmon) is most
// of the 17-42 µs of process CPU per wait measured below, as it would be
// for any goroutine woken from the network. A wait whose due has passed
// makes no system call and allocates nothing; a cancellable ctx costs a
// context.AfterFunc (about 0.5 µs, 2 allocations) per wait that blocks.
//
// The wake is prompt when some P is idle (a thread then blocks in
// epoll_wait) or a scheduler pass runs out of work. With every P kept busy
// by CPU-bound goroutines the goroutine waits for sysmon's network poll, up
// to 10 ms, like any network read; the runtime timer was no better in that
// case (one run, one spinning goroutine per P: p50 4.8-5.2 ms against
// 1.5-11.5 ms).
//
// # Measured
//
// 2-core Firecracker VM (Linux 6.18, Go 1.26.8), shared with other jobs:
// four runs, each started and ended with the machine 95-99% idle, of
//
//	go test -run '^$' -bench Lateness ./internal/pace/
//
// Open-loop lateness (return - due) at 1,000 and 10,000 waits/s in µs, range
// over the runs; behind-% is the share of waits whose due had passed on
// entry, cpu the whole process's CPU per wait:
//
//	               p50      p99        max        behind-%   cpu-µs/op
//	timerfd/1k     16-23    52-119     353-925    0          30-42
//	timerfd/10k    7.0-9.8  19-54      150-1719   0.07-0.32  17-22
//	timer/1k       512-535  1046-1069  1083-1249  5.4-6.0    24-33
//	timer/10k      513-523  1050-1056  1108-2851  89         2.6-3.9
//	nanosleep/1k   5.4-25   42-323     394-1681   0-0.08     35-41
//	nanosleep/10k  6.0-7.8  53-100     577-1486   0.2-1.0    41-42
//
// The timer waiter cannot pace 10,000/s: it falls behind and returns at
// once for the next nine waits (hence its low CPU per wait). In a process
// with nothing else to do nanosleep is as precise as the timerfd (its
// 80 µs final spin buys the lower p50 and costs the CPU). In earlier
// sittings overlapped by other jobs the timerfd's p99 reached 2.2 ms and
// the other kinds' tails grew likewise: on a busy machine the tail is the
// CPU scheduler's.
//
// With a loopback TCP echo ping-pong (64 B, one in flight, 90-150k round
// trips/s, about one core) in the process, BenchmarkLatenessWithEcho, same
// runs:
//
//	                  p50            p99              echo p50  echo p99
//	none (echo only)  -              -                6.0-10.3  15-28
//	timerfd/1k        13-18          46-70            6.0-9.3   20-31
//	timerfd/10k       11-14          48-82            6.4-10.4  28-58
//	timer/1k          17,600-24,800  110,000-149,000  6.3-10.1  14-25
//	timer/10k         16,600-20,000  85,000-131,000   6.2-10.0  15-28
//	nanosleep/1k      5.3-22         2,045-4,297      6.0-10.1  17-45
//	nanosleep/10k     41-1,083       3,410-3,815      5.6-10.2  29-74
//
// Beside the echo the runtime timer fires tens of milliseconds late (a
// runtime trace shows no matching run-queue delay: the goroutine stays
// blocked on the timer), the nanosleep waiter's P holds leave it
// milliseconds late at p99 and stretch the echo's tail, and the timerfd
// waiter keeps its idle figures. Its 10,000 real wake-ups a second
// (about 20% of a core on a machine the echo half fills) still move the
// echo's p99 by a few tens of µs.
//
// A final yield-spin (arming 25 µs early, then runtime.Gosched until due)
// cut the timerfd p50 to 0.2-7 µs but cost 6-22 µs more CPU per wait and
// left the tail to the CPU scheduler; 10 µs bought less. The targets
// (p50 ≤ 50 µs, p99 ≤ 250 µs) hold without it on a quiet machine, so there
// is none.
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
	spinOnly := false // the mechanism took the wait to due (or nearly)
	switch {
	case w.fd != nil && !w.closed.Load():
		switch err := w.fd.wait(ctx, due); {
		case err == nil:
			spinOnly = true
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
		spinOnly = true
	}
	// The timer finishes a wait the timerfd could not, and is all the timer
	// kind uses.
	if !spinOnly && !w.timerWait(ctx, due, 0) {
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
