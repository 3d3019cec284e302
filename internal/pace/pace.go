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
// of the 17-46 µs of process CPU per wait measured below, as it would be
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
// 2-core Firecracker VM (Linux 6.18, Go 1.26.8, shared: runs started when
// the machine was 94-99% idle, though other jobs started during runs 2-4),
// five runs of
//
//	go test -run '^$' -bench Lateness ./internal/pace/
//
// Open-loop lateness (return - due) at 1,000 and 10,000 waits/s, µs, per
// run; behind-% is the share of waits whose due had passed on entry:
//
//	               p50      p99                    behind-%   cpu-µs/op
//	timerfd/1k     14-22    68, 81, 148, 191, 291  0-0.25     32-46
//	timerfd/10k    7.3-9.3  31, 39, 80, 85, 2191   0.3-1 (6)  17-21
//	timer/1k       500-540  1044-1249              5.3-7.5    25-33
//	timer/10k      514-534  1048-1450              89         3.2-3.8
//	nanosleep/1k   53-85    1133-2734              20-40      28-41
//	nanosleep/10k  539-609  1111-1206 (38240)      89-91      3.6-5.7
//
// The timer and nanosleep waiters cannot pace 10,000/s: they fall behind
// and return at once for the next nine waits (hence their low CPU per
// wait). With a loopback TCP echo ping-pong (64 B, one in flight, 40-150k
// round trips/s) in the process (BenchmarkLatenessWithEcho):
//
//	                  p50            p99             echo p50  echo p99
//	none (echo only)  -              -               5.6-8.8   13-23
//	timerfd/1k        13-20          38-362 (3303)   6.2-9.8   21-29
//	timerfd/10k       8.5-13         23-70           6.9-12    19-29
//	timer/1k          16,000-18,800  59,000-153,000  6.2-9.5   15-22
//	timer/10k         14,200-19,900  77,000-211,000  5.7-9.3   12-19 (175)
//	nanosleep/1k      8-16,300       4,000-93,000    6.2-9.1   14-19
//	nanosleep/10k     3,400-22,300   53,000-150,000  6.3-8.7   18-49
//
// Beside the echo the runtime timer fires many milliseconds late (a
// runtime trace shows no matching run-queue delay: the goroutine stays
// blocked on the timer), while the timerfd waiter keeps its idle figures.
// The echo's own round trip moves a few µs at p99 with the timerfd waiter,
// which, unlike the others, really wakes 10,000 times a second.
//
// A final yield-spin (arming 25 µs early, then runtime.Gosched until due)
// cut the timerfd p50 to 0.2-7 µs but cost 6-22 µs more CPU per wait and
// left the tail to the CPU scheduler; 10 µs bought less. The targets
// (p50 ≤ 50 µs, p99 ≤ 250 µs) hold without it (p99 went over only in
// run 2, which another job overlapped), so there is none.
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
