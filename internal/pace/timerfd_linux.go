package pace

import (
	"context"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const haveNanosleep = true

func nanosleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	_ = unix.Nanosleep(&ts, nil)
}

// longAgo is a read deadline in the past: setting it wakes a parked reader.
var longAgo = time.Unix(1, 0)

// timerfd is a one-shot CLOCK_MONOTONIC timerfd read through the netpoller.
//
// Arming a timerfd is one timerfd_settime(2); when it expires the fd becomes
// readable, the edge-triggered epoll registration that os.NewFile made fires,
// and the thread blocked in epoll_wait readies the parked goroutine at once.
// The runtime timer cannot do that: its expiry only bounds epoll_wait's
// timeout, which the runtime rounds up to whole milliseconds.
type timerfd struct {
	f  *os.File
	rc syscall.RawConn

	// State of the wait in progress, used by ready (which RawConn.Read calls
	// on the waiting goroutine itself, so no locking).
	due   time.Time
	armed bool
	err   error
	buf   [8]byte            // the expiration count read(2) returns
	ready func(uintptr) bool // t.onReady, bound once so a wait does not allocate

	interrupt   func()        // t.onInterrupt, bound once
	interrupted chan struct{} // onInterrupt finished setting the deadline
}

func newTimerfd() (*timerfd, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("timerfd_create", err)
	}
	// A non-blocking descriptor handed to os.NewFile is registered with the
	// netpoller, so Read parks the goroutine instead of blocking a thread.
	f := os.NewFile(uintptr(fd), "timerfd")
	// SetReadDeadline fails (ErrNoDeadline) if the registration failed: a
	// read would then block its thread, which is what we must not do.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	t := &timerfd{f: f, rc: rc, interrupted: make(chan struct{}, 1)}
	t.ready = t.onReady
	t.interrupt = t.onInterrupt
	return t, nil
}

func (t *timerfd) close() error { return t.f.Close() }

// wait parks until the kernel timer says due has passed (nil), ctx ended
// (errCancelled) or the descriptor failed (another error; the caller then
// finishes with the runtime timer).
func (t *timerfd) wait(ctx context.Context, due time.Time) error {
	if time.Until(due) <= 0 {
		return nil
	}
	if ctx.Err() != nil {
		return errCancelled
	}
	t.due, t.armed, t.err = due, false, nil
	// Cancellation sets a past read deadline, which the netpoller turns
	// into an immediate wake-up of the parked read. Background-like
	// contexts (nil Done) cannot end and cost nothing here.
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, t.interrupt)
	}
	err := t.rc.Read(t.ready)
	if stop != nil && !stop() {
		// onInterrupt ran or is running: wait until its deadline is set,
		// then clear it for the next wait. The timer may still be armed;
		// the next arm replaces it and resets its expiration count.
		<-t.interrupted
		t.f.SetReadDeadline(time.Time{})
		return errCancelled
	}
	if err == nil {
		err = t.err
	}
	return err
}

func (t *timerfd) onInterrupt() {
	t.f.SetReadDeadline(longAgo)
	t.interrupted <- struct{}{}
}

// onReady is the RawConn.Read callback: true ends the wait, false parks the
// goroutine until the fd is (or may be) readable. The first call arms the
// timer and parks without a read(2), since the fd cannot be readable yet;
// later calls read it, because a readiness edge left over from an earlier
// wait can wake the goroutine spuriously.
func (t *timerfd) onReady(fd uintptr) bool {
	if t.armed {
		_, err := unix.Read(int(fd), t.buf[:])
		switch err {
		case unix.EAGAIN, unix.EINTR:
			return false
		case nil:
		default:
			t.err = os.NewSyscallError("read", err)
			return true
		}
		// Expired. Go's monotonic clock is CLOCK_MONOTONIC and the timer
		// was armed with the remaining time, so due has passed; re-arm if
		// it somehow has not.
	}
	// Arm with the remaining duration, relative: time.Time's monotonic
	// reading has its own origin, but time.Until measures the same clock
	// the kernel counts, and the microsecond between that and the
	// syscall only makes the expiry later, never earlier.
	d := time.Until(t.due)
	if d <= 0 {
		return true
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(int(fd), 0, &spec, nil); err != nil {
		t.err = os.NewSyscallError("timerfd_settime", err)
		return true
	}
	t.armed = true
	return false
}
