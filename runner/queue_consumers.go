package runner

import (
	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/scenarios"
)

// checkConsumers asks a queue driver, before anything is opened, whether
// its DSN can give every projector every event (one subscription or queue
// each: drivers.Registration.CheckConsumers). dsn is the resolved one, so
// an embedded store's DSN is checked too.
func checkConsumers(reg drivers.Registration, dsn string, sc *scenarios.Scenario) error {
	if reg.CheckConsumers == nil {
		return nil
	}
	return reg.CheckConsumers(dsn, sc.Consumers.Projectors)
}
