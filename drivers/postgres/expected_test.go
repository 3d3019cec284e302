package postgres

import (
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestExpectedVersion(t *testing.T) {
	drivertest.CheckExpectedVersion(t, func(t *testing.T) drivers.Driver { return openTest(t, "") })
}

func TestExpectedVersionGroupCommitOff(t *testing.T) {
	drivertest.CheckExpectedVersion(t, func(t *testing.T) drivers.Driver { return openTest(t, "&group_commit=off&batch_insert=copy") })
}
