package drivertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
)

// probeKey is the key of the events RunLiveOnly appends until its
// subscription is seen to be live; checks never see them.
const probeKey = "drivertest-probe"

// RunLiveOnly is Run for a driver whose store keeps no log (an MQTT
// broker): Subscribe delivers only what is appended while it exists and
// refuses a cursor behind the head (drivers.ErrUnsupported), so checks that
// subscribe after appending cannot pass on it. Each check that does not
// need replay runs instead against a subscriber that exists before the
// first append, as evbench's projectors do: right after open the suite
// subscribes, appends probe events until one arrives (the subscription is
// live), and the check's own "subscribe from the start" is answered from
// what that subscriber recorded. The check's assertions (exactly once,
// per-key and per-partition order, round-tripped fields, positions, head
// and lag) are then about the driver's live delivery. SubscribeFromMiddle
// is replaced by RefusesReplay; cancellation and deliver errors are checked
// on the driver's own Subscribe at the live edge. AppendAsync is not
// exercised (a driver implementing it fails AppendAsync here).
func RunLiveOnly(t *testing.T, open func(t *testing.T) drivers.Driver) {
	tapped := func(fn func(*testing.T, drivers.Driver)) func(*testing.T, drivers.Driver) {
		return func(t *testing.T, d drivers.Driver) { fn(t, tap(t, d)) }
	}
	tests := []struct {
		name string
		fn   func(*testing.T, drivers.Driver)
	}{
		{"AppendPositionsInOrder", testAppendPositions},
		{"AckedEventRoundTrips", tapped(testRoundTrip)},
		{"SubscribedBeforeAppendsExactlyOnce", tapped(testFromStart)},
		{"LiveUnderConcurrentWriters", tapped(testCatchUpLive)},
		{"HeadAndLag", tapped(testLiveHeadLag)},
		{"CloseIdempotent", testClose},
		{"CancelledAppend", testCancelAppend},
		{"CancelledLiveSubscribe", testLiveCancelSubscribe},
		{"DeliverErrorEndsLiveSubscribe", testLiveDeliverError},
		{"RefusesReplay", testRefusesReplay},
		{"RetriedAppendDedupe", tapped(testDedupe)},
		{"AppendAsync", testLiveAsync},
		{"KeyOrderWithAppendsInFlight", tapped(testKeyOrder)},
		{"DeclaresBatchAtomicity", testBatchAtomicity},
		{"ReportsDurability", testDurability},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := open(t)
			if d == nil {
				t.Fatal("open returned a nil driver")
			}
			tc.fn(t, d)
		})
	}
}

// tapped is a driver whose Subscribe(nil) hands out what one subscription,
// started before any append of the check, delivered (probes left out),
// then follows it live. Everything else is the driver's own.
type tapped struct {
	drivers.Driver
	rec *collector
}

// DeduplicatesByID forwards the driver's claim, which testDedupe checks.
func (tp *tapped) DeduplicatesByID() bool {
	dd, ok := tp.Driver.(drivers.Deduplicator)
	return ok && dd.DeduplicatesByID()
}

// tap subscribes d and waits until the subscription is live: probe events
// are appended until one is delivered.
func tap(t *testing.T, d drivers.Driver) *tapped {
	t.Helper()
	rec := subscribeLive(t, d)
	g := randomGen("probe")
	deadline := time.Now().Add(waitLimit)
	for {
		mustAppend(t, d, []drivers.Event{g.one(probeKey)})
		until := time.Now().Add(100 * time.Millisecond)
		for time.Now().Before(until) {
			for _, dl := range rec.snapshot() {
				if dl.Key == probeKey {
					return &tapped{Driver: d, rec: rec}
				}
			}
			select {
			case <-rec.done:
				t.Fatalf("live-only suite: Subscribe returned before its subscription was live: %v", rec.err)
			default:
			}
			time.Sleep(2 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatalf("live-only suite: no probe event delivered within %s of subscribing", waitLimit)
		}
	}
}

// Subscribe replays the recorder's deliveries (without probes) and then
// follows it until ctx ends. Only a nil cursor is accepted: the suite asks
// no other of a live-only driver.
func (tp *tapped) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	if len(from) > 0 {
		return errors.New("drivertest: the live-only tap answers Subscribe from the start only")
	}
	next := 0
	for {
		got := tp.rec.snapshot()
		var batch []drivers.Delivered
		for _, dl := range got[next:] {
			if dl.Key != probeKey {
				batch = append(batch, dl)
			}
		}
		next = len(got)
		if len(batch) > 0 {
			if err := deliver(batch); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// testRefusesReplay: a driver that keeps no log says so
// (drivers.ReplayReporter), and Subscribe from before what was appended
// fails promptly with drivers.ErrUnsupported instead of delivering nothing.
func testRefusesReplay(t *testing.T, d drivers.Driver) {
	err := drivers.CheckReplay(d)
	if err == nil {
		t.Fatalf("%T runs the live-only suite but does not declare replay unsupported (drivers.ReplayReporter)", d)
	}
	if !errors.Is(err, drivers.ErrUnsupported) {
		t.Errorf("ReplayUnsupported() = %v, want an error wrapping drivers.ErrUnsupported", err)
	}
	mustAppend(t, d, randomGen("replay").events(5, 2))
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	within(t, cancelLimit, "Subscribe from the start on a live-only driver", func() {
		err = d.Subscribe(ctx, nil, func([]drivers.Delivered) error { return nil })
	})
	if !errors.Is(err, drivers.ErrUnsupported) {
		t.Fatalf("Subscribe(nil) after appends returned %v, want an error wrapping drivers.ErrUnsupported", err)
	}
	t.Logf("replay refused: %v", err)
}

// testLiveCancelSubscribe: Subscribe at the live edge returns soon after
// its context ends.
func testLiveCancelSubscribe(t *testing.T, d drivers.Driver) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	from := mustHead(t, d)
	go func() { done <- d.Subscribe(ctx, from, func([]drivers.Delivered) error { return nil }) }()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Subscribe returned %v after cancel, want nil", err)
		}
	case <-time.After(cancelLimit):
		t.Fatalf("Subscribe did not return within %s of cancel", cancelLimit)
	}
}

// testLiveDeliverError: when deliver returns an error, the driver's own
// Subscribe stops and returns it.
func testLiveDeliverError(t *testing.T, d drivers.Driver) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	calls := 0
	done := make(chan error, 1)
	go func() {
		done <- d.Subscribe(ctx, nil, func([]drivers.Delivered) error {
			calls++
			return errStopDelivery
		})
	}()
	g := randomGen("de")
	for {
		select {
		case err := <-done:
			if !errors.Is(err, errStopDelivery) {
				t.Fatalf("Subscribe returned %v after deliver failed, want the deliver error (errors.Is)", err)
			}
			if calls != 1 {
				t.Errorf("deliver called %d times after it returned an error, want 1", calls)
			}
			return
		case <-ctx.Done():
			t.Fatalf("Subscribe did not return within %s while events were appended and deliver failed", waitLimit)
		case <-time.After(50 * time.Millisecond):
			mustAppend(t, d, g.events(2, 2)) // until the subscription is live and delivers
		}
	}
}

// testLiveAsync: the live-only suite does not check AppendAsync.
func testLiveAsync(t *testing.T, d drivers.Driver) {
	if _, ok := d.(drivers.AsyncAppender); ok {
		t.Fatalf("%T implements drivers.AppendAsync, which RunLiveOnly cannot check yet: extend it before relying on AppendAsync", d)
	}
	t.Skip("driver does not implement drivers.AsyncAppender")
}

// testLiveHeadLag is testHeadLag for a subscriber that started at the head
// h0 (as a projector's cursor starts at the head it was given): Head grows
// with appends, and lag, counted from h0, reaches 0 once the subscriber has
// everything appended since. The probes before h0 were never its to get.
func testLiveHeadLag(t *testing.T, d drivers.Driver) { headLag(t, d, true) }

// subscribeLive is subscribe for a live-only driver: it subscribes from
// the head and, when the head moved before the driver checked it (a probe
// appended meanwhile: drivers.ErrUnsupported), subscribes again from the
// new head, until the subscription holds.
func subscribeLive(t *testing.T, d drivers.Driver) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{cancel: cancel, done: make(chan struct{})}
	record := func(batch []drivers.Delivered) error {
		c.mu.Lock()
		for _, ev := range batch {
			ev.Payload = append([]byte(nil), ev.Payload...)
			c.got = append(c.got, ev)
		}
		c.mu.Unlock()
		return nil
	}
	go func() {
		defer close(c.done)
		var err error
		for ctx.Err() == nil {
			var head drivers.Cursor
			if head, err = d.Head(ctx); err != nil {
				break
			}
			if err = d.Subscribe(ctx, head, record); !errors.Is(err, drivers.ErrUnsupported) {
				break
			}
		}
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
	}()
	t.Cleanup(func() { c.stop(t) })
	return c
}
