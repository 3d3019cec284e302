package gate

import "testing"

// TestUpcastNanoseconds: schema.upcast_ns.* is in ns, so a duration literal
// converts to ns and a bare number is taken as ns.
func TestUpcastNanoseconds(t *testing.T) {
	for expr, want := range map[string]float64{
		"schema.upcast_ns.mean < 5us":  5000,
		"schema.upcast_ns.p99 < 2ms":   2e6,
		"schema.upcast_ns.mean < 1500": 1500,
		"schema.canary_unreadable > 0": 0,
	} {
		e, err := Parse(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if th, err := e.Threshold(nil); err != nil || th != want {
			t.Errorf("%s: threshold %v (%v), want %v", expr, th, err, want)
		}
	}
	e, err := Parse("schema.unreadable == 0ms")
	if err == nil {
		_, err = e.Threshold(nil)
	}
	if err == nil {
		t.Error("a duration on an event count accepted")
	}
}
