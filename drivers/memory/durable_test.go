package memory

import (
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestDurableResume(t *testing.T) {
	drivertest.CheckDurableResume(t, func(t *testing.T) drivers.Driver { return New() })
}
