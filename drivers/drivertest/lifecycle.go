package drivertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
)

// cancelLimit is how quickly a cancelled call must return.
const cancelLimit = 2 * time.Second

// testClose: Close twice returns without panic; the second may return a
// harmless error, which is logged.
func testClose(t *testing.T, d drivers.Driver) {
	mustAppend(t, d, randomGen("close").events(3, 1))
	within(t, waitLimit, "first Close", func() {
		if err := d.Close(); err != nil {
			t.Errorf("first Close: %v", err)
		}
	})
	within(t, waitLimit, "second Close", func() {
		if err := d.Close(); err != nil {
			t.Logf("second Close returned %v (tolerated)", err)
		}
	})
	within(t, waitLimit, "Append after Close", func() {
		ctx, cancel := context.WithTimeout(context.Background(), cancelLimit)
		defer cancel()
		if _, err := d.Append(ctx, randomGen("closed").events(1, 1)); err == nil {
			t.Logf("Append after Close succeeded (tolerated, but the driver should refuse)")
		}
	})
}

// testCancelAppend: an Append with an already cancelled ctx fails promptly.
func testCancelAppend(t *testing.T, d drivers.Driver) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	within(t, cancelLimit, "Append with a cancelled context", func() {
		if _, err := d.Append(ctx, randomGen("cancel").events(2, 1)); err == nil {
			t.Errorf("Append with a cancelled context returned nil error")
		}
	})
}

// testCancelSubscribe: Subscribe returns soon after its context ends, both
// while idle at the live edge and while catching up.
func testCancelSubscribe(t *testing.T, d drivers.Driver) {
	mustAppend(t, d, randomGen("cs").events(200, 4))
	for _, tc := range []struct {
		name  string
		delay time.Duration
	}{{"while catching up", 0}, {"idle at live edge", 300 * time.Millisecond}} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- d.Subscribe(ctx, nil, func([]drivers.Delivered) error { return nil })
		}()
		time.Sleep(tc.delay)
		cancel()
		select {
		case err := <-done:
			if err != nil && ctx.Err() == nil {
				t.Errorf("Subscribe (%s) failed: %v", tc.name, err)
			} else if err != nil {
				t.Logf("Subscribe (%s) returned %v after cancel (contract says nil)", tc.name, err)
			}
		case <-time.After(cancelLimit):
			t.Fatalf("Subscribe (%s) did not return within %s of cancel", tc.name, cancelLimit)
		}
	}
}

// errStopDelivery is what testDeliverError's callback returns.
var errStopDelivery = errors.New("drivertest: stop delivery")

// testDeliverError: when deliver returns an error, Subscribe stops and
// returns it (errors.Is must find it: the runner's rebuild ends a
// subscription this way and recognises its own sentinel).
func testDeliverError(t *testing.T, d drivers.Driver) {
	mustAppend(t, d, randomGen("de").events(20, 2))
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
	select {
	case err := <-done:
		if !errors.Is(err, errStopDelivery) {
			t.Fatalf("Subscribe returned %v after deliver failed, want the deliver error (errors.Is)", err)
		}
		if calls != 1 {
			t.Errorf("deliver called %d times after it returned an error, want 1", calls)
		}
	case <-time.After(cancelLimit):
		t.Fatalf("Subscribe did not return within %s after deliver returned an error", cancelLimit)
	}
}
