package drivertest

import (
	"errors"
	"testing"

	"github.com/evbench/evbench/drivers"
)

// RunNoReplay is Run for a driver backed by a durable queue (RabbitMQ
// quorum or classic): the queue exists from open, so it holds what was
// appended before a subscription, but it deletes what its consumer
// acknowledged, so nothing can be read twice. Every check of Run runs
// except SubscribeFromMiddle (a second read of consumed events), replaced
// by DeclaresNoReplay: the driver must say so (drivers.ReplayReporter,
// wrapping drivers.ErrUnsupported), so the runner skips rebuilds and says
// why instead of failing strangely.
func RunNoReplay(t *testing.T, open func(t *testing.T) drivers.Driver) {
	var tests []namedTest
	for _, tc := range conformanceTests() {
		if tc.name == "SubscribeFromMiddle" {
			tc = namedTest{"DeclaresNoReplay", testDeclaresNoReplay}
		}
		tests = append(tests, tc)
	}
	runTests(t, open, tests)
}

func testDeclaresNoReplay(t *testing.T, d drivers.Driver) {
	err := drivers.CheckReplay(d)
	if err == nil {
		t.Fatalf("%T runs the no-replay suite but does not declare replay unsupported (drivers.ReplayReporter)", d)
	}
	if !errors.Is(err, drivers.ErrUnsupported) {
		t.Errorf("ReplayUnsupported() = %v, want an error wrapping drivers.ErrUnsupported", err)
	}
	t.Logf("replay declared unsupported: %v", err)
}
