package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure/measuretest"
)

// TestSummaryEmulated: a run against an emulator says loudly that its
// latency figures are not meaningful; a real run does not.
func TestSummaryEmulated(t *testing.T) {
	r := measuretest.Result()
	var b bytes.Buffer
	printSummary(&b, r, "/tmp/x")
	if strings.Contains(b.String(), "EMULATED") {
		t.Fatalf("real run labelled EMULATED:\n%s", b.String())
	}
	r.Driver.Emulated = true
	b.Reset()
	printSummary(&b, r, "/tmp/x")
	if !strings.Contains(b.String(), "EMULATED:") || !strings.Contains(b.String(), "latency figures are not meaningful") {
		t.Fatalf("emulated run's summary lacks the EMULATED line:\n%s", b.String())
	}
}
