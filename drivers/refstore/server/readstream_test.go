package server

import (
	"bufio"
	"encoding/binary"
	"net"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/record"
	"github.com/evbench/evbench/drivers/refstore/wire"
)

func helloV(t *testing.T, addr string, v uint16) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, br := dialRaw(t, addr, false)
	b, s := wire.Begin(nil, wire.THello, 0)
	b = append(b, wire.Magic...)
	b = binary.LittleEndian.AppendUint16(b, v)
	c.Write(wire.End(b, s))
	f, _, err := wire.ReadFrame(br, 1<<20, nil)
	if err != nil || f.Type != wire.THelloOK {
		t.Fatalf("hello v%d: %+v %v", v, f, err)
	}
	if got, _, _ := wire.DecodeHelloOK(f.Body); got != v {
		t.Fatalf("hello v%d answered with version %d", v, got)
	}
	return c, br
}

func appendRaw(t *testing.T, c net.Conn, br *bufio.Reader, evs []engine.Event) {
	t.Helper()
	c.Write(wire.AppendAppend(nil, 1, engine.ExpectAny, evs))
	if f, _, err := wire.ReadFrame(br, 1<<20, nil); err != nil || f.Type != wire.TAppendOK {
		t.Fatalf("append: %+v %v", f, err)
	}
}

// TestOldClientStillServed: a protocol-1 client appends and reads the head
// as before; a read by stream on its connection is refused, not fatal.
func TestOldClientStillServed(t *testing.T) {
	addr := start(t)
	c, br := helloV(t, addr, 1)
	appendRaw(t, c, br, []engine.Event{{ID: [16]byte{1}, Stream: "s", Payload: []byte("p")}})
	c.Write(wire.AppendReadStream(nil, 2, "s", 0, 5))
	f, _, err := wire.ReadFrame(br, 1<<20, nil)
	if err != nil || f.Type != wire.TError || !strings.Contains(wire.DecodeError(f.Body).Error(), "needs protocol 2") {
		t.Fatalf("read stream on v1: %+v %v", f, err)
	}
	c.Write(wire.AppendEmpty(nil, wire.THead, 3))
	f, _, err = wire.ReadFrame(br, 1<<20, nil)
	if h, _ := wire.DecodeU64(f.Body); err != nil || f.Type != wire.THeadOK || h != 1 {
		t.Fatalf("head on v1: %+v %v", f, err)
	}
}

func TestReadStreamFrames(t *testing.T) {
	l, err := engine.Open(t.TempDir(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// ReadBatchBytes below 3 records: answers are cut and flagged.
	size := record.HeaderSize + 1 + 1 + 8
	s := New(l, Config{MaxFrame: 1 << 16, MaxBatch: 10, ReadBatchBytes: 2*size + size/2})
	a, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); l.Close() })
	addr := a.String()
	c, br := helloV(t, addr, wire.Version)
	var evs []engine.Event
	for i := 0; i < 10; i++ {
		evs = append(evs, engine.Event{ID: [16]byte{byte(i + 1)}, Stream: []string{"a", "b"}[i%2], Type: "T", Payload: []byte("payload" + string(rune('0'+i)))})
	}
	appendRaw(t, c, br, evs)
	cases := []struct {
		name     string
		stream   string
		from     uint64
		max      int
		versions []uint64
		cut      bool
	}{
		{"cut at the byte limit", "a", 0, 10, []uint64{0, 1}, true},
		{"from the middle", "b", 3, 10, []uint64{3, 4}, false},
		{"max 1", "b", 1, 1, []uint64{1}, false},
		{"unknown stream", "zz", 0, 10, nil, false},
	}
	for i, tc := range cases {
		c.Write(wire.AppendReadStream(nil, uint32(10+i), tc.stream, tc.from, tc.max))
		f, _, err := wire.ReadFrame(br, 1<<20, nil)
		if err != nil || f.Type != wire.TStreamEvents || f.ReqID != uint32(10+i) {
			t.Fatalf("%s: %+v %v", tc.name, f, err)
		}
		flags, n, raw, err := wire.DecodeStreamEvents(f.Body)
		if err != nil || n != len(tc.versions) || (flags&wire.FlagCut != 0) != tc.cut {
			t.Fatalf("%s: flags %d n %d err %v", tc.name, flags, n, err)
		}
		for _, v := range tc.versions {
			r, k, err := record.Decode(raw)
			if err != nil || r.Stream != tc.stream || r.StreamVersion != v {
				t.Fatalf("%s: record %+v %v, want version %d", tc.name, r, err, v)
			}
			raw = raw[k:]
		}
	}
	// Over the batch limit: an error frame, the connection stays usable.
	c.Write(wire.AppendReadStream(nil, 20, "a", 0, 11))
	if f, _, err := wire.ReadFrame(br, 1<<20, nil); err != nil || f.Type != wire.TError || !strings.Contains(wire.DecodeError(f.Body).Error(), "want 1 to 10") {
		t.Fatalf("max over limit: %+v %v", f, err)
	}
	appendRaw(t, c, br, []engine.Event{{ID: [16]byte{99}, Stream: "a"}})
	// Malformed: an error frame and the connection closes.
	b, st := wire.Begin(nil, wire.TReadStream, 21)
	c.Write(wire.End(append(b, 1, 2, 3), st))
	if f, _, err := wire.ReadFrame(br, 1<<20, nil); err != nil || f.Type != wire.TError {
		t.Fatalf("malformed: %+v %v", f, err)
	}
	if _, _, err := wire.ReadFrame(br, 1<<20, nil); err == nil {
		t.Fatal("connection still open after a malformed read stream")
	}
}
