package runner

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/evbench/evbench/fixtures"
	"github.com/evbench/evbench/reports/measure"
)

const schemaScenario = `
name: schema-test
events:
  size: {min: 200, max: 600}
  keys: {count: 50}
  versions:
    - {at: 1s, type: OrderPlaced, version: 2}
    - {at: 2s, type: OrderPlaced, version: 3}
load: {start: 300, duration: 3s}
consumers:
  projectors: 1
  canary: {version: 1}
gates: ["schema.unreadable == 0", "schema.canary_unreadable > 0"]
`

// TestVersionTimelineSwitchesBySchedule: the version follows the event's
// scheduled time exactly: at 300 events/s, events 0-299 are due in the
// first second (v1), 300-599 in the second (v2), the rest in the third (v3).
func TestVersionTimelineSwitchesBySchedule(t *testing.T) {
	sc := mustParse(t, schemaScenario)
	pool, err := fixtures.NewPool(sc.Events, 1)
	if err != nil {
		t.Fatal(err)
	}
	vt, err := newVersionTimeline(sc, pool)
	if err != nil || vt == nil {
		t.Fatalf("timeline %v, %v", vt, err)
	}
	for n := int64(0); n < 900; n++ {
		typ, b := vt.next(pool, n)
		var e struct {
			Type    string `json:"type"`
			Version int    `json:"version"`
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Type != typ {
			t.Fatalf("event %d: %v %s", n, err, b)
		}
		want := 1
		if typ == "OrderPlaced" {
			want = 1 + int(n/300)
		}
		if e.Version != want {
			t.Fatalf("event %d (%s): version %d, want %d", n, typ, e.Version, want)
		}
	}
	var total int64
	for _, c := range vt.producedCounts() {
		total += c.Events
		if c.Type != "OrderPlaced" && c.Version != 1 {
			t.Errorf("%s produced at version %d", c.Type, c.Version)
		}
	}
	if total != 900 {
		t.Errorf("produced %d events, want 900", total)
	}
	if a := testing.AllocsPerRun(1000, func() { vt.next(pool, 950) }); a != 0 {
		t.Errorf("%v allocs per event", a)
	}
}

// TestSchemaEvolutionRun: a 3 s run on the memory store switching
// OrderPlaced to v2 at 1 s and v3 at 2 s. The current reader reads every
// event (upcasting OrderPlaced v1 and v2), the v1 canary cannot read
// OrderPlaced v2 and v3, and the counts add up with what was produced.
func TestSchemaEvolutionRun(t *testing.T) {
	sc := mustParse(t, schemaScenario)
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "memory", Seed: 7})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	se := res.SchemaEvolution
	if se == nil || se.Canary == nil {
		t.Fatalf("no schema_evolution in the result: %+v", se)
	}
	produced := map[[2]any]int64{}
	var total int64
	for _, c := range se.Produced {
		produced[[2]any{c.Type, c.Version}] = c.Events
		total += c.Events
	}
	v1, v2, v3 := produced[[2]any{"OrderPlaced", 1}], produced[[2]any{"OrderPlaced", 2}], produced[[2]any{"OrderPlaced", 3}]
	if v1 == 0 || v2 == 0 || v3 == 0 {
		t.Fatalf("OrderPlaced produced v1 %d, v2 %d, v3 %d: every version must appear", v1, v2, v3)
	}
	if total != res.Events.Acked || total != res.Events.Sent {
		t.Fatalf("produced %d, sent %d, acked %d", total, res.Events.Sent, res.Events.Acked)
	}
	cur, can := se.Current, se.Canary
	t.Logf("produced %+v\ncurrent %+v\ncanary %+v", se.Produced, cur, *can)
	if !cur.Drained || !can.Drained {
		t.Fatalf("readers not drained: current %v canary %v", cur.Drained, can.Drained)
	}
	if cur.Unreadable != 0 || cur.Read != total {
		t.Errorf("current reader: read %d of %d, unreadable %d", cur.Read, total, cur.Unreadable)
	}
	if cur.Upcast != v1+v2 || cur.UpcastSteps != 2*v1+v2 {
		t.Errorf("current reader: upcast %d events in %d steps, want %d in %d", cur.Upcast, cur.UpcastSteps, v1+v2, 2*v1+v2)
	}
	if !(cur.UpcastNS.Mean > 0 && cur.UpcastNS.P99 > 0) {
		t.Errorf("upcast cost not measured: %+v", cur.UpcastNS)
	}
	if can.Version != 1 || can.Unreadable != v2+v3 || can.Read != total-v2-v3 || can.Upcast != 0 {
		t.Errorf("canary: version %d read %d unreadable %d upcast %d; want unreadable %d (OrderPlaced v2+v3)", can.Version, can.Read, can.Unreadable, can.Upcast, v2+v3)
	}
	want := []measure.TypeVersionCount{{Type: "OrderPlaced", Version: 2, Events: v2}, {Type: "OrderPlaced", Version: 3, Events: v3}}
	if len(can.UnreadableBy) != 2 || can.UnreadableBy[0] != want[0] || can.UnreadableBy[1] != want[1] {
		t.Errorf("canary unreadable by version %+v, want %+v", can.UnreadableBy, want)
	}
	if can.UnreadableReasons["too-new"] != v2+v3 {
		t.Errorf("canary reasons %+v", can.UnreadableReasons)
	}
	m := measure.Metrics(res)
	if m["schema.unreadable"] != 0 || m["schema.canary_unreadable"] != float64(v2+v3) || m["schema.upcast_ns.mean"] <= 0 {
		t.Errorf("metrics: %v %v %v", m["schema.unreadable"], m["schema.canary_unreadable"], m["schema.upcast_ns.mean"])
	}
	for _, g := range res.Gates {
		if !g.Pass {
			t.Errorf("gate %s failed: %v %s", g.Expr, g.Value, g.Error)
		}
	}
	if !res.Passed || res.Delivery.Lost != 0 {
		t.Errorf("passed %v, lost %d, reason %q", res.Passed, res.Delivery.Lost, res.Reason)
	}
}

// TestNoSchemaEvolutionNoReaders: without a timeline or a canary, nothing
// is started and the result has no schema_evolution.
func TestNoSchemaEvolutionNoReaders(t *testing.T) {
	sc := mustParse(t, "name: plain\nevents: {size: {min: 200, max: 300}, keys: {count: 10}}\nload: {start: 100, duration: 1s}\n")
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	if res.SchemaEvolution != nil {
		t.Fatalf("schema_evolution without versions or canary: %+v", res.SchemaEvolution)
	}
}
