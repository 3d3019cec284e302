package main

import (
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure/measuretest"
)

// TestSummaryRebuildUnsupported: a run whose driver cannot replay says so
// on the rebuild line instead of printing nothing (or zeros).
func TestSummaryRebuildUnsupported(t *testing.T) {
	r := measuretest.Result()
	r.Rebuild = nil
	r.RebuildUnsupported = "replay: an MQTT broker keeps no log"
	var b strings.Builder
	printSummary(&b, r, "/tmp/x")
	if !strings.Contains(b.String(), "rebuild    unsupported: replay: an MQTT broker keeps no log") {
		t.Fatalf("summary lacks the unsupported rebuild line:\n%s", b.String())
	}
	r.RebuildUnsupported = ""
	b.Reset()
	printSummary(&b, r, "/tmp/x")
	if strings.Contains(b.String(), "unsupported") {
		t.Fatalf("summary says unsupported without a reason:\n%s", b.String())
	}
}
