// Package drivertest is the conformance suite every evbench driver runs: the
// same checks of ordering, exactly-once delivery, catch-up without gaps,
// head/lag arithmetic, cancellation and retry behaviour, so that a number in
// a result means the same thing whichever store produced it.
//
// A driver's test calls Run with a func that opens a fresh, empty store per
// call (new topic, stream, schema or directory) and registers its cleanup:
//
//	func TestConformance(t *testing.T) {
//		drivertest.RequireService(t, "postgres", "127.0.0.1:5432")
//		drivertest.Run(t, func(t *testing.T) drivers.Driver { ... })
//	}
package drivertest

import (
	"context"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
)

// Run runs every conformance subtest; each calls open once for a fresh,
// empty store. Every wait is bounded, so a broken driver fails with what was
// missing rather than hanging. Run the suite with -race: several subtests
// append from many goroutines.
func Run(t *testing.T, open func(t *testing.T) drivers.Driver) {
	runTests(t, open, conformanceTests())
}

// namedTest is one conformance subtest.
type namedTest struct {
	name string
	fn   func(*testing.T, drivers.Driver)
}

// conformanceTests is the suite Run runs, in order.
func conformanceTests() []namedTest {
	return []namedTest{
		{"AppendPositionsInOrder", testAppendPositions},
		{"AckedEventRoundTrips", testRoundTrip},
		{"SubscribeFromStartExactlyOnce", testFromStart},
		{"SubscribeFromMiddle", testFromMiddle},
		{"CatchUpThenLiveUnderConcurrentWriters", testCatchUpLive},
		{"HeadAndLag", testHeadLag},
		{"CloseIdempotent", testClose},
		{"CancelledAppend", testCancelAppend},
		{"CancelledSubscribe", testCancelSubscribe},
		{"DeliverErrorEndsSubscribe", testDeliverError},
		{"RetriedAppendDedupe", testDedupe},
		{"AppendAsync", testAsync},
		{"KeyOrderWithAppendsInFlight", testKeyOrder},
		{"DeclaresBatchAtomicity", testBatchAtomicity},
		{"ReportsDurability", testDurability},
	}
}

// runTests runs each test on a freshly opened driver.
func runTests(t *testing.T, open func(t *testing.T) drivers.Driver, tests []namedTest) {
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

// appendCtx bounds a single Append in the suite.
func appendCtx(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), waitLimit)
}

// mustAppend appends and checks that one position came back per event.
func mustAppend(t *testing.T, d drivers.Driver, batch []drivers.Event) []drivers.Position {
	t.Helper()
	ctx, cancel := appendCtx(t)
	defer cancel()
	pos, err := d.Append(ctx, batch)
	if err != nil {
		t.Fatalf("Append(%d events): %v", len(batch), err)
	}
	if len(pos) != len(batch) {
		t.Fatalf("Append(%d events) returned %d positions", len(batch), len(pos))
	}
	return pos
}

// mustHead returns Head or fails.
func mustHead(t *testing.T, d drivers.Driver) drivers.Cursor {
	t.Helper()
	ctx, cancel := appendCtx(t)
	defer cancel()
	h, err := d.Head(ctx)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return h
}

// within runs fn and fails if it does not return within limit.
func within(t *testing.T, limit time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("%s did not return within %s", what, limit)
	}
}
