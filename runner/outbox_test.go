package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers/drivertest"
	_ "github.com/evbench/evbench/drivers/kafka"
	"github.com/evbench/evbench/reports/measure"
	"github.com/jackc/pgx/v5"
)

const outboxPG = "127.0.0.1:5432"

// outboxPrefix is a fresh table prefix; the test fails if the run left
// its tables behind.
func outboxPrefix(t *testing.T) string {
	t.Helper()
	drivertest.RequireService(t, "postgres", outboxPG)
	var b [4]byte
	rand.Read(b[:])
	p := "evbt_rob_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, "postgres://"+outboxPG+"/test")
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer conn.Close(ctx)
		var left bool
		if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, p+"_outbox").Scan(&left); err != nil || left {
			t.Errorf("outbox tables %s_* left behind (err %v)", p, err)
			conn.Exec(ctx, "DROP TABLE IF EXISTS "+p+"_outbox; DROP TABLE IF EXISTS "+p+"_orders")
		}
	})
	return p
}

// TestOutboxRunSpansTheRelay: commands commit to Postgres, two relays
// publish to the store, one crashes between publish and mark. Its batch is
// published twice and nothing is lost: refstore deduplicates by event ID
// (the projector sees each once), embedded Kafka does not (the delivery
// check counts exactly the relay's duplicates).
func TestOutboxRunSpansTheRelay(t *testing.T) {
	for _, driver := range []string{"refstore", "kafka"} {
		t.Run(driver, func(t *testing.T) { testOutboxRun(t, driver) })
	}
}

func testOutboxRun(t *testing.T, driver string) {
	prefix := outboxPrefix(t)
	sc := mustParse(t, fmt.Sprintf(`
name: outbox-test
events: {size: {min: 100, max: 200}, keys: {count: 50}}
load: {start: 300, duration: 3s}
consumers: {projectors: 1}
expect: {delivery: at-least-once}
gates: ["outbox.relay_lag.p99 < 2s", "outbox.relay_lag.max < 5s"]
outbox:
  dsn: postgres://%s/test
  prefix: %s
  relays: 2
  batch: 20
  interval: 5ms
  relay_crashes: [{at: 1s, for: 300ms, relay: 1}]
`, outboxPG, prefix))
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: driver})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	o := res.Outbox
	if o == nil {
		t.Fatal("no outbox in the result")
	}
	t.Logf("outbox: %+v; delivery %+v", *o, res.Delivery)
	wantDup := o.Duplicates
	if o.StoreDeduplicates {
		wantDup = 0
	}
	acked := res.Events.Acked
	switch {
	case acked < 800:
		t.Errorf("only %d commands committed", acked)
	case o.RelayCrashes != 1 || o.Duplicates == 0:
		t.Errorf("relay crash: crashes %d, duplicates %d; want 1 crash and its batch as duplicates", o.RelayCrashes, o.Duplicates)
	case o.StoreDeduplicates != (driver == "refstore"):
		t.Errorf("store_deduplicates %v on %s", o.StoreDeduplicates, driver)
	case o.Published != acked+o.Duplicates:
		t.Errorf("published %d, want acked %d + duplicates %d", o.Published, acked, o.Duplicates)
	case res.Delivery.Lost != 0 || res.Delivery.Duplicated != wantDup || res.Delivery.Reordered != 0:
		t.Errorf("delivery across the relay: lost %d, duplicated %d (want %d), reordered %d",
			res.Delivery.Lost, res.Delivery.Duplicated, wantDup, res.Delivery.Reordered)
	case o.RelayLag.Count != o.Published || o.RelayLag.Max <= 0:
		t.Errorf("relay lag: %d samples for %d published, max %.2f ms", o.RelayLag.Count, o.Published, o.RelayLag.Max)
	case res.E2E.Count == 0 || res.Commit.Count != o.CommandCommit.Count:
		t.Errorf("e2e %d samples; command commit %d vs commit %d", res.E2E.Count, o.CommandCommit.Count, res.Commit.Count)
	case res.Series.Outbox == nil || len(res.Series.Outbox.RelayLagP99) < 3:
		t.Errorf("relay lag series: %+v", res.Series.Outbox)
	case o.Unsent != 0:
		t.Errorf("%d rows unsent after the drain", o.Unsent)
	}
	m := measure.Metrics(res)
	for _, k := range []string{"outbox.relay_lag.p99", "outbox.relay_lag.max", "outbox.duplicates"} {
		if _, ok := m[k]; !ok {
			t.Errorf("metric %s missing", k)
		}
	}
	for _, g := range res.Gates {
		if !g.Pass {
			t.Errorf("gate %s: %v %s", g.Expr, g.Value, g.Error)
		}
	}
}

// TestOutboxProducerFaultDelaysRelay: a fault on the producer path (the
// relays' connection to the store) leaves command commits alone, but the
// oldest unsent row ages and relay lag grows during the fault, and both
// catch up after it.
func TestOutboxProducerFaultDelaysRelay(t *testing.T) {
	if testing.Short() {
		t.Skip("two 5 s runs")
	}
	for _, fault := range []string{"kind: latency, latency: 800ms", "kind: down"} {
		t.Run(strings.TrimSuffix(strings.Fields(fault)[1], ","), func(t *testing.T) { testOutboxFault(t, fault) })
	}
}

func testOutboxFault(t *testing.T, fault string) {
	prefix := outboxPrefix(t)
	sc := mustParse(t, fmt.Sprintf(`
name: outbox-fault
events: {size: {min: 100, max: 200}, keys: {count: 50}}
load: {start: 200, duration: 5s}
consumers: {projectors: 1}
expect: {delivery: at-least-once}
faults:
  - {at: 1s, for: 1500ms, path: producer, %s}
outbox: {dsn: "postgres://%s/test", prefix: %s}
`, fault, outboxPG, prefix))
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "refstore"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	o, s := res.Outbox, res.Series.Outbox
	if o == nil || s == nil {
		t.Fatal("no outbox in the result")
	}
	t.Logf("relay lag %+v; oldest unsent max %.0f ms; commit p99 %.1f ms; per-second relay lag max %v", o.RelayLag, o.OldestUnsentMaxMS, res.Commit.P99, s.RelayLagMax)
	// Thresholds are relative to what the fault did, so a loaded machine
	// (or -race) that slows every figure does not fail the test.
	var lagDuring, lagEnd, ageBefore, ageDuring, ageEnd float64
	for i, sec := range s.T {
		switch {
		case sec >= 1 && sec < 4: // the fault, and the second its backlog is published in
			lagDuring = max(lagDuring, s.RelayLagMax[i])
		case sec >= 4:
			lagEnd = max(lagEnd, s.RelayLagP50[i])
		}
	}
	for i, at := range s.BacklogT {
		switch {
		case at < 1:
			ageBefore = max(ageBefore, s.OldestUnsentMS[i])
		case at >= 1.5 && at < 2.5:
			ageDuring = max(ageDuring, s.OldestUnsentMS[i])
		case at >= 4.5:
			ageEnd = max(ageEnd, s.OldestUnsentMS[i])
		}
	}
	t.Logf("oldest unsent before %.0f, during %.0f, at the end %.0f ms; relay lag during %.0f, at the end p50 %.0f ms", ageBefore, ageDuring, ageEnd, lagDuring, lagEnd)
	if lagDuring < 350 || ageDuring < 350 || ageDuring < 2*ageBefore {
		t.Errorf("during the fault: relay lag max %.1f ms, oldest unsent %.1f ms (before it %.1f): want >= 350 and twice the age before", lagDuring, ageDuring, ageBefore)
	}
	if ageEnd >= ageDuring/2 || lagEnd >= lagDuring/2 {
		t.Errorf("no catch-up: at the end oldest unsent %.1f ms, relay lag p50 %.1f ms; during the fault %.1f / %.1f", ageEnd, lagEnd, ageDuring, lagDuring)
	}
	if res.Commit.P99 >= lagDuring {
		t.Errorf("the producer-path fault reached command commits (Postgres): commit p99 %.1f ms, relay lag %.1f ms", res.Commit.P99, lagDuring)
	}
	if res.Delivery.Lost != 0 || o.Unsent != 0 {
		t.Errorf("lost %d events, %d rows unsent", res.Delivery.Lost, o.Unsent)
	}
	// The fault's recovery is the relay lag's: command commits never saw it.
	if len(res.CommitRecovery) != 1 || !strings.Contains(res.CommitRecovery[0].Cause, "outbox relay lag") || res.CommitRecovery[0].ThresholdMS >= lagDuring {
		t.Errorf("commit_recovery %+v; want one entry measured on the relay lag (threshold below the %.0f ms it reached)", res.CommitRecovery, lagDuring)
	}
}

// TestOutboxWithoutPostgresDSN: a scenario built without a DSN fails before
// any load, in one line.
func TestOutboxWithoutPostgresDSN(t *testing.T) {
	sc := mustParse(t, `
name: outbox-nodsn
events: {size: {min: 100, max: 200}, keys: {count: 5}}
load: {start: 10, duration: 1s}
consumers: {projectors: 1}
outbox: {dsn: "postgres://127.0.0.1:5432/test"}
`)
	sc.Outbox.DSN = "nats://127.0.0.1:4222" // as a caller building it in Go might
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "refstore"})
	if err == nil || !strings.Contains(err.Error(), "not a Postgres URL") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("run: %v", err)
	}
	if res.Events.Sent != 0 {
		t.Fatalf("%d events sent before the outbox was refused", res.Events.Sent)
	}
}
