package nats

import (
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestExpectedVersionEmbedded(t *testing.T) {
	e := startServer(t)
	drivertest.CheckExpectedVersion(t, func(t *testing.T) drivers.Driver { return openFresh(t, e.DSN(), "") })
}

// The machine's server is older (2.9): the expected-last-subject-sequence
// header, 0 included, must work there too.
func TestExpectedVersionMachineServer(t *testing.T) {
	drivertest.RequireService(t, "nats", machineServer)
	drivertest.CheckExpectedVersion(t, func(t *testing.T) drivers.Driver { return openFresh(t, "nats://"+machineServer, "") })
}
