package kafka

import (
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/evbench/evbench/drivers"
)

// Header names. Values are text (hex id, decimal numbers) so that kcat and
// other Kafka tools show them readably.
const (
	hID        = "id"
	hSeq       = "seq"
	hType      = "type"
	hCreatedAt = "created_at"
)

// recordBox is a record with room for its headers: one allocation instead
// of a record and a header slice.
type recordBox struct {
	rec kgo.Record
	hdr [4]kgo.RecordHeader
}

// toRecord maps an event onto a record: Key is the record key (and so picks
// the partition), Payload the value, the rest headers. The key and the
// header values share one buffer, each sliced to its own length and
// capacity, so a record costs two allocations whatever the event.
func toRecord(ev *drivers.Event) *kgo.Record {
	buf := make([]byte, 0, len(ev.Key)+32+20+len(ev.Type)+20) // 20: longest decimal uint64/int64
	buf = append(buf, ev.Key...)
	k := len(buf)
	buf = hex.AppendEncode(buf, ev.ID[:])
	i := len(buf)
	buf = strconv.AppendUint(buf, ev.Seq, 10)
	s := len(buf)
	buf = append(buf, ev.Type...)
	t := len(buf)
	buf = strconv.AppendInt(buf, ev.CreatedAt, 10)
	c := len(buf)
	b := &recordBox{hdr: [4]kgo.RecordHeader{
		{Key: hID, Value: buf[k:i:i]},
		{Key: hSeq, Value: buf[i:s:s]},
		{Key: hType, Value: buf[s:t:t]},
		{Key: hCreatedAt, Value: buf[t:c:c]},
	}}
	b.rec = kgo.Record{Key: buf[:k:k], Value: ev.Payload, Headers: b.hdr[:]}
	return &b.rec
}

// fromRecord is the inverse of toRecord.
func fromRecord(r *kgo.Record) (drivers.Delivered, error) {
	out := drivers.Delivered{
		Event:    drivers.Event{Key: string(r.Key), Payload: r.Value},
		Position: drivers.Position{Partition: r.Partition, Offset: r.Offset},
	}
	for _, h := range r.Headers {
		var err error
		switch h.Key {
		case hID:
			if len(h.Value) != 32 {
				err = fmt.Errorf("want 32 hex digits, got %d bytes", len(h.Value))
			} else {
				_, err = hex.Decode(out.ID[:], h.Value)
			}
		case hSeq:
			out.Seq, err = strconv.ParseUint(string(h.Value), 10, 64)
		case hType:
			out.Type = string(h.Value)
		case hCreatedAt:
			out.CreatedAt, err = strconv.ParseInt(string(h.Value), 10, 64)
		}
		if err != nil {
			return out, fmt.Errorf("kafka: record %d/%d: header %s: %w (not written by evbench?)", r.Partition, r.Offset, h.Key, err)
		}
	}
	return out, nil
}
