package scenarios

import "strings"

// Expect is what a scenario declares the store guarantees. The verifier
// judges delivery against it: lost and misrouted events always fail a run,
// duplicates fail an exactly-once run, reorders fail a per-key run.
type Expect struct {
	// Delivery is exactly-once (default) or at-least-once.
	Delivery string `yaml:"delivery,omitempty" json:"delivery"`
	// Order is per-key (default) or none.
	Order string `yaml:"order,omitempty" json:"order"`
}

// Declared delivery guarantees.
const (
	DeliveryExactlyOnce = "exactly-once"
	DeliveryAtLeastOnce = "at-least-once"
	OrderPerKey         = "per-key"
	OrderNone           = "none"
)

var (
	deliveryModes = []string{DeliveryExactlyOnce, DeliveryAtLeastOnce}
	orderModes    = []string{OrderPerKey, OrderNone}
)

func applyExpectDefaults(e *Expect) {
	if e.Delivery == "" {
		e.Delivery = DeliveryExactlyOnce
	}
	if e.Order == "" {
		e.Order = OrderPerKey
	}
}

func validateExpect(p *problems, s *Scenario) {
	oneOf := func(path, v string, modes []string) {
		for _, m := range modes {
			if v == m {
				return
			}
		}
		p.add(path, "unknown value %q; use one of: %s", v, strings.Join(modes, ", "))
	}
	oneOf("expect.delivery", s.Expect.Delivery, deliveryModes)
	oneOf("expect.order", s.Expect.Order, orderModes)
}
