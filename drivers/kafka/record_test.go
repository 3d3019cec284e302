package kafka

import (
	"encoding/hex"
	"reflect"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// toRecordV0 is toRecord as it was before it packed the key and header
// values into one buffer (7 allocations per record): the reference the
// packed one must match exactly.
func toRecordV0(ev *drivers.Event) *kgo.Record {
	id := make([]byte, 32)
	hex.Encode(id, ev.ID[:])
	return &kgo.Record{
		Key:   []byte(ev.Key),
		Value: ev.Payload,
		Headers: []kgo.RecordHeader{
			{Key: hID, Value: id},
			{Key: hSeq, Value: strconv.AppendUint(nil, ev.Seq, 10)},
			{Key: hType, Value: []byte(ev.Type)},
			{Key: hCreatedAt, Value: strconv.AppendInt(nil, ev.CreatedAt, 10)},
		},
	}
}

// recordTestEvents covers the harness's events, the conformance suite's,
// and the edges: empty key and type (Kafka tells an empty key from a null
// one), extreme numbers, a long and a non-ASCII key, a nil payload.
func recordTestEvents() []drivers.Event { return drivertest.EncodeEdgeEvents() }

// TestToRecordMatchesV0 proves the packed toRecord produces the same
// record content as before, byte for byte: key (nil-ness included), value
// and headers in order are all franz-go serialises from what we set.
func TestToRecordMatchesV0(t *testing.T) {
	for i, ev := range recordTestEvents() {
		got, want := toRecord(&ev), toRecordV0(&ev)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("event %d (%+v):\n got %+v\nwant %+v", i, ev, got, want)
		}
		if (got.Key == nil) != (want.Key == nil) {
			t.Fatalf("event %d: key nil %v, want %v", i, got.Key == nil, want.Key == nil)
		}
		for j := range want.Headers {
			if (got.Headers[j].Value == nil) != (want.Headers[j].Value == nil) {
				t.Fatalf("event %d header %s: value nil %v, want %v", i, want.Headers[j].Key, got.Headers[j].Value == nil, want.Headers[j].Value == nil)
			}
		}
		back, err := fromRecord(got)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if back.ID != ev.ID || back.Key != ev.Key || back.Seq != ev.Seq || back.Type != ev.Type || back.CreatedAt != ev.CreatedAt || string(back.Payload) != string(ev.Payload) {
			t.Fatalf("event %d: round trip %+v, want %+v", i, back.Event, ev)
		}
	}
}

// TestToRecordSlicesAreSeparate: the key and header values share a buffer;
// appending to one must never overwrite the next.
func TestToRecordSlicesAreSeparate(t *testing.T) {
	ev := drivertest.EncodeEvents(1)[0]
	r := toRecord(&ev)
	want := toRecordV0(&ev)
	_ = append(r.Key, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
	for i := range r.Headers {
		_ = append(r.Headers[i].Value, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
	}
	_ = append(r.Headers, kgo.RecordHeader{Key: "extra"})
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("an append changed the record:\n got %+v\nwant %+v", r, want)
	}
}
