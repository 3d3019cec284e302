package reports

import (
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
)

func schemaResult() *measure.Result {
	r := measuretest.Result()
	r.SchemaEvolution = &measure.SchemaEvolution{
		Produced: []measure.TypeVersionCount{{Type: "ItemReserved", Version: 1, Events: 90}, {Type: "OrderPlaced", Version: 1, Events: 40},
			{Type: "OrderPlaced", Version: 2, Events: 30}, {Type: "OrderPlaced", Version: 3, Events: 20}},
		Current: measure.SchemaReader{Read: 180, Upcast: 70, UpcastSteps: 110, UpcastNS: measure.UpcastCost{Mean: 12345, P99: 40000}, Drained: true},
		Canary: &measure.SchemaReader{Version: 1, Read: 130, Unreadable: 50, Drained: true,
			UnreadableBy: []measure.TypeVersionCount{{Type: "OrderPlaced", Version: 2, Events: 30}, {Type: "OrderPlaced", Version: 3, Events: 20}}},
	}
	return r
}

// TestSchemaText: one line in the summary, the Markdown and the HTML
// reports, naming what was produced, upcast and unreadable; nothing
// without schema evolution (the goldens stay as they are).
func TestSchemaText(t *testing.T) {
	want := "produced OrderPlaced v1 40, v2 30, v3 20; current reader read 180, unreadable 0, upcast 70 (110 steps, 12.3 µs mean, p99 40.0 µs); canary v1 read 130, unreadable 50 (OrderPlaced v2 30, v3 20)"
	r := schemaResult()
	if got := SchemaText(r); got != want {
		t.Fatalf("SchemaText\n got %s\nwant %s", got, want)
	}
	if md := string(RenderMarkdown(r)); !strings.Contains(md, "| schema evolution | "+want+" |") {
		t.Errorf("markdown lacks the schema evolution row:\n%s", md)
	}
	html, err := RenderHTML(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "schema evolution") || !strings.Contains(string(html), "canary v1 read 130") {
		t.Error("html lacks the schema evolution row")
	}
	r.SchemaEvolution.Current.Drained = false
	if !strings.HasSuffix(SchemaText(r), "; readers did not reach the head") {
		t.Errorf("undrained: %s", SchemaText(r))
	}
	if SchemaText(measuretest.Result()) != "" || strings.Contains(string(RenderMarkdown(measuretest.Result())), "schema evolution") {
		t.Error("schema evolution shown for a run without it")
	}
}
