package pubsub

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	ps "cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/evbench/evbench/drivers"
)

// Attribute names carrying the event's fields; the payload is the data and
// the key is the ordering key.
const (
	attrID      = "evb_id"
	attrSeq     = "evb_seq"
	attrType    = "evb_type"
	attrCreated = "evb_created"
)

func encode(e drivers.Event) *ps.Message {
	return &ps.Message{
		Data:        e.Payload,
		OrderingKey: e.Key,
		Attributes: map[string]string{
			attrID:      hex.EncodeToString(e.ID[:]),
			attrSeq:     strconv.FormatUint(e.Seq, 10),
			attrType:    e.Type,
			attrCreated: strconv.FormatInt(e.CreatedAt, 10),
		},
	}
}

func decode(m *pubsubpb.PubsubMessage) (drivers.Event, error) {
	e := drivers.Event{Key: m.OrderingKey, Type: m.Attributes[attrType], Payload: m.Data}
	id, err := hex.DecodeString(m.Attributes[attrID])
	if err != nil || len(id) != len(e.ID) {
		return e, fmt.Errorf("pubsub: message %s: attribute %s = %q is not a 16-byte hex event ID (not written by evbench?)", m.MessageId, attrID, m.Attributes[attrID])
	}
	copy(e.ID[:], id)
	if e.Seq, err = strconv.ParseUint(m.Attributes[attrSeq], 10, 64); err != nil {
		return e, fmt.Errorf("pubsub: message %s: attribute %s: %w", m.MessageId, attrSeq, err)
	}
	if e.CreatedAt, err = strconv.ParseInt(m.Attributes[attrCreated], 10, 64); err != nil {
		return e, fmt.Errorf("pubsub: message %s: attribute %s: %w", m.MessageId, attrCreated, err)
	}
	return e, nil
}

// Append publishes the batch and returns when every publish result is in
// (the service acknowledged each message). See AppendAsync.
func (d *Driver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	return drivers.AppendAndWait(ctx, d, batch)
}

// AppendAsync publishes every event with the event key as ordering key and
// calls done once all publish results are in. The positions are a block of
// this process's publish counter (Head), in batch order: Pub/Sub returns a
// message ID, not an offset. When a publish fails, the client pauses that
// ordering key; it is resumed here so the key's next append can go (the
// failed event is ambiguous to the harness, as on every store).
func (d *Driver) AppendAsync(ctx context.Context, batch []drivers.Event, done func([]drivers.Position, error)) {
	if d.isClosed() {
		done(nil, errClosed)
		return
	}
	if err := ctx.Err(); err != nil {
		done(nil, fmt.Errorf("pubsub: publish: %w", err))
		return
	}
	results := make([]*ps.PublishResult, len(batch))
	for i, e := range batch {
		results[i] = d.pub.Publish(ctx, encode(e))
	}
	go func() {
		var errs []error
		ok := 0
		for i, r := range results {
			if _, err := r.Get(ctx); err != nil {
				errs = append(errs, err)
				d.pub.ResumePublish(batch[i].Key)
				continue
			}
			ok++
		}
		base := d.head.Add(int64(ok)) - int64(ok)
		if len(errs) > 0 {
			done(nil, fmt.Errorf("pubsub: publish to %s: %d of %d failed: %w", d.cfg.Topic, len(errs), len(batch), errors.Join(errs...)))
			return
		}
		pos := make([]drivers.Position, len(batch))
		for i := range pos {
			pos[i] = drivers.Position{Offset: base + int64(i)}
		}
		done(pos, nil)
	}()
}
