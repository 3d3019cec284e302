package refstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/wire"
)

// streamEvent is event v of key k as the tests write it; "big" events carry
// 4 KiB so that reading the stream takes several frames.
func streamEvent(k string, v int) drivers.Event {
	var id [16]byte
	copy(id[:], fmt.Sprintf("%s-%d", k, v))
	p := []byte(fmt.Sprintf("%s/%d", k, v))
	if k == "big" {
		p = append(p, bytes.Repeat([]byte{'x'}, 4096)...)
	}
	return drivers.Event{ID: id, Key: k, Seq: uint64(v + 1), Type: "T" + k, Payload: p, CreatedAt: int64(v)}
}

// fillStreams appends 100 events to each of k0, k1, k2 (interleaved, in
// batches of 30) and 300 big ones, and returns each event's position.
func fillStreams(t *testing.T, d *Driver) map[string][]int64 {
	t.Helper()
	pos := map[string][]int64{}
	var batch []drivers.Event
	flush := func() {
		p, err := d.Append(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range batch {
			pos[e.Key] = append(pos[e.Key], p[i].Offset)
		}
		batch = batch[:0]
	}
	for i := 0; i < 300; i++ {
		batch = append(batch, streamEvent(fmt.Sprintf("k%d", i%3), i/3))
		if len(batch) == 30 {
			flush()
		}
	}
	for i := 0; i < 300; i++ {
		batch = append(batch, streamEvent("big", i))
		if len(batch) == 50 {
			flush()
		}
	}
	return pos
}

func checkStreamReads(t *testing.T, what string, d *Driver, pos map[string][]int64) {
	t.Helper()
	cases := []struct {
		name   string
		stream string
		from   uint64
		max    int
		want   int
	}{
		{"whole k1", "k1", 0, 1000, 100},
		{"k2 from the middle", "k2", 61, 1000, 39},
		{"k0 limited", "k0", 5, 7, 7},
		{"big: several frames", "big", 0, 1000, 300},
		{"big from 250, max 20", "big", 250, 20, 20},
		{"past the end", "k0", 100, 10, 0},
		{"unknown", "nobody", 0, 10, 0},
	}
	for _, c := range cases {
		got, err := d.ReadStream(context.Background(), c.stream, c.from, c.max)
		if err != nil {
			t.Fatalf("%s/%s: %v", what, c.name, err)
		}
		if len(got) != c.want {
			t.Fatalf("%s/%s: %d events, want %d", what, c.name, len(got), c.want)
		}
		for i, e := range got {
			v := int(c.from) + i
			want := streamEvent(c.stream, v)
			if e.Version != uint64(v) || e.Position.Offset != pos[c.stream][v] || e.Key != c.stream || e.ID != want.ID ||
				e.Seq != want.Seq || e.Type != want.Type || !bytes.Equal(e.Payload, want.Payload) || e.CreatedAt != want.CreatedAt {
				t.Fatalf("%s/%s: event %d = version %d position %d key %q seq %d, want version %d position %d", what, c.name, i,
					e.Version, e.Position.Offset, e.Key, e.Seq, v, pos[c.stream][v])
			}
		}
	}
	if _, err := d.ReadStream(context.Background(), "k0", 0, 0); err == nil {
		t.Fatalf("%s: max 0: want an error", what)
	}
}

// TestReadStreamOverTCP reads streams live, after a restart from the
// checkpoint, and after a restart that scans the whole log.
func TestReadStreamOverTCP(t *testing.T) {
	dir := t.TempDir()
	o := engine.Options{SegmentSize: 64 << 10, IndexEvery: 16}
	start := func() (*Embedded, *Driver) {
		e, err := StartEmbedded(dir, o, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		d, err := Open(context.Background(), e.DSN(), drivers.Options{})
		if err != nil {
			e.Close()
			t.Fatal(err)
		}
		return e, d.(*Driver)
	}
	e, d := start()
	pos := fillStreams(t, d)
	checkStreamReads(t, "live", d, pos)
	d.Close()
	e.Close()

	e, d = start()
	if e.Log.Recovery().Checkpoint == 0 {
		t.Fatalf("restart did not use the checkpoint: %v", e.Log.Recovery().Notes)
	}
	checkStreamReads(t, "checkpoint", d, pos)
	d.Close()
	e.Close()

	os.Remove(filepath.Join(dir, "CHECKPOINT"))
	e, d = start()
	defer e.Close()
	defer d.Close()
	if e.Log.Recovery().Checkpoint != 0 {
		t.Fatal("full-scan restart used a checkpoint")
	}
	checkStreamReads(t, "full scan", d, pos)
}

// TestAppendExpectConflict: optimistic concurrency round trip over TCP.
func TestAppendExpectConflict(t *testing.T) {
	d := open(t, embed(t).DSN())
	ctx := context.Background()
	ev := func(v int) drivers.Event { e := streamEvent("order-17", v); e.Key = ""; return e }
	p, err := d.AppendExpect(ctx, "order-17", ExpectNoStream, []drivers.Event{ev(0), ev(1)})
	if err != nil || len(p) != 2 {
		t.Fatalf("first append: %v %v", p, err)
	}
	if _, err := d.AppendExpect(ctx, "order-17", ExpectVersion(1), []drivers.Event{ev(2), ev(3), ev(4)}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		expected ExpectedVersion
		msg      string
	}{
		{"stale exact", ExpectVersion(3), `refstore: append stream "order-17": expected version 3, got 4`},
		{"ahead", ExpectVersion(9), `refstore: append stream "order-17": expected version 9, got 4`},
		{"no stream", ExpectNoStream, `refstore: append stream "order-17": expected no stream, got 4`},
	}
	for _, c := range cases {
		_, err := d.AppendExpect(ctx, "order-17", c.expected, []drivers.Event{ev(100)})
		var ce *ConflictError
		if !errors.As(err, &ce) || ce.Stream != "order-17" || ce.Expected != c.expected || ce.Actual != 4 {
			t.Fatalf("%s: %v (%T), want a *ConflictError", c.name, err, err)
		}
		if err.Error() != c.msg || !errors.Is(err, engine.ErrConflict) {
			t.Fatalf("%s: message %q, want %q", c.name, err.Error(), c.msg)
		}
	}
	_, err = d.AppendExpect(ctx, "fresh", ExpectVersion(0), []drivers.Event{ev(200)})
	if want := `refstore: append stream "fresh": expected version 0, got no stream`; err == nil || err.Error() != want {
		t.Fatalf("fresh stream: %v, want %q", err, want)
	}
	// A retry of an acknowledged batch returns its positions, no conflict.
	p2, err := d.AppendExpect(ctx, "order-17", ExpectNoStream, []drivers.Event{ev(0), ev(1)})
	if err != nil || p2[0] != p[0] || p2[1] != p[1] {
		t.Fatalf("idempotent retry: %v %v, want %v", p2, err, p)
	}
	if _, err := d.AppendExpect(ctx, "order-17", ExpectAny, []drivers.Event{streamEvent("other", 0)}); err == nil {
		t.Fatal("event of another stream: want an error")
	}
	got, err := d.ReadStream(ctx, "order-17", 0, 100)
	if err != nil || len(got) != 5 || got[4].Version != 4 {
		t.Fatalf("stream after conflicts: %d events, %v", len(got), err)
	}
}

// TestReadStreamOldServer: a server that agreed on protocol 1 gets no read
// by stream; the driver says so instead of sending it.
func TestReadStreamOldServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wire.ReadFrame(c, 64, nil)
			c.Write(wire.AppendHelloOKVersion(nil, 1, wire.Limits{MaxFrame: 1 << 20, MaxBatch: 10}))
			defer c.Close()
		}
	}()
	d := open(t, "refstore://"+ln.Addr().String())
	if _, err := d.ReadStream(context.Background(), "s", 0, 1); !errors.Is(err, drivers.ErrUnsupported) {
		t.Fatalf("got %v, want ErrUnsupported", err)
	}
}
