package reports

import (
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
)

func TestHandlingText(t *testing.T) {
	if HandlingText(&measure.Result{}) != "" {
		t.Fatal("text without consumer handling")
	}
	r := &measure.Result{ConsumerHandling: &measure.ConsumerHandling{Inbox: "memory", DLQ: "memory", FailureRate: 0.05,
		DuplicatesDelivered: 12, Retries: 40, RetriedEvents: 30, RetryE2E: measure.Percentiles{Count: 25, P50: 12, P99: 900},
		DeadLettered: 5, Redriven: 4, RedriveDuplicates: 1, BreakerOpens: 2, BreakerOpenS: 3.5}}
	got := HandlingText(r)
	for _, want := range []string{"inbox memory: 12 duplicates delivered, 0 applied", "40 retries over 30 events (their e2e p50 12 ms, p99 900 ms)",
		"DLQ (memory) 5, redriven 4 (+1 already applied)", "breaker opened 2 time(s), paused 3.5 s"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	r.ConsumerHandling.Unaccounted, r.ConsumerHandling.NotApplied = 2, 3
	if got := HandlingText(r); !strings.Contains(got, "3 not applied") || !strings.Contains(got, "2 UNACCOUNTED") {
		t.Errorf("%q: not applied / unaccounted missing", got)
	}
}
