package postgres

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestJSONBPayloadSemanticRoundTrip(t *testing.T) {
	d := openTest(t, "&payload=jsonb")
	evs := drivertest.Events(20, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	var got []drivers.Delivered
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	d.Subscribe(sctx, nil, func(b []drivers.Delivered) error {
		got = append(got, b...)
		if len(got) >= len(evs) {
			stop()
		}
		return nil
	})
	if len(got) != len(evs) {
		t.Fatalf("got %d events, want %d", len(got), len(evs))
	}
	for i := range evs {
		var a, b any
		if err := json.Unmarshal(evs[i].Payload, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got[i].Payload, &b); err != nil {
			t.Fatalf("payload %d not JSON: %q", i, got[i].Payload)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("payload %d: got %s, want %s", i, got[i].Payload, evs[i].Payload)
		}
	}
	// Non-JSON payloads are refused by jsonb, with an error.
	if _, err := d.Append(ctx, []drivers.Event{{ID: [16]byte{9}, Key: "x", Payload: []byte("not json")}}); err == nil {
		t.Error("jsonb accepted a non-JSON payload")
	}
}

// TestGroupIsolatesBadBatch: a batch the server refuses fails alone; the
// other requests of its group are retried and commit.
func TestGroupIsolatesBadBatch(t *testing.T) {
	d := openTest(t, "&payload=jsonb")
	good := drivertest.Events(3, 1)
	bad := []drivers.Event{{ID: [16]byte{7}, Key: "x", Payload: []byte("not json")}}
	results := make([]error, 2)
	var positions []drivers.Position
	ctx := context.Background()
	d.lanes[0].commit([]*request{
		{ctx: ctx, batch: good, done: func(p []drivers.Position, err error) { positions, results[0] = p, err }},
		{ctx: ctx, batch: bad, done: func(p []drivers.Position, err error) { results[1] = err }},
	})
	if results[0] != nil || len(positions) != 3 {
		t.Fatalf("good batch: %v, %d positions", results[0], len(positions))
	}
	if results[1] == nil {
		t.Fatal("bad batch committed into jsonb")
	}
	if h, _ := d.Head(ctx); h[0] != 3 {
		t.Fatalf("head = %v, want 3", h)
	}
}

func TestResetEmptiesAndPayloadMismatch(t *testing.T) {
	d := openTest(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.Append(ctx, drivertest.Events(5, 1)); err != nil {
		t.Fatal(err)
	}
	dsn := "postgres://postgres@" + testAddr + "/test?sslmode=disable&schema=" + d.cfg.Schema
	// Same schema, other payload type: a clear error, not a confusing one later.
	if _, err := Open(ctx, dsn+"&payload=jsonb", drivers.Options{}); err == nil || !strings.Contains(err.Error(), "payload=jsonb") {
		t.Errorf("Open with a mismatched payload type: %v", err)
	}
	// Reopen without reset keeps the data; with reset empties it.
	d2, err := Open(ctx, dsn, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := d2.Head(ctx)
	d2.Close()
	if h[0] != 5 {
		t.Fatalf("head after reopen = %v, want 5", h)
	}
	d3, err := Open(ctx, dsn, drivers.Options{Reset: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d3.Close()
	if h, _ := d3.Head(ctx); h[0] != 0 {
		t.Fatalf("head after Reset = %v, want 0", h)
	}
	if _, err := d3.Append(ctx, drivertest.Events(2, 1)); err != nil {
		t.Fatalf("append after reset: %v", err)
	}
	if err := d3.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _ := d3.Head(ctx); h[0] != 0 {
		t.Fatalf("head after Reset() = %v, want 0", h)
	}
}

func TestConcurrentOpenSameSchema(t *testing.T) {
	dsn, schema := testDSN(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		go func() {
			d, err := Open(ctx, dsn, drivers.Options{})
			if err == nil {
				d.Close()
			}
			errs <- err
		}()
	}
	for i := 0; i < 6; i++ {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	d, err := Open(ctx, dsn, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.DropSchema(ctx); err != nil {
		t.Errorf("drop %s: %v", schema, err)
	}
}
