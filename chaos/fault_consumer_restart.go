package chaos

import (
	"fmt"

	"github.com/evbench/evbench/scenarios"
)

// consumer-restart kills one durable projector's subscription and starts
// it again: the runner carries it out on its own consumer (a proxy cannot
// make a consumer forget what it had not committed), so it has no path and
// no proxy effect. Only its parameters are checked here, with the other
// kinds, so a typo is one line before load like any fault's; the
// scenario-level rules (consumers.durable, expect at-least-once, the
// projector index) are scenarios.validateDurable's.

// IsConsumerFault reports whether f is carried out by the runner on a
// projector rather than by the chaos proxies or the store supervisor.
func IsConsumerFault(f scenarios.Fault) bool { return f.Kind == scenarios.KindConsumerRestart }

// ConsumerFaults returns the faults of a timeline the runner carries out
// on its projectors (consumer-restart).
func ConsumerFaults(faults []scenarios.Fault) []scenarios.Fault {
	var out []scenarios.Fault
	for _, f := range faults {
		if IsConsumerFault(f) {
			out = append(out, f)
		}
	}
	return out
}

// validateConsumerFault checks a consumer-restart: at >= 0, for >= 0 (the
// time the projector stays down, default 0), toxicity not given, and
// projector a whole number >= 0.
func validateConsumerFault(f scenarios.Fault) error {
	if f.At < 0 {
		return fmt.Errorf("at: %s is negative; write 0s or later", f.At)
	}
	if f.For < 0 {
		return fmt.Errorf("for: %s is negative; write how long the projector stays down, e.g. for: 2s (default 0)", f.For)
	}
	if f.Toxicity != nil {
		return fmt.Errorf("toxicity: not supported by kind %s; remove it", f.Kind)
	}
	r := &paramReader{params: f.Params}
	r.integer("projector", 0, 0)
	return r.finish(f.Kind)
}
