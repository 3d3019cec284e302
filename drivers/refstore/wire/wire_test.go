package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/record"
)

func TestAppendRoundTrip(t *testing.T) {
	evs := []engine.Event{{ID: [16]byte{9}, Stream: "s-1", Seq: 3, Type: "T", Payload: []byte("xyz"), CreatedAt: 42}, {Stream: "s-2"}}
	b := AppendAppend(nil, 7, engine.ExpectNoStream, evs)
	f, _, err := ReadFrame(bytes.NewReader(b), DefaultMaxFrame, nil)
	if err != nil || f.Type != TAppend || f.ReqID != 7 {
		t.Fatalf("frame %+v err %v", f, err)
	}
	req, err := DecodeAppend(f.Body, DefaultMaxBatch)
	if err != nil || req.Expected != engine.ExpectNoStream || len(req.Events) != 2 ||
		req.Events[0].Stream != "s-1" || string(req.Events[0].Payload) != "xyz" || req.Events[0].CreatedAt != 42 || req.Events[0].ID[0] != 9 {
		t.Fatalf("req %+v err %v", req, err)
	}
	if _, err := DecodeAppend(f.Body, 1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("batch limit: %v", err)
	}
}

func TestReadFrameErrors(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"short length", []byte{2, 0, 0, 0, 1, 0}, ErrMalformed},
		{"oversize", []byte{0, 0, 0, 0x7f}, ErrTooLarge},
	}
	for _, c := range cases {
		if _, _, err := ReadFrame(bytes.NewReader(c.in), DefaultMaxFrame, nil); !errors.Is(err, c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if _, _, err := ReadFrame(bytes.NewReader([]byte{20, 0, 0, 0, 1}), DefaultMaxFrame, nil); err == nil {
		t.Error("cut frame: want error")
	}
}

// FuzzFrame feeds arbitrary bytes to the frame reader and every body decoder:
// none may panic or allocate beyond the limits.
func FuzzFrame(f *testing.F) {
	f.Add(AppendAppend(nil, 1, -2, []engine.Event{{Stream: "a", Payload: []byte("p")}}))
	f.Add(AppendHello(nil))
	f.Add(AppendPositions(nil, 3, []uint64{1, 2}))
	f.Add(AppendError(nil, 3, CodeConflict, "x"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add(AppendReadStream(nil, 4, "order-17", 3, 100))
	rec := record.Append(nil, &record.Record{Position: 7, Stream: "order-17", Payload: []byte("p")})
	se := make([]byte, StreamEventsHeader+len(rec))
	copy(se[StreamEventsHeader:], rec)
	PutStreamEventsHeader(se, 4, FlagCut, 1)
	f.Add(se)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		var buf []byte
		for {
			fr, nb, err := ReadFrame(r, 1<<16, buf)
			buf = nb
			if err != nil {
				return
			}
			DecodeHello(fr.Body)
			DecodeHelloOK(fr.Body)
			DecodeAppend(fr.Body, 100)
			DecodePositions(fr.Body)
			DecodeU64(fr.Body)
			DecodeError(fr.Body)
			DecodeEventsHeader(fr.Body)
			DecodeReadStream(fr.Body, 100)
			DecodeStreamEvents(fr.Body)
		}
	})
}

// TestDecodeAppendInto: the caller's event space is used when large enough,
// strings alias the body, and the result matches DecodeAppend.
func TestDecodeAppendInto(t *testing.T) {
	evs := []engine.Event{{ID: [16]byte{1}, Stream: "s-1", Seq: 3, Type: "T", Payload: []byte("xyz"), CreatedAt: 42}}
	b := AppendAppend(nil, 7, engine.ExpectAny, evs)
	body := b[4+FrameHeader:]
	var space [1]engine.Event
	req, err := DecodeAppendInto(body, DefaultMaxBatch, space[:])
	if err != nil || &req.Events[0] != &space[0] || req.Events[0].Stream != "s-1" || req.Events[0].Type != "T" ||
		string(req.Events[0].Payload) != "xyz" || req.Events[0].Seq != 3 {
		t.Fatalf("req %+v err %v", req, err)
	}
	two := AppendAppend(nil, 8, engine.ExpectAny, append(evs, engine.Event{Stream: "s-2"}))
	req, err = DecodeAppendInto(two[4+FrameHeader:], DefaultMaxBatch, space[:])
	if err != nil || len(req.Events) != 2 || &req.Events[0] == &space[0] || req.Events[1].Stream != "s-2" {
		t.Fatalf("two events: %+v err %v", req, err)
	}
	if _, err := DecodeAppendInto(body[:10], DefaultMaxBatch, space[:]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short body: %v", err)
	}
}
