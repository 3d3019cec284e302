package runner

import (
	"errors"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/scenarios"
)

// TestCheckDSNRefuses: what a DSN cannot run is ErrRefused (the CLI's
// exit 2), with the driver's message kept whole; consumers.dlq: store asks
// the DSN only when the scenario uses it, and a driver without a DLQ of
// its own is refused before anything opens.
func TestCheckDSNRefuses(t *testing.T) {
	noDLQ := errors.New("rabbitmq: dead_letter=false declares no queue")
	reg := drivers.Registration{Name: "q",
		CheckConsumers: func(_ string, n int) error {
			return map[bool]error{true: errors.New("3 projectors need 3 queues")}[n > 2]
		},
		CheckDeadLetters: func(string) error { return noDLQ },
	}
	sc := func(projectors int, dlq string) *scenarios.Scenario {
		s := &scenarios.Scenario{}
		s.Consumers.Projectors, s.Consumers.DLQ = projectors, dlq
		return s
	}
	for _, c := range []struct {
		sc   *scenarios.Scenario
		want string // "" = accepted
	}{
		{sc(1, scenarios.DLQMemory), ""},
		{sc(3, scenarios.DLQMemory), "3 projectors need 3 queues"},
		{sc(1, scenarios.DLQStore), "consumers.dlq: store: rabbitmq: dead_letter=false declares no queue"},
	} {
		err := checkDSN(reg, "q://", c.sc)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v; want accepted", c.sc.Consumers, err)
		case c.want != "" && (!errors.Is(err, ErrRefused) || err.Error() != c.want):
			t.Errorf("%+v: %v; want ErrRefused with message %q", c.sc.Consumers, err, c.want)
		}
	}
	if !errors.Is(checkDSN(reg, "q://", sc(1, scenarios.DLQStore)), noDLQ) {
		t.Error("the driver's error is not kept in the chain")
	}
	err := CheckCapabilities(drivers.Registration{Name: "kafka"}, sc(1, scenarios.DLQStore))
	if err == nil || !strings.Contains(err.Error(), "driver kafka keeps no dead-letter queue") {
		t.Errorf("CheckCapabilities(kafka, dlq: store) = %v", err)
	}
	if err := CheckCapabilities(reg, sc(1, scenarios.DLQStore)); err != nil {
		t.Errorf("CheckCapabilities(a driver with a DLQ) = %v", err)
	}
}
