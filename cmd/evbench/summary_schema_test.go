package main

import (
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
)

// TestSummarySchemaLine: a run with schema evolution prints one "schema"
// line with the canary's failures and the upcast counts; others none.
func TestSummarySchemaLine(t *testing.T) {
	r := measuretest.Result()
	var b strings.Builder
	printSummary(&b, r, "results/x")
	if strings.Contains(b.String(), "  schema ") {
		t.Fatalf("schema line without schema evolution:\n%s", b.String())
	}
	r.SchemaEvolution = &measure.SchemaEvolution{
		Produced: []measure.TypeVersionCount{{Type: "OrderPlaced", Version: 1, Events: 5}, {Type: "OrderPlaced", Version: 2, Events: 3}},
		Current:  measure.SchemaReader{Read: 8, Upcast: 5, UpcastSteps: 5, UpcastNS: measure.UpcastCost{Mean: 900, P99: 2000}, Drained: true},
		Canary:   &measure.SchemaReader{Version: 1, Read: 5, Unreadable: 3, UnreadableBy: []measure.TypeVersionCount{{Type: "OrderPlaced", Version: 2, Events: 3}}, Drained: true},
	}
	b.Reset()
	printSummary(&b, r, "results/x")
	want := "  schema     produced OrderPlaced v1 5, v2 3; current reader read 8, unreadable 0, upcast 5 (5 steps, 900 ns mean, p99 2.0 µs); canary v1 read 5, unreadable 3 (OrderPlaced v2 3)\n"
	if !strings.Contains(b.String(), want) {
		t.Fatalf("summary lacks\n%s\n got:\n%s", want, b.String())
	}
}
