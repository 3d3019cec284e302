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

// toRecord maps an event onto a record: Key is the record key (and so picks
// the partition), Payload the value, the rest headers.
func toRecord(ev *drivers.Event) *kgo.Record {
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
