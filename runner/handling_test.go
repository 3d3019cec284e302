package runner

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/evbench/evbench/internal/pgtest"
	"github.com/evbench/evbench/reports/measure"
	"github.com/jackc/pgx/v5"
)

// handlingRun runs a short scenario on the memory driver with the given
// consumers section (YAML flow mapping body) and returns its result.
func handlingRun(t *testing.T, consumers string) *measure.Result {
	t.Helper()
	sc := mustParse(t, fmt.Sprintf(`
name: handling-test
events: {size: {min: 100, max: 200}, keys: {count: 50}}
load: {start: 1000, duration: 2s}
consumers: {projectors: 1, drain: 10s, %s}
expect: {delivery: exactly-once}
`, consumers))
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "memory", Seed: 7})
	if err != nil {
		t.Fatalf("run: %v (%s)", err, res.Reason)
	}
	if res.ConsumerHandling == nil {
		t.Fatal("no consumer_handling in the result")
	}
	if !res.Delivery.OK {
		t.Fatalf("delivery check failed: %v", res.Delivery.Failures)
	}
	h := *res.ConsumerHandling
	h.BreakerTransitions = nil
	t.Logf("acked %d, consumer handling %+v", res.Events.Acked, h)
	return res
}

// TestRedeliverInbox: forced redeliveries are applied twice without an
// inbox and discarded with one; the store's delivery check is unaffected
// either way (the store delivered every event once).
func TestRedeliverInbox(t *testing.T) {
	cases := []struct {
		name, consumers string
		setup           func(t *testing.T) string // returns extra consumers keys
		wantApplied     bool
	}{
		{name: "none", consumers: "redeliver: 0.05, inbox: none", wantApplied: true},
		{name: "memory", consumers: "redeliver: 0.05, inbox: memory"},
		{name: "postgres", setup: pgSchema},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			consumers, dsn := tc.consumers, ""
			if tc.setup != nil {
				key := tc.setup(t)
				consumers = "redeliver: 0.05, inbox: postgres, " + key
				dsn = strings.Trim(strings.TrimPrefix(key, "postgres_dsn: "), "'")
			}
			res := handlingRun(t, consumers)
			h := res.ConsumerHandling
			if dsn != "" { // the read model in Postgres holds every event once
				conn, err := pgx.Connect(context.Background(), dsn)
				if err != nil {
					t.Fatal(err)
				}
				var n int64
				err = conn.QueryRow(context.Background(), "SELECT sum(events)::bigint FROM evbench_read_model").Scan(&n)
				conn.Close(context.Background())
				if err != nil || n != res.Events.Acked {
					t.Errorf("postgres read model holds %d events (%v), want %d", n, err, res.Events.Acked)
				}
			}
			if h.DuplicatesDelivered < 50 {
				t.Fatalf("duplicates delivered = %d of %d events, want about 5%%", h.DuplicatesDelivered, res.Events.Acked)
			}
			if tc.wantApplied {
				if h.DuplicatesApplied != h.DuplicatesDelivered {
					t.Errorf("without an inbox: applied %d of %d duplicates, want all", h.DuplicatesApplied, h.DuplicatesDelivered)
				}
			} else if h.DuplicatesApplied != 0 || h.DuplicatesDiscarded != h.DuplicatesDelivered {
				t.Errorf("with inbox %s: duplicates applied %d, discarded %d of %d", tc.name, h.DuplicatesApplied, h.DuplicatesDiscarded, h.DuplicatesDelivered)
			}
			if res.Delivery.Duplicated != 0 || res.Delivery.Delivered != res.Events.Acked {
				t.Errorf("store delivery %+v: forced redeliveries must not count as the store's duplicates", res.Delivery)
			}
			if h.Applied != res.Events.Acked+h.DuplicatesApplied {
				t.Errorf("applied %d, want %d events + %d duplicates", h.Applied, res.Events.Acked, h.DuplicatesApplied)
			}
			m := measure.Metrics(res)
			if m["consumers.duplicates_applied"] != float64(h.DuplicatesApplied) {
				t.Errorf("metric consumers.duplicates_applied = %v", m["consumers.duplicates_applied"])
			}
		})
	}
}

// pgSchema makes a schema for the run's tables, dropped after the test,
// and returns the postgres_dsn key pointing at it.
func pgSchema(t *testing.T) string {
	t.Helper()
	pool, sfx := pgtest.Pool(t)
	schema := "evbt_h_" + sfx
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return "postgres_dsn: '" + pgtest.DSN + "&search_path=" + schema + "'"
}

// TestRetriesDLQRedrive: transient failures are retried; events whose every
// try failed are dead-lettered, missing from the read model until the
// redrive applies them.
func TestRetriesDLQRedrive(t *testing.T) {
	for _, redrive := range []bool{false, true} {
		t.Run(fmt.Sprintf("redrive=%v", redrive), func(t *testing.T) {
			res := handlingRun(t, fmt.Sprintf("failure_rate: 0.2, retry: {attempts: 2, backoff: 1ms, max_backoff: 2ms}, redrive: %v", redrive))
			h := res.ConsumerHandling
			if h.Retries < 200 || h.RetriedEvents != h.Retries {
				t.Fatalf("retries %d over %d events (2 attempts: one retry each), want about 20%% of %d", h.Retries, h.RetriedEvents, res.Events.Acked)
			}
			// P(both tries fail) = 4%: tens of dead letters.
			if h.DeadLettered < 20 {
				t.Fatalf("dead-lettered %d, want about 4%% of %d", h.DeadLettered, res.Events.Acked)
			}
			if h.RetryE2E.Count == 0 || h.RetryE2E.Count != h.RetriedEvents-h.DeadLettered {
				t.Errorf("retry e2e count %d, want the %d events applied after a retry", h.RetryE2E.Count, h.RetriedEvents-h.DeadLettered)
			}
			if h.Unaccounted != 0 {
				t.Errorf("unaccounted %d", h.Unaccounted)
			}
			if redrive {
				if h.Redriven != h.DeadLettered || h.NotApplied != 0 {
					t.Errorf("redriven %d of %d letters, not applied %d", h.Redriven, h.DeadLettered, h.NotApplied)
				}
				if h.Applied != res.Events.Acked {
					t.Errorf("applied %d, want every one of %d events once", h.Applied, res.Events.Acked)
				}
			} else if h.NotApplied != h.DeadLettered || h.Redriven != 0 {
				t.Errorf("not applied %d, want the %d dead letters", h.NotApplied, h.DeadLettered)
			}
		})
	}
}

// TestBreakerOpensAndPauses: a downstream outage (every PaymentCaptured
// fails for 1 s) opens the breaker; the pause is in the result and on the
// plots' windows, and the breaker closes after the outage.
func TestBreakerOpensAndPauses(t *testing.T) {
	res := handlingRun(t, `fail_types: [PaymentCaptured], fail_during: [{at: 500ms, for: 700ms}],
  retry: {attempts: 3, backoff: 5ms, max_backoff: 20ms}, breaker: {threshold: 0.2, window: 500ms, cooldown: 200ms, min_calls: 5}, redrive: true`)
	h := res.ConsumerHandling
	if h.BreakerOpens < 1 || h.BreakerOpenS <= 0 {
		t.Fatalf("breaker never opened: %+v", h)
	}
	var pauses int
	for _, w := range res.Series.Pauses {
		if strings.HasPrefix(w.Label, "breaker open") {
			pauses++
			if w.StartS < 0.4 || w.EndS > 2.5 || w.EndS <= w.StartS {
				t.Errorf("pause %+v outside the outage", w)
			}
		}
	}
	if pauses != h.BreakerOpens {
		t.Errorf("%d breaker pauses on the plots, %d opens", pauses, h.BreakerOpens)
	}
	last := h.BreakerTransitions[len(h.BreakerTransitions)-1]
	if last.To != "closed" {
		t.Errorf("breaker ended %s, want closed after the outage", last.To)
	}
	if h.DeadLettered == 0 || h.Redriven != h.DeadLettered || h.NotApplied != 0 {
		t.Errorf("dlq %d redriven %d not applied %d", h.DeadLettered, h.Redriven, h.NotApplied)
	}
	if m := measure.Metrics(res); m["consumers.breaker_open_s"] != h.BreakerOpenS {
		t.Errorf("metric consumers.breaker_open_s = %v", m["consumers.breaker_open_s"])
	}
}

// TestInboxTableWrongColumns: an inbox table of another shape stops the
// run before any event is sent, naming the table and the fix.
func TestInboxTableWrongColumns(t *testing.T) {
	dsnKey := pgSchema(t)
	schema := dsnKey[strings.Index(dsnKey, "search_path=")+len("search_path=") : len(dsnKey)-1]
	conn, err := pgx.Connect(context.Background(), pgtest.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE TABLE "+schema+".evbench_inbox (id serial, note text)"); err != nil {
		t.Fatal(err)
	}
	sc := mustParse(t, `
name: handling-bad-table
events: {size: {min: 100, max: 200}, keys: {count: 10}}
load: {start: 100, duration: 1s}
consumers: {projectors: 1, inbox: postgres, `+dsnKey+`}
`)
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "memory"})
	if err == nil {
		t.Fatal("the run started with a wrong inbox table")
	}
	for _, want := range []string{"evbench_inbox exists with columns (id integer, note text)", "consumer text, event_id bytea", "DROP TABLE evbench_inbox"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if res.Events.Sent != 0 {
		t.Errorf("%d events sent before the error", res.Events.Sent)
	}
}

// TestNotAppliedAccounting: the check that every delivered event was
// applied or is waiting in the DLQ fires on an event that is neither.
func TestNotAppliedAccounting(t *testing.T) {
	p := &projector{model: map[int32]*keyState{}}
	ks := &keyState{applied: &keyDelivery{}}
	for s := uint64(1); s <= 4; s++ {
		ks.see(s) // delivered 1..4
	}
	ks.applied.see(1)
	ks.applied.see(4) // 2 and 3 not applied
	p.model[3] = ks
	missing, explained := p.notApplied(map[[2]uint64]bool{{3, 2}: true})
	if missing != 2 || explained != 1 {
		t.Fatalf("missing %d explained %d, want 2 and 1 (seq 3 is unaccounted)", missing, explained)
	}
	if why := (&measure.ConsumerHandling{Unaccounted: missing - explained}).Failure(); !strings.Contains(why, "1 event(s) neither applied nor dead-lettered") {
		t.Fatalf("Failure() = %q", why)
	}
}
