package drivertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
)

// Durable resume parameters: events arrive in chunks of durableChunk (each
// chunk delivered before the next is appended, so batches stay small on
// every store), the group commits every durableCommit events, and the
// first session crashes once durableCrashAt events were delivered.
const (
	durableEvents  = 300
	durableKeys    = 7
	durableChunk   = 10
	durableCommit  = 25
	durableCrashAt = 135
)

// CheckDurableResume is the conformance check of drivers.DurableSubscriber:
//
//   - a group G with CommitPolicy{Events: C} is stopped as by a crash
//     (cancel cause drivers.ErrConsumerCrash) after K events; subscribed
//     again, nothing is lost (every event delivered at least once over both
//     sessions), each partition starts at or after G's last commit, and the
//     events replayed are at most C. Why that bound: a subscriber caps each
//     batch so that the events delivered since its last commit never pass
//     C (drivers.CommitClock.Room), and commits when they reach C, so at
//     the crash (which cancels during a deliver, so that batch is never
//     committed) at most C are uncommitted. A batch that takes them past C
//     fails the check too;
//   - two new groups, running at the same time, each read every event from
//     the beginning exactly once, and their commits do not move G;
//   - within each session, every key's events arrive in append order.
//
// open returns a driver on a fresh, empty store, as for Run.
func CheckDurableResume(t *testing.T, open func(t *testing.T) drivers.Driver) {
	d := open(t)
	ds, ok := d.(drivers.DurableSubscriber)
	if !ok {
		t.Fatalf("%T does not implement drivers.DurableSubscriber", d)
	}
	g := randomGen("dur")
	group := "evbench-test-" + randomHex()
	policy := drivers.CommitPolicy{Events: durableCommit}

	// Session 1: crash after durableCrashAt events.
	var (
		pending   int
		committed = drivers.Cursor{} // where the simulated commits put G
		maxBatch  int
		overshoot string
	)
	s1 := startDurable(t, ds, group, policy, nil)
	s1.onBatch = func(batch []drivers.Delivered, total int) {
		maxBatch = max(maxBatch, len(batch))
		if pending+len(batch) > durableCommit && overshoot == "" {
			overshoot = fmt.Sprintf("a batch of %d with %d uncommitted before it", len(batch), pending)
		}
		if total >= durableCrashAt {
			s1.cancel(drivers.ErrConsumerCrash) // during deliver: this batch is never committed
			return
		}
		pending += len(batch)
		if pending >= durableCommit {
			for _, ev := range s1.snapshot() {
				committed.Advance(ev.Position)
			}
			pending = 0
		}
	}
	close(s1.ready)
	var sent []drivers.Event
	for !s1.stopped() && len(sent) < durableEvents {
		chunk := g.events(durableChunk, durableKeys)
		mustAppend(t, d, chunk)
		sent = append(sent, chunk...)
		s1.waitCount(t, len(sent))
	}
	s1.wait(t)
	if s1.err != nil {
		t.Fatalf("session 1: SubscribeDurable after a crash cancel returned %v, want nil", s1.err)
	}
	first := s1.snapshot()
	if len(first) < durableCrashAt {
		t.Fatalf("session 1 ended after %d events, before the crash at %d", len(first), durableCrashAt)
	}
	if rest := durableEvents - len(sent); rest > 0 {
		chunk := g.events(rest, durableKeys)
		mustAppend(t, d, chunk)
		sent = append(sent, chunk...)
	}
	checkSessionOrder(t, "session 1", first)
	if overshoot != "" {
		t.Errorf("session 1: %s takes the uncommitted events past commit-every %d: a crash would replay more than one commit interval", overshoot, durableCommit)
	}

	// Two new groups at once: each reads everything from the beginning.
	all := idSet(sent)
	for _, other := range []*durableSession{
		startDurable(t, ds, group+"-b", policy, closedChan()),
		startDurable(t, ds, group+"-c", policy, closedChan()),
	} {
		got := other.waitIDs(t, all)
		other.stop(t)
		if len(got) != len(sent) {
			t.Errorf("new group %s: %d deliveries of %d events; want each exactly once from the beginning (groups must not share offsets or partitions)", other.group, len(got), len(sent))
		}
		checkSessionOrder(t, "new group "+other.group, got)
	}

	// Session 2 of G: resumes at its own last commit.
	missing := map[[16]byte]bool{}
	seen1 := idSet(nil)
	for _, ev := range first {
		seen1[ev.ID] = true
	}
	for id := range all {
		if !seen1[id] {
			missing[id] = true
		}
	}
	s2 := startDurable(t, ds, group, policy, closedChan())
	second := s2.waitIDs(t, missing)
	s2.stop(t)
	checkSessionOrder(t, "session 2", second)
	start := map[int32]int64{}
	dups := 0
	for _, ev := range second {
		if _, ok := start[ev.Position.Partition]; !ok {
			start[ev.Position.Partition] = ev.Position.Offset
		}
		if seen1[ev.ID] {
			dups++
		}
	}
	for p, off := range start {
		if off < committed[p] {
			t.Errorf("session 2 started partition %d at offset %d, before G's last commit %d: a commit was lost (or another group's moved it back)", p, off, committed[p])
		}
	}
	bound := durableCommit
	if dups > bound {
		t.Errorf("session 2 replayed %d events already delivered; want at most commit-every = %d", dups, bound)
	}
	t.Logf("crash after %d events (last commit %v, largest batch %d): session 2 replayed %d (bound %d), delivered %d",
		len(first), committed, maxBatch, dups, bound, len(second))
}

// durableSession is one SubscribeDurable in the background.
type durableSession struct {
	group   string
	cancel  context.CancelCauseFunc
	done    chan struct{}
	ready   chan struct{} // closed once onBatch is set
	onBatch func(batch []drivers.Delivered, total int)

	mu  sync.Mutex
	got []drivers.Delivered
	err error
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// startDurable subscribes group; deliveries wait for ready (nil: the
// caller closes s.ready after setting onBatch).
func startDurable(t *testing.T, ds drivers.DurableSubscriber, group string, policy drivers.CommitPolicy, ready chan struct{}) *durableSession {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	if ready == nil {
		ready = make(chan struct{})
	}
	s := &durableSession{group: group, cancel: cancel, done: make(chan struct{}), ready: ready}
	go func() {
		defer close(s.done)
		err := ds.SubscribeDurable(ctx, group, policy, func(batch []drivers.Delivered) error {
			<-s.ready
			s.mu.Lock()
			for _, ev := range batch {
				ev.Payload = append([]byte(nil), ev.Payload...)
				s.got = append(s.got, ev)
			}
			total := len(s.got)
			s.mu.Unlock()
			if s.onBatch != nil {
				s.onBatch(batch, total)
			}
			return nil
		})
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}()
	t.Cleanup(func() { cancel(nil); <-s.done })
	return s
}

func (s *durableSession) snapshot() []drivers.Delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]drivers.Delivered(nil), s.got...)
}

func (s *durableSession) stopped() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// wait waits (bounded) for the subscription to return.
func (s *durableSession) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(waitLimit):
		t.Fatalf("group %s: SubscribeDurable did not return within %s of its cancel", s.group, waitLimit)
	}
}

// stop ends the session cleanly (its final commit is best effort).
func (s *durableSession) stop(t *testing.T) {
	t.Helper()
	s.cancel(nil)
	s.wait(t)
	if s.err != nil {
		t.Errorf("group %s: SubscribeDurable after cancel returned %v, want nil", s.group, s.err)
	}
}

// waitCount waits until n events were delivered or the session ended.
func (s *durableSession) waitCount(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		got := len(s.got)
		s.mu.Unlock()
		if got >= n || s.stopped() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("group %s: %d events appended, fewer delivered after %s", s.group, n, waitLimit)
}

// waitIDs waits until every id in want was delivered, settles, and returns
// the deliveries.
func (s *durableSession) waitIDs(t *testing.T, want map[[16]byte]bool) []drivers.Delivered {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		got := s.snapshot()
		seen := 0
		have := map[[16]byte]bool{}
		for _, ev := range got {
			if want[ev.ID] && !have[ev.ID] {
				have[ev.ID] = true
				seen++
			}
		}
		if seen == len(want) {
			time.Sleep(settle)
			return s.snapshot()
		}
		if s.stopped() {
			t.Fatalf("group %s: SubscribeDurable returned %v with %d of %d events delivered", s.group, s.err, seen, len(want))
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s: %d of %d events delivered after %s: lost (or never resumed)", s.group, seen, len(want), waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkSessionOrder fails when a key's events arrived out of append order
// within one session (a resumed session may start a key below where the
// last one ended, never go backwards within itself).
func checkSessionOrder(t *testing.T, what string, got []drivers.Delivered) {
	t.Helper()
	last := map[string]uint64{}
	for _, ev := range got {
		if prev, ok := last[ev.Key]; ok && ev.Seq <= prev {
			t.Errorf("%s: key %s seq %d after seq %d: out of per-key order or delivered twice in one session", what, ev.Key, ev.Seq, prev)
			return
		}
		last[ev.Key] = ev.Seq
	}
}

func randomHex() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}
