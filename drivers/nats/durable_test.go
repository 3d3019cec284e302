package nats

import (
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// TestDurableResumeEmbedded runs the durable-consumer check on the embedded
// nats-server: durable pull consumers, ack-all DoubleAcks, recreation at
// the ack floor.
func TestDurableResumeEmbedded(t *testing.T) {
	e := startServer(t)
	drivertest.CheckDurableResume(t, func(t *testing.T) drivers.Driver { return openFresh(t, e.DSN(), "") })
}

// TestDurableResumeMachineServer runs it on the machine's server (an older
// nats-server), on a stream of its own that openFresh deletes.
func TestDurableResumeMachineServer(t *testing.T) {
	drivertest.RequireService(t, "nats", machineServer)
	drivertest.CheckDurableResume(t, func(t *testing.T) drivers.Driver { return openFresh(t, "nats://"+machineServer, "") })
}

func TestDurableName(t *testing.T) {
	for _, tc := range []struct {
		group string
		ok    bool
	}{{"evbench-1a2b-p0", true}, {"", false}, {"a.b", false}, {"a b", false}, {"a>", false}} {
		if _, err := durableName(tc.group); (err == nil) != tc.ok {
			t.Errorf("durableName(%q) error = %v, want ok=%v", tc.group, err, tc.ok)
		}
	}
}
