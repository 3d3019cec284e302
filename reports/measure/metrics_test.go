package measure_test

import (
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/gate"
)

func TestMetricsNamesAreKnown(t *testing.T) {
	for k := range measure.Metrics(measuretest.Result()) {
		if _, ok := gate.Unit(k); !ok {
			t.Errorf("Metrics emits %q, which gate does not know", k)
		}
	}
}

func TestMetricsAbsentVsZero(t *testing.T) {
	m := measure.Metrics(&measure.Result{Schema: measure.SchemaV1})
	for _, absent := range []string{"commit.p95", "e2e.p99", "rebuild.events_per_sec", "lag.max", "events.failed_rate"} {
		if _, ok := m[absent]; ok {
			t.Errorf("%s present in an empty result", absent)
		}
	}
	for _, zero := range []string{"delivery.lost", "catch_up.max", "events.failed", "achieved_rate"} {
		if v, ok := m[zero]; !ok || v != 0 {
			t.Errorf("%s = %v, %v; want present 0", zero, v, ok)
		}
	}
}

func TestEvaluateGates(t *testing.T) {
	r := measuretest.Result()
	notRecovered := measuretest.Result()
	notRecovered.CatchUp = append(notRecovered.CatchUp, measure.CatchUp{Cause: "fault latency", StartedS: 25, Seconds: 5, Recovered: false})
	noRebuild := measuretest.Result()
	noRebuild.Rebuild = nil
	base := measuretest.Result()
	base.Commit.P99 = 11
	tests := []struct {
		name     string
		r        *measure.Result
		expr     string
		baseline *measure.Result
		pass     bool
		errHas   string
	}{
		{"latency pass", r, "commit.p95 < 20ms", nil, true, ""},
		{"latency fail", r, "commit.p95 < 1us", nil, false, ""},
		{"lost", r, "delivery.lost == 0", nil, true, ""},
		{"failed rate", r, "events.failed_rate < 0.001", nil, true, ""},
		{"catch-up", r, "catch_up.max < 10s", nil, true, ""},
		{"catch-up unrecovered", notRecovered, "catch_up.max < 10s", nil, false, "never recovered"},
		{"rebuild absent", noRebuild, "rebuild.events_per_sec > 1", nil, false, "absent"},
		{"invalid", r, "commit.p95 <", nil, false, "ends early"},
		{"unknown", r, "commits.p95 < 1ms", nil, false, "known metrics"},
		{"baseline within", r, "commit.p99 < baseline * 1.20", base, true, ""},
		{"baseline regressed", r, "commit.p99 < baseline * 1.10", base, false, ""},
		{"baseline missing", r, "commit.p99 < baseline * 1.10", nil, false, "--baseline"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := measure.EvaluateGates(tc.r, []string{tc.expr}, tc.baseline)[0]
			if g.Pass != tc.pass {
				t.Errorf("pass = %v, want %v (%+v)", g.Pass, tc.pass, g)
			}
			if tc.errHas == "" && g.Error != "" || !strings.Contains(g.Error, tc.errHas) {
				t.Errorf("error %q, want %q", g.Error, tc.errHas)
			}
		})
	}
}

func TestEvaluateRegressions(t *testing.T) {
	base := measuretest.Result()
	same := measuretest.Result()
	// Noise: 8% worse p99 and a 0.5 ms jitter must not be flagged.
	same.Commit.P99 = base.Commit.P99*1.08 + 0.5
	same.Rebuild.EventsPerSec = base.Rebuild.EventsPerSec * 0.95
	for _, g := range measure.EvaluateRegressions(same, base) {
		if !g.Pass {
			t.Errorf("noise flagged: %+v", g)
		}
		if g.Worse == "" || g.Baseline == nil {
			t.Errorf("regression lacks direction or baseline: %+v", g)
		}
	}
	worse := measuretest.Result()
	worse.Commit.P99 = base.Commit.P99 * 1.5
	worse.Rebuild.EventsPerSec = base.Rebuild.EventsPerSec / 2
	gs := measure.EvaluateRegressions(worse, base)
	if len(gs) != 3 {
		t.Fatalf("got %d regression checks, want 3", len(gs))
	}
	if gs[0].Pass || gs[2].Pass || !gs[1].Pass {
		t.Errorf("want commit and rebuild regressions flagged, e2e not: %+v", gs)
	}
	if gs[2].Worse != "lower is worse" || gs[0].Worse != "higher is worse" {
		t.Errorf("directions: %q %q", gs[0].Worse, gs[2].Worse)
	}
	noRB, noRB2 := measuretest.Result(), measuretest.Result()
	noRB.Rebuild, noRB2.Rebuild = nil, nil
	if n := len(measure.EvaluateRegressions(noRB, noRB2)); n != 2 {
		t.Errorf("rebuild off in both: %d checks, want 2", n)
	}
}

func TestDefaultRegressionsParse(t *testing.T) {
	for _, s := range measure.DefaultRegressions {
		if err := gate.Check(s); err != nil {
			t.Error(err)
		}
	}
}

// A commit_recovery.max gate, like catch_up.max, must fail when a recovery
// never happened, even if the seconds observed were under the threshold.
func TestRecoveryGateFailsWhenUnrecovered(t *testing.T) {
	r := &measure.Result{Complete: true, CommitRecovery: []measure.CommitRecovery{{Cause: "fault latency on producer", StartedS: 10, Seconds: 2, Recovered: false}}}
	g := measure.EvaluateGates(r, []string{"commit_recovery.max < 10s"}, nil)[0]
	if g.Pass || !strings.Contains(g.Error, "never recovered") {
		t.Fatalf("gate %+v: an unrecovered commit recovery must fail", g)
	}
	r.CommitRecovery[0].Recovered = true
	if g := measure.EvaluateGates(r, []string{"commit_recovery.max < 10s"}, nil)[0]; !g.Pass {
		t.Fatalf("gate %+v: a recovered one under the threshold passes", g)
	}
}
