package reports

import (
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
)

func outboxResult() *measure.Result {
	r := measuretest.Result()
	r.Outbox = &measure.Outbox{Relays: 2, Batch: 100, Published: 1010, Batches: 40, Duplicates: 10, RelayCrashes: 1,
		CommandCommit: measure.Percentiles{Count: 1000, P99: 3.5}, BacklogMax: 500, OldestUnsentMaxMS: 2000,
		RelayLag: measure.Percentiles{Count: 1010, P50: 12, P99: 900, Max: 2100}}
	r.Series.Outbox = &measure.OutboxSeries{T: []float64{0, 1, 2}, RelayLagP50: []float64{5, 800, 6},
		RelayLagP99: []float64{9, 1900, 10}, RelayLagMax: []float64{11, 2100, 12}, Published: []float64{500, 0, 510}}
	return r
}

func TestOutboxRendered(t *testing.T) {
	r := outboxResult()
	want := "relay lag p50 12 ms, p99 900 ms, max 2,100 ms; 2 relay(s) published 1010 events in 40 batches; command commit p99 3.5 ms; backlog max 500 rows, oldest unsent 2,000 ms; 1 relay crash(es) republished 10 events (duplicates)"
	if got := OutboxText(r); got != want {
		t.Fatalf("OutboxText:\n got %s\nwant %s", got, want)
	}
	if md := string(RenderMarkdown(r)); !strings.Contains(md, "| transactional outbox | "+want+" |") {
		t.Error("markdown lacks the outbox row")
	}
	html, err := RenderHTML(r, nil)
	if err != nil || !strings.Contains(string(html), "transactional outbox") {
		t.Errorf("html lacks the outbox row (err %v)", err)
	}
	plots, err := RenderPlots(r)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range plots {
		found = found || p.Name == "outbox_relay_lag"
	}
	if !found {
		t.Error("no relay lag plot")
	}
	if OutboxText(measuretest.Result()) != "" {
		t.Error("outbox text without an outbox")
	}
}
