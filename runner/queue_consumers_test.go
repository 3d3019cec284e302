package runner

import (
	"errors"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/scenarios"
)

// TestCheckConsumers: a registration's CheckConsumers sees the resolved DSN
// and the scenario's projector count, and its refusal stops the run.
func TestCheckConsumers(t *testing.T) {
	refuse := errors.New("one projector only")
	var gotDSN string
	var gotN int
	reg := drivers.Registration{Name: "q", CheckConsumers: func(dsn string, n int) error {
		gotDSN, gotN = dsn, n
		if n > 1 {
			return refuse
		}
		return nil
	}}
	sc := &scenarios.Scenario{}
	sc.Consumers.Projectors = 2
	if err := checkConsumers(reg, "q://x", sc); !errors.Is(err, refuse) || gotDSN != "q://x" || gotN != 2 {
		t.Fatalf("checkConsumers = %v (dsn %q, n %d); want the refusal for 2 projectors on q://x", err, gotDSN, gotN)
	}
	sc.Consumers.Projectors = 1
	if err := checkConsumers(reg, "q://x", sc); err != nil {
		t.Fatalf("1 projector: %v", err)
	}
	if err := checkConsumers(drivers.Registration{Name: "log"}, "", sc); err != nil {
		t.Fatalf("driver without CheckConsumers: %v", err)
	}
}
