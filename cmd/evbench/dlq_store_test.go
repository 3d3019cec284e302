package main

import (
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/evbench/evbench/drivers/drivertest"
	"github.com/evbench/evbench/reports/measure"
)

const rabbitURL = "amqp://guest:guest@127.0.0.1:5672/"

// rabbitQueue names a fresh queue and deletes what a run declares on it
// (the queue, its dead-letter queue and both exchanges) at the end.
func rabbitQueue(t *testing.T) string {
	var b [4]byte
	rand.Read(b[:])
	q := "evbtest-dlq-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		conn, err := amqp.Dial(rabbitURL)
		if err != nil {
			t.Logf("cleanup of %s: %v", q, err)
			return
		}
		defer conn.Close()
		for _, name := range []string{q, q + ".dlq"} {
			if ch, err := conn.Channel(); err == nil {
				ch.QueueDelete(name, false, false, false)
				ch.Close()
			}
		}
		for _, x := range []string{q, q + ".dlx"} {
			if ch, err := conn.Channel(); err == nil {
				ch.ExchangeDelete(x, false, false)
				ch.Close()
			}
		}
	})
	return q
}

// dlqMessages is how many messages the broker holds in queue.
func dlqMessages(t *testing.T, queue string) int {
	t.Helper()
	conn, err := amqp.Dial(rabbitURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"})
	if err != nil {
		t.Fatal(err)
	}
	return q.Messages
}

// flakyOnRabbit runs flaky-consumer for 3 s on a fresh RabbitMQ quorum
// queue with the broker's DLQ (consumers.dlq: store): 20% of handler
// attempts fail and there are two, so about 4% of events are dead-lettered.
func flakyOnRabbit(t *testing.T, queue string, sets ...string) (code int, stderr string, res *measure.Result) {
	t.Helper()
	out := t.TempDir()
	args := []string{"run", "flaky-consumer", "--driver", "rabbitmq", "--dsn", rabbitURL + "?queue=" + queue,
		"--duration", "3s", "--out", out, "--quiet",
		"--set", "consumers.dlq=store", "--set", "consumers.failure_rate=0.2", "--set", "consumers.fail_types=[]",
		"--set", "consumers.fail_during=[]", "--set", "consumers.retry.attempts=2", "--set", "consumers.breaker=null"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	code, _, stderr = runCLI(t, args...)
	res, err := measure.ReadResult(filepath.Join(out, measure.ResultFile))
	if err != nil {
		t.Fatalf("exit %d, stderr %q: %v", code, stderr, err)
	}
	return code, stderr, res
}

// TestRunDeadLettersToRabbitMQ (issue 16): consumers.dlq: store puts a
// RabbitMQ run's dead letters in the broker's "<queue>.dlq" and the
// redrive takes them back from there: every letter redriven, none left
// unapplied, the queue empty after. Without the redrive the broker holds
// exactly the run's dead letters, so they did travel through it.
func TestRunDeadLettersToRabbitMQ(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", "127.0.0.1:5672")
	q := rabbitQueue(t)
	code, stderr, res := flakyOnRabbit(t, q)
	h := res.ConsumerHandling
	if code != 0 || h == nil {
		t.Fatalf("exit %d, stderr %q, consumer_handling %+v; want exit 0", code, stderr, h)
	}
	if h.DLQ != "store" || !strings.Contains(h.DLQDetail, q+".dlq") {
		t.Errorf("dlq_store %q, dlq_detail %q; want store and the queue %s.dlq", h.DLQ, h.DLQDetail, q)
	}
	// (An event dead-lettered twice, after a redelivery, is one letter.)
	if h.DeadLettered == 0 || h.Redriven == 0 || h.Redriven > h.DeadLettered || h.NotApplied != 0 || h.Unaccounted != 0 || h.DLQErrors != 0 {
		t.Errorf("dlq %d, redriven %d, not_applied %d, unaccounted %d, dlq_errors %d; want every dead letter redriven",
			h.DeadLettered, h.Redriven, h.NotApplied, h.Unaccounted, h.DLQErrors)
	}
	if n := dlqMessages(t, q+".dlq"); n != 0 {
		t.Errorf("%s.dlq holds %d messages after the redrive, want 0", q, n)
	}

	q2 := rabbitQueue(t)
	code, stderr, res = flakyOnRabbit(t, q2, "consumers.redrive=false", "gates=[]")
	h = res.ConsumerHandling
	if code != 0 || h == nil || h.DeadLettered == 0 {
		t.Fatalf("without redrive: exit %d, stderr %q, consumer_handling %+v; want exit 0 and dead letters", code, stderr, h)
	}
	// An event redelivered after it was dead-lettered can be dead-lettered
	// again: dlq counts letters, not_applied distinct events.
	if h.NotApplied == 0 || h.NotApplied > h.DeadLettered || h.Unaccounted != 0 {
		t.Errorf("without redrive: not_applied %d, unaccounted %d, dlq %d; want 0 < not_applied <= dlq and every one of them found waiting in the broker",
			h.NotApplied, h.Unaccounted, h.DeadLettered)
	}
	if n := dlqMessages(t, q2+".dlq"); int64(n) != h.DeadLettered {
		t.Errorf("%s.dlq holds %d messages, want the run's %d dead letters", q2, n, h.DeadLettered)
	}
}

// TestStoreDLQRefused: consumers.dlq: store on a driver without a DLQ of
// its own, or on a RabbitMQ DSN without one, is a usage error (exit 2)
// before any load, with the fix in one line.
func TestStoreDLQRefused(t *testing.T) {
	code, _, stderr := runCLI(t, "run", "flaky-consumer", "--driver", "kafka", "--duration", "2s", "--out", t.TempDir(), "--set", "consumers.dlq=store")
	want := "consumers.dlq: store: driver kafka keeps no dead-letter queue of its own"
	if code != 2 || !strings.Contains(stderr, want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
		t.Errorf("kafka: exit %d, stderr %q; want exit 2 and one line containing %q", code, stderr, want)
	}
	drivertest.RequireService(t, "rabbitmq", "127.0.0.1:5672")
	start := time.Now()
	code, _, stderr = runCLI(t, "run", "flaky-consumer", "--driver", "rabbitmq", "--dsn", rabbitURL+"?queue="+rabbitQueue(t)+"&dead_letter=false",
		"--duration", "2s", "--out", t.TempDir(), "--quiet", "--set", "consumers.dlq=store")
	if code != 2 || !strings.Contains(stderr, "remove dead_letter=false") {
		t.Errorf("dead_letter=false: exit %d, stderr %q; want exit 2 naming dead_letter=false", code, stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the refusal took %v: it must come before the load", d)
	}
}

// TestPostgresDLQWaitingLettersAccounted: letters left in a Postgres DLQ
// (no redrive) are found there after the run, not called unaccounted. They
// were, and the run failed, while the result was computed after the DLQ's
// pool had closed.
func TestPostgresDLQWaitingLettersAccounted(t *testing.T) {
	drivertest.RequireService(t, "postgres", "127.0.0.1:5432")
	out := t.TempDir()
	code, _, stderr := runCLI(t, "run", "flaky-consumer", "--duration", "3s", "--out", out, "--quiet",
		"--set", "consumers.dlq=postgres", "--set", "consumers.postgres_dsn=postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"--set", "consumers.failure_rate=0.2", "--set", "consumers.fail_types=[]", "--set", "consumers.fail_during=[]",
		"--set", "consumers.retry.attempts=2", "--set", "consumers.breaker=null", "--set", "consumers.redrive=false", "--set", "gates=[]")
	res, err := measure.ReadResult(filepath.Join(out, measure.ResultFile))
	if err != nil {
		t.Fatalf("exit %d, stderr %q: %v", code, stderr, err)
	}
	h := res.ConsumerHandling
	if code != 0 || h == nil || h.NotApplied == 0 || h.Unaccounted != 0 {
		t.Fatalf("exit %d, stderr %q, consumer_handling %+v; want exit 0, letters not applied and none unaccounted", code, stderr, h)
	}
}
