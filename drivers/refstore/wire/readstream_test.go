package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/record"
)

func TestReadStreamRoundTrip(t *testing.T) {
	b := AppendReadStream(nil, 9, "order-17", 4, 100)
	f, _, err := ReadFrame(bytes.NewReader(b), DefaultMaxFrame, nil)
	if err != nil || f.Type != TReadStream || f.ReqID != 9 {
		t.Fatalf("frame %+v err %v", f, err)
	}
	rs, err := DecodeReadStream(f.Body, DefaultMaxBatch)
	if err != nil || rs != (ReadStream{Stream: "order-17", FromVersion: 4, Max: 100}) {
		t.Fatalf("got %+v err %v", rs, err)
	}
	cases := []struct {
		name string
		body []byte
		want error
	}{
		{"max over the batch limit", AppendReadStream(nil, 1, "s", 0, DefaultMaxBatch+1)[4+FrameHeader:], ErrTooLarge},
		{"max 0", AppendReadStream(nil, 1, "s", 0, 0)[4+FrameHeader:], ErrTooLarge},
		{"cut stream id", AppendReadStream(nil, 1, "stream", 0, 1)[4+FrameHeader : 4+FrameHeader+16], ErrMalformed},
		{"trailing bytes", append(AppendReadStream(nil, 1, "s", 0, 1)[4+FrameHeader:], 0), ErrMalformed},
	}
	for _, c := range cases {
		if _, err := DecodeReadStream(c.body, DefaultMaxBatch); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestStreamEventsRoundTrip(t *testing.T) {
	var recs []byte
	for v := uint64(0); v < 3; v++ {
		recs = record.Append(recs, &record.Record{Position: 10 + v, StreamVersion: v, Stream: "s", Payload: []byte("p")})
	}
	frame := make([]byte, StreamEventsHeader+len(recs))
	copy(frame[StreamEventsHeader:], recs)
	PutStreamEventsHeader(frame, 5, FlagCut, 3)
	f, _, err := ReadFrame(bytes.NewReader(frame), DefaultMaxFrame, nil)
	if err != nil || f.Type != TStreamEvents || f.ReqID != 5 {
		t.Fatalf("frame %+v err %v", f, err)
	}
	flags, n, raw, err := DecodeStreamEvents(f.Body)
	if err != nil || flags != FlagCut || n != 3 || !bytes.Equal(raw, recs) {
		t.Fatalf("flags %d n %d err %v", flags, n, err)
	}
	PutStreamEventsHeader(frame, 5, 0, 4) // count lies
	if _, _, _, err := DecodeStreamEvents(frame[4+FrameHeader:]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("wrong count: %v", err)
	}
	frame[len(frame)-1] ^= 1 // corrupt the last record
	PutStreamEventsHeader(frame, 5, 0, 3)
	if _, _, _, err := DecodeStreamEvents(frame[4+FrameHeader:]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("corrupt record: %v", err)
	}
}

func TestConflictParse(t *testing.T) {
	in := &engine.ConflictError{Stream: `order "17": x`, Expected: 4, Actual: 5}
	e := &RemoteError{Code: CodeConflict, Message: in.Error()}
	c, ok := e.Conflict()
	if !ok || c != *in {
		t.Fatalf("parsed %+v ok %v from %q", c, ok, e.Message)
	}
	if !errors.Is(e, engine.ErrConflict) {
		t.Fatal("errors.Is(remote conflict, ErrConflict) is false")
	}
	for _, bad := range []*RemoteError{{Code: CodeUnavailable, Message: in.Error()}, {Code: CodeConflict, Message: "something else"}} {
		if _, ok := bad.Conflict(); ok {
			t.Errorf("parsed a conflict from %+v", bad)
		}
	}
}
