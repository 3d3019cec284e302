package refstore

import (
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestExpectedVersion(t *testing.T) {
	drivertest.CheckExpectedVersion(t, func(t *testing.T) drivers.Driver {
		return open(t, embed(t).DSN())
	})
}

func TestToExpectedVersion(t *testing.T) {
	for _, tc := range []struct {
		in   uint64
		want ExpectedVersion
	}{{0, ExpectNoStream}, {1, ExpectVersion(0)}, {7, ExpectVersion(6)}} {
		if got := toExpectedVersion(tc.in); got != tc.want {
			t.Errorf("toExpectedVersion(%d) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
