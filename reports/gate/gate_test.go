package gate

import (
	"math"
	"strings"
	"testing"
)

func lookupOf(m map[string]float64) Lookup {
	return func(k string) (float64, bool) { v, ok := m[k]; return v, ok }
}

func TestEvalValid(t *testing.T) {
	res := lookupOf(map[string]float64{
		"commit.p95": 12.5, "commit.p99": 30, "e2e.p99": 250, "rebuild.events_per_sec": 60000,
		"catch_up.max": 4.2, "delivery.lost": 0, "events.failed_rate": 0.0004,
		"achieved_rate": 950, "lag.max": 1200,
	})
	base := lookupOf(map[string]float64{"commit.p99": 28, "rebuild.events_per_sec": 70000})
	tests := []struct {
		expr      string
		threshold float64
		pass      bool
	}{
		{"commit.p95 < 20ms", 20, true},
		{"commit.p95 < 20", 20, true},
		{"commit.p95<20ms", 20, true},
		{"commit.p95 < 12500us", 12.5, false},
		{"commit.p95 <= 12500µs", 12.5, true},
		{"commit.p95 < 12500000ns", 12.5, false},
		{"commit.p95 < 0.5s", 500, true},
		{"commit.p95 < 1m", 60000, true},
		{"e2e.p99 <= 250ms", 250, true},
		{"e2e.p99 < 250ms", 250, false},
		{"rebuild.events_per_sec > 50000", 50000, true},
		{"rebuild.events_per_sec > 5e4", 50000, true},
		{"rebuild.events_per_sec > 50_000", 50000, true},
		{"catch_up.max < 10s", 10, true},
		{"catch_up.max < 4000ms", 4, false},
		{"delivery.lost == 0", 0, true},
		{"delivery.lost != 0", 0, false},
		{"events.failed_rate < 0.001", 0.001, true},
		{"events.failed_rate < 0.01%", 0.0001, false},
		{"achieved_rate >= 900", 900, true},
		{"lag.max < 1000", 1000, false},
		{"commit.p99 < baseline * 1.10", 30.8, true},
		{"commit.p99 < baseline * 110%", 30.8, true},
		{"commit.p99 < baseline + 5ms", 33, true},
		{"commit.p99 <= baseline * 1.10 + 1ms", 31.8, true},
		{"commit.p99 < baseline", 28, false},
		{"commit.p99 < (baseline + 1ms) * 1.05", 30.45, true},
		{"rebuild.events_per_sec >= baseline * 0.90", 63000, false},
		{"rebuild.events_per_sec >= baseline / 2", 35000, true},
		{"commit.p99 < baseline - 1ms", 27, false},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := Check(tc.expr); err != nil {
				t.Fatalf("Check: %v", err)
			}
			th, err := e.Threshold(base)
			if err != nil {
				t.Fatalf("Threshold: %v", err)
			}
			if math.Abs(th-tc.threshold) > 1e-9*math.Max(1, math.Abs(tc.threshold)) {
				t.Errorf("threshold = %v, want %v", th, tc.threshold)
			}
			_, pass, err := e.Eval(res, base)
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if pass != tc.pass {
				t.Errorf("pass = %v, want %v", pass, tc.pass)
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		expr string
		want string // substring of the error
	}{
		{"", "empty expression"},
		{"commit.p95", "no comparison operator"},
		{"commit.p95 => 20ms", "bad operator"},
		{"commit.p95 =< 20ms", "bad operator"},
		{"< 20ms", "missing metric"},
		{"commit.p95 <", "ends early"},
		{"commit.p95 < 20xs", "unknown unit"},
		{"commit.p95 < 20ms 5", "unexpected"},
		{"commit.p95 < abc", "expected a number"},
		{"commit.p95 < baseline * 2ms", "plain number"},
		{"commit.p95 < baseline * baseline", "plain number"},
		{"commit.p95 < 20 + 5ms", "duration and a plain number"},
		{"commit.p95 < baseline / 0", "division by zero"},
		{"commit.p95 < (baseline", "missing ')'"},
		{"commit p95 < 1", "not a metric name"},
		{"commit.p97 < 20ms", "unknown metric"},
		{"delivery.lost < 1ms", "drop the unit"},
		{"commit.p95 < 5%", "ratio metrics"},
		{"commit.p95 < 1..2", "not a number"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			err := Check(tc.expr)
			if err == nil {
				t.Fatalf("Check(%q) = nil, want error containing %q", tc.expr, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// TestUnknownMetricListsKnown: a misspelt family lists the families, a
// wrong statistic lists its family's metrics, and freshness accepts any
// event type with max or p95.
func TestUnknownMetricListsKnown(t *testing.T) {
	err := Check("comit.p95 < 20ms")
	if err == nil || !strings.Contains(err.Error(), "commit.*") || !strings.Contains(err.Error(), "delivery.*") {
		t.Fatalf("error should list the metric families, got %v", err)
	}
	err = Check("commit.p97 < 20ms")
	if err == nil || !strings.Contains(err.Error(), "known commit metrics: commit.count") || strings.Contains(err.Error(), "delivery.lost") {
		t.Fatalf("error should list the commit metrics only, got %v", err)
	}
	for _, ok := range []string{"freshness.OrderPlaced.max < 2s", "freshness.order.placed.p95 < 500ms", "freshness.max < 2s"} {
		if err := Check(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"freshness.OrderPlaced.p99 < 2s", "freshness..max < 2s"} {
		if err := Check(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestAbsentMetricFails(t *testing.T) {
	e, err := Parse("rebuild.events_per_sec > 1")
	if err != nil {
		t.Fatal(err)
	}
	_, pass, err := e.Eval(lookupOf(nil), nil)
	if pass || err == nil || !strings.Contains(err.Error(), "absent") {
		t.Fatalf("absent metric: pass=%v err=%v, want fail with 'absent'", pass, err)
	}
}

func TestBaselineMissing(t *testing.T) {
	e, err := Parse("commit.p99 < baseline * 1.1")
	if err != nil {
		t.Fatal(err)
	}
	if !e.UsesBaseline() {
		t.Fatal("UsesBaseline = false")
	}
	res := lookupOf(map[string]float64{"commit.p99": 1})
	if _, pass, err := e.Eval(res, nil); pass || err == nil || !strings.Contains(err.Error(), "--baseline") {
		t.Errorf("nil baseline: pass=%v err=%v", pass, err)
	}
	if _, pass, err := e.Eval(res, lookupOf(nil)); pass || err == nil || !strings.Contains(err.Error(), "baseline result has no") {
		t.Errorf("baseline lacking metric: pass=%v err=%v", pass, err)
	}
}

func TestWorseAndMetric(t *testing.T) {
	for expr, want := range map[string]string{
		"commit.p99 < 1": "higher is worse", "achieved_rate >= 1": "lower is worse", "delivery.lost == 0": "",
	} {
		e, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		if e.Worse() != want {
			t.Errorf("%s: Worse = %q, want %q", expr, e.Worse(), want)
		}
		if !strings.HasPrefix(expr, e.Metric()+" ") {
			t.Errorf("%s: Metric = %q", expr, e.Metric())
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"commit.p95 < 20ms", "commit.p99 <= baseline * 1.10 + 1ms", "delivery.lost == 0",
		"events.failed_rate < 0.1%", "x < (((1", "a<1e", "a < 1µs", "a != -"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		_ = e.Metric()
		_, _, _ = e.Eval(func(string) (float64, bool) { return 1, true }, func(string) (float64, bool) { return 2, true })
	})
}
