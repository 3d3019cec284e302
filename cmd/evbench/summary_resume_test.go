package main

import (
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
)

func TestSummaryConsumerRestarts(t *testing.T) {
	r := measuretest.Result()
	var b strings.Builder
	printSummary(&b, r, "results/x")
	if strings.Contains(b.String(), "restarts") {
		t.Errorf("restarts shown for a run without consumer-restart:\n%s", b.String())
	}
	r.ConsumerRestarts = []measure.ConsumerRestart{{AtS: 10, Projector: 0, ResumeS: 0.5, Resumed: true, Replayed: 37, CommitEvery: 100, CommitIntervalS: 1}}
	b.Reset()
	printSummary(&b, r, "results/x")
	if !strings.Contains(b.String(), "  restarts   projector 0 at 10 s: resumed in 0.5 s, replayed 37 (commit every 100 events / 1 s), lost 0\n") {
		t.Errorf("restarts line missing or wrong:\n%s", b.String())
	}
}
