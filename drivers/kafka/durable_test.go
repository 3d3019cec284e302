package kafka

import (
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// TestDurableResume runs the durable-consumer check on kfake: a real
// consumer group (join, sync, offset commit and fetch) through franz-go.
func TestDurableResume(t *testing.T) {
	e := startCluster(t)
	drivertest.CheckDurableResume(t, func(t *testing.T) drivers.Driver { return openFresh(t, e, "&partitions=4") })
}
