package runner

import (
	"fmt"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/scenarios"
)

// CheckCapabilities refuses, before anything is opened, a scenario that
// needs a capability the driver lacks: events.concurrency.expected_version
// needs appends checked against the stream's version atomically
// (drivers.Registration.ExpectedVersion), which Kafka cannot give: a
// partition has no per-key version, and a produce cannot be made
// conditional on one. consumers.dlq: store needs a driver with a
// dead-letter queue of its own (drivers.Registration.CheckDeadLetters).
func CheckCapabilities(reg drivers.Registration, sc *scenarios.Scenario) error {
	if sc.UsesExpectedVersion() && !reg.ExpectedVersion {
		return fmt.Errorf("events.concurrency.expected_version: driver %s cannot append at an expected version (optimistic concurrency); use --driver refstore, postgres or nats, or remove events.concurrency (--set events.concurrency=null)", reg.Name)
	}
	if sc.Consumers.DLQ == scenarios.DLQStore && reg.CheckDeadLetters == nil {
		return fmt.Errorf("consumers.dlq: store: driver %s keeps no dead-letter queue of its own; use --driver rabbitmq (type=quorum or classic), or consumers.dlq: memory or postgres (--set consumers.dlq=memory)", reg.Name)
	}
	return nil
}
