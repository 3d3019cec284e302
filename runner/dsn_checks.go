package runner

import (
	"errors"
	"fmt"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/scenarios"
)

// ErrRefused marks a scenario the run refused before any load because the
// store's DSN or connection cannot run it (too few queues for the
// projectors, no dead-letter queue, no durable consumers): a usage error,
// like a bad scenario, not a store that failed. The CLI exits 2 on it.
var ErrRefused = errors.New("refused before load")

// refused wraps err in ErrRefused, keeping its message as it is.
func refused(err error) error {
	if err == nil {
		return nil
	}
	return &refusedError{err}
}

type refusedError struct{ err error }

func (e *refusedError) Error() string   { return e.err.Error() }
func (e *refusedError) Unwrap() []error { return []error{e.err, ErrRefused} }

// checkDSN asks the driver, before anything is opened, whether its DSN can
// run the scenario. dsn is the resolved one, so an embedded store's DSN is
// checked too.
func checkDSN(reg drivers.Registration, dsn string, sc *scenarios.Scenario) error {
	if err := checkConsumers(reg, dsn, sc); err != nil {
		return refused(err)
	}
	if sc.Consumers.DLQ == scenarios.DLQStore && reg.CheckDeadLetters != nil {
		if err := reg.CheckDeadLetters(dsn); err != nil {
			return refused(fmt.Errorf("consumers.dlq: store: %w", err))
		}
	}
	return nil
}

// checkConsumers asks a queue driver whether its DSN can give every
// projector every event (one subscription or queue each:
// drivers.Registration.CheckConsumers).
func checkConsumers(reg drivers.Registration, dsn string, sc *scenarios.Scenario) error {
	if reg.CheckConsumers == nil {
		return nil
	}
	return reg.CheckConsumers(dsn, sc.Consumers.Projectors)
}
