package measure

import "fmt"

// Declared guarantees, as scenarios.Expect spells them.
const (
	ExactlyOnce = "exactly-once"
	AtLeastOnce = "at-least-once"
	PerKey      = "per-key"
	NoOrder     = "none"
)

// JudgeDelivery is the delivery verdict against what the scenario
// declared (exactly-once in per-key order when it declared nothing, as
// results written before expect existed): lost and misrouted events and an
// inconclusive check always fail, duplicates fail exactly-once, reorders
// fail per-key. Each failure is one line saying what and how to read it.
func JudgeDelivery(d Delivery) (ok bool, failures []string) {
	exp := d.Expect
	if exp.Delivery == "" {
		exp.Delivery = ExactlyOnce
	}
	if exp.Order == "" {
		exp.Order = PerKey
	}
	if !d.Checked {
		failures = append(failures, fmt.Sprintf("inconclusive: the projectors never reached the head, %d acknowledged event(s) undelivered", d.Undelivered))
	}
	if lost := d.Lost - min(d.RPOBudget, d.Lost); lost > 0 {
		failures = append(failures, fmt.Sprintf("%d acknowledged event(s) lost", lost))
	}
	if d.Misrouted > 0 {
		failures = append(failures, fmt.Sprintf("%d event(s) delivered under another key or sequence than appended", d.Misrouted))
	}
	if d.Duplicated > 0 && exp.Delivery == ExactlyOnce {
		failures = append(failures, fmt.Sprintf("%d event(s) delivered more than once, but the scenario expects exactly-once (declare expect.delivery: at-least-once if the consumers deduplicate)", d.Duplicated))
	}
	if d.Reordered > 0 && exp.Order == PerKey {
		failures = append(failures, fmt.Sprintf("%d acknowledged event(s) out of per-key order, but the scenario expects per-key order (declare expect.order: none if it does not matter)", d.Reordered))
	}
	return len(failures) == 0, failures
}
