package gate

import (
	"fmt"
	"math"
)

// Lookup returns a metric's value in its unit and whether the result has it.
type Lookup func(metric string) (float64, bool)

// Check parses expr and verifies that its metric is known and that its
// units fit the metric. It is what scenario validation and the CLI call.
func Check(expr string) error {
	e, err := Parse(expr)
	if err != nil {
		return err
	}
	_, err = e.check()
	return err
}

// check returns the metric's unit or an error naming the fix.
func (e *Expr) check() (string, error) {
	unit, ok := Unit(e.metric)
	if !ok {
		return "", fmt.Errorf("gate %q: unknown metric %q; %s", e.src, e.metric, knownFor(e.metric))
	}
	if err := e.rhs.checkUnits(e, unit, false); err != nil {
		return "", err
	}
	return unit, nil
}

func (n *node) checkUnits(e *Expr, unit string, factor bool) error {
	if n == nil {
		return nil
	}
	switch n.kind {
	case 'n':
		if n.isDur && !isTime(unit) {
			return fmt.Errorf("gate %q: %s is measured in %s, not time; drop the unit from %q", e.src, e.metric, unit, n.text)
		}
		if n.unit == "%" && !factor && unit != UnitRatio {
			return fmt.Errorf("gate %q: %% only fits ratio metrics (events.failed_rate, events.late_rate) or factors (baseline * 110%%); write %s in %s", e.src, e.metric, unit)
		}
		return nil
	case '*', '/':
		if err := n.l.checkUnits(e, unit, factor); err != nil {
			return err
		}
		return n.r.checkUnits(e, unit, true)
	}
	if err := n.l.checkUnits(e, unit, factor); err != nil {
		return err
	}
	return n.r.checkUnits(e, unit, factor)
}

// Threshold resolves the right-hand side in the metric's unit. baseline may
// be nil when the expression does not use it.
func (e *Expr) Threshold(baseline Lookup) (float64, error) {
	unit, err := e.check()
	if err != nil {
		return 0, err
	}
	var base float64
	if e.UsesBaseline() {
		if baseline == nil {
			return 0, fmt.Errorf("gate %q: refers to baseline but no baseline result was given; pass --baseline OLD_RESULT", e.src)
		}
		v, ok := baseline(e.metric)
		if !ok {
			return 0, fmt.Errorf("gate %q: the baseline result has no %s (was it measured in that run?)", e.src, e.metric)
		}
		base = v
	}
	return e.rhs.eval(unit, base, false), nil
}

func (n *node) eval(unit string, base float64, factor bool) float64 {
	switch n.kind {
	case 'b':
		return base
	case 'n':
		v := n.num
		if n.isDur {
			per := 1e9 // ns per metric unit
			if unit == UnitMS {
				per = 1e6
			} else if unit == UnitNS {
				per = 1
			}
			v = v * durUnits[n.unit] / per
		} else if n.unit == "%" {
			v /= 100
		}
		return v
	case '+':
		return n.l.eval(unit, base, factor) + n.r.eval(unit, base, factor)
	case '-':
		return n.l.eval(unit, base, factor) - n.r.eval(unit, base, factor)
	case '*':
		return n.l.eval(unit, base, factor) * n.r.eval(unit, base, true)
	case '/':
		return n.l.eval(unit, base, factor) / n.r.eval(unit, base, true)
	}
	return math.NaN()
}

// Eval looks the metric up and compares it with the threshold. A metric the
// result lacks (rebuild when rebuild was off, latency with no samples) is an
// error and pass is false: a gate never passes silently on missing data.
func (e *Expr) Eval(lookup func(metric string) (float64, bool), baseline func(metric string) (float64, bool)) (value float64, pass bool, err error) {
	th, err := e.Threshold(baseline)
	if err != nil {
		return 0, false, err
	}
	if lookup == nil {
		return 0, false, fmt.Errorf("gate %q: no result to evaluate", e.src)
	}
	v, ok := lookup(e.metric)
	if !ok {
		return 0, false, fmt.Errorf("gate %q: %s is absent in this result (not measured in this run)", e.src, e.metric)
	}
	if math.IsNaN(v) {
		return v, false, fmt.Errorf("gate %q: %s is not a number in this result", e.src, e.metric)
	}
	return v, Compare(v, e.op, th), nil
}

// Compare applies a comparison operator. == and != compare exactly, which
// is what counters (delivery.lost == 0) need.
func Compare(v float64, op string, th float64) bool {
	switch op {
	case "<":
		return v < th
	case "<=":
		return v <= th
	case ">":
		return v > th
	case ">=":
		return v >= th
	case "==":
		return v == th
	case "!=":
		return v != th
	}
	return false
}
