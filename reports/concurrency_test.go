package reports

import (
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
)

func TestConcurrencyText(t *testing.T) {
	if s := ConcurrencyText(&measure.Result{}); s != "" {
		t.Fatalf("no concurrency section, yet %q", s)
	}
	r := &measure.Result{Concurrency: &measure.Concurrency{
		WritersPerKey: 4, MaxRetries: 10, Commands: 100, Committed: 98, Attempts: 160, Conflicts: 60,
		ConflictRate: 0.375, RetriesPerCommand: measure.RetryCount{Mean: 0.6, Max: 10}, GaveUp: 2,
	}}
	s := ConcurrencyText(r)
	for _, want := range []string{"100 commands by 4 writers per key", "60 conflicts in 160 appends (conflict rate 37.5%)", "mean 0.6, max 10", "2 gave up after 10 retries"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q lacks %q", s, want)
		}
	}
	m := measure.Metrics(r)
	if m["concurrency.conflicts"] != 60 || m["concurrency.conflict_rate"] != 0.375 || m["concurrency.retries_per_command"] != 0.6 || m["concurrency.gave_up"] != 2 {
		t.Errorf("metrics %v", m)
	}
	if _, ok := measure.Metrics(&measure.Result{})["concurrency.conflicts"]; ok {
		t.Error("concurrency.conflicts present without a concurrency section: a gate on it would pass on a zero")
	}
}
