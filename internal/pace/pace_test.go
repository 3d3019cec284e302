package pace

import (
	"bytes"
	"context"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Timing in these tests is only ever bounded generously (seconds, against
// an hour-long wait): the machine is shared and noisy. Lateness figures
// live in the benchmarks.

// waiters returns one waiter of each kind available here.
func waiters(t *testing.T) map[string]*Waiter {
	t.Helper()
	ws := map[string]*Waiter{}
	for _, kind := range []string{kindTimerfd, kindTimer, kindNanosleep} {
		w, err := New(kind)
		if err != nil {
			if runtime.GOOS == "linux" {
				t.Fatalf("New(%q): %v", kind, err)
			}
			continue
		}
		if w.Kind() != kind {
			t.Fatalf("New(%q).Kind() = %q", kind, w.Kind())
		}
		t.Cleanup(func() { w.Close() })
		ws[kind] = w
	}
	return ws
}

func TestNeverEarly(t *testing.T) {
	for kind, w := range waiters(t) {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range 300 {
				// Mostly the near future, some exactly now or in the past.
				d := time.Duration(rng.Int64N(int64(1500*time.Microsecond))) - 300*time.Microsecond
				if i%50 == 0 {
					d = 0
				}
				c := ctx
				if i%2 == 0 {
					c = context.Background() // the no-Done path
				}
				due := time.Now().Add(d)
				if !w.Until(c, due) {
					t.Fatal("Until returned false without cancellation")
				}
				if now := time.Now(); now.Before(due) {
					t.Fatalf("wait %d (%v): returned %v before due", i, d, due.Sub(now))
				}
			}
		})
	}
}

func TestCancelMidWait(t *testing.T) {
	for kind, w := range waiters(t) {
		t.Run(kind, func(t *testing.T) {
			for range 3 { // the waiter must stay usable after a cancellation
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(5*time.Millisecond, cancel)
				start := time.Now()
				if w.Until(ctx, start.Add(time.Hour)) {
					t.Fatal("Until reported success on a cancelled context")
				}
				el := time.Since(start)
				t.Logf("returned %v after the start (cancel due at 5ms)", el)
				if el > 5*time.Second {
					t.Fatalf("cancellation took %v", el)
				}
				// A stale deadline or expiry must not make the next wait early.
				due := time.Now().Add(2 * time.Millisecond)
				if !w.Until(context.Background(), due) || time.Now().Before(due) {
					t.Fatal("wait after a cancellation returned early or false")
				}
			}
		})
	}
}

func TestCancelledBefore(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for kind, w := range waiters(t) {
		for _, d := range []time.Duration{-time.Millisecond, 0, time.Millisecond, time.Hour} {
			if w.Until(ctx, time.Now().Add(d)) {
				t.Fatalf("%s: due in %v: Until reported success on a cancelled context", kind, d)
			}
		}
	}
	if NewWaiter().Until(ctx, time.Now().Add(time.Hour)) {
		t.Fatal("NewWaiter: success on a cancelled context")
	}
}

func TestClose(t *testing.T) {
	for kind, w := range waiters(t) {
		t.Run(kind, func(t *testing.T) {
			for range 2 {
				if err := w.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
			}
			if kind == kindTimerfd && w.Kind() != kindTimer {
				t.Fatalf("Kind after Close = %q, want the timer fallback", w.Kind())
			}
			due := time.Now().Add(time.Millisecond)
			if !w.Until(context.Background(), due) || time.Now().Before(due) {
				t.Fatal("Until after Close returned early or false")
			}
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(2*time.Millisecond, cancel)
			if w.Until(ctx, time.Now().Add(time.Hour)) {
				t.Fatal("Until after Close ignored cancellation")
			}
		})
	}
}

// Close from another goroutine during a wait: the wait finishes on the
// runtime timer, on time and not early.
func TestCloseDuringWait(t *testing.T) {
	w, err := New(kindTimerfd)
	if err != nil {
		t.Skip(err)
	}
	due := time.Now().Add(20 * time.Millisecond)
	time.AfterFunc(5*time.Millisecond, func() { w.Close() })
	if !w.Until(context.Background(), due) || time.Now().Before(due) {
		t.Fatal("Until interrupted by Close returned early or false")
	}
	if w.Kind() != kindTimer {
		t.Fatalf("Kind after Close = %q", w.Kind())
	}
}

func TestNew(t *testing.T) {
	_, err := New("busy")
	if err == nil {
		t.Fatal("New accepted an unknown kind")
	}
	for _, k := range []string{kindTimerfd, kindTimer, kindNanosleep} {
		if !strings.Contains(err.Error(), k) {
			t.Fatalf("error %q does not name %q", err, k)
		}
	}
	w := NewWaiter()
	defer w.Close()
	if runtime.GOOS == "linux" && w.Kind() != kindTimerfd {
		t.Fatalf("NewWaiter().Kind() = %q on Linux", w.Kind())
	}
	if k := NewTimerWaiter().Kind(); k != kindTimer {
		t.Fatalf("NewTimerWaiter().Kind() = %q", k)
	}
}

// With a single P, a goroutine that only runs when the waiter's goroutine
// is off its P keeps counting during each wait: the wait holds no P.
func TestOthersRunDuringWait(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, kind := range []string{kindTimerfd, kindTimer} {
		w, err := New(kind)
		if err != nil {
			t.Skip(err)
		}
		defer w.Close()
		var n atomic.Int64
		var stop atomic.Bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			for !stop.Load() {
				n.Add(1)
				runtime.Gosched()
			}
		}()
		for i := range 5 {
			// One P: nothing else runs between these two loads except
			// while Until is parked.
			before := n.Load()
			due := time.Now().Add(3 * time.Millisecond)
			if !w.Until(context.Background(), due) || time.Now().Before(due) {
				t.Fatalf("%s: Until returned early or false", kind)
			}
			if ran := n.Load() - before; ran == 0 {
				t.Fatalf("%s: wait %d: the other goroutine never ran", kind, i)
			}
		}
		stop.Store(true)
		<-done
	}
}

// The timerfd waiter parks in the netpoller ("IO wait"), not in a system
// call holding its P ("syscall") as nanosleep does.
func TestTimerfdParksInNetpoller(t *testing.T) {
	w, err := New(kindTimerfd)
	if err != nil {
		t.Skip(err)
	}
	defer w.Close()
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		w.Until(context.Background(), time.Now().Add(100*time.Millisecond))
	}()
	buf := make([]byte, 1<<20)
	for {
		select {
		case <-returned:
			t.Fatal("never saw the waiting goroutine parked in IO wait")
		case <-time.After(time.Millisecond):
		}
		state := waitingState(buf[:runtime.Stack(buf, true)])
		t.Logf("state %q", state)
		if state == "IO wait" {
			<-returned
			return
		}
		if state == "syscall" {
			t.Fatal("the waiting goroutine is in a system call")
		}
	}
}

// waitingState returns the state of the goroutine whose stack is in
// timerfd.wait, from an all-goroutines dump ("" if none).
func waitingState(dump []byte) string {
	for g := range bytes.SplitSeq(dump, []byte("\n\n")) {
		if !bytes.Contains(g, []byte("(*timerfd).wait")) {
			continue
		}
		hdr, _, _ := bytes.Cut(g, []byte("\n")) // goroutine 7 [IO wait]:
		_, st, ok := bytes.Cut(hdr, []byte("["))
		if !ok {
			return ""
		}
		st, _, _ = bytes.Cut(st, []byte("]"))
		st, _, _ = bytes.Cut(st, []byte(",")) // [IO wait, 2 minutes]
		return string(st)
	}
	return ""
}
