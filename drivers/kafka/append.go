package kafka

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/evbench/evbench/drivers"
)

// Append produces the batch and waits until every record is acked (or the
// first fails). Positions are the records' (partition, offset).
func (d *Driver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	// AppendAsync always completes: records time out after delivery_timeout.
	return drivers.AppendAndWait(ctx, d, batch)
}

// AppendAsync produces every event with a callback and calls done once the
// whole batch is acked, with the first error otherwise. It may block while
// the client's record buffer is full (until ctx ends). A cancelled ctx fails
// records not yet acked; they may still land (ambiguous, never lost).
func (d *Driver) AppendAsync(ctx context.Context, batch []drivers.Event, done func([]drivers.Position, error)) {
	cl, err := d.client()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		done(nil, err)
		return
	}
	if len(batch) == 0 {
		done(nil, nil)
		return
	}
	t := &tracker{pos: make([]drivers.Position, len(batch)), done: done, topic: d.cfg.Topic}
	t.left.Store(int32(len(batch)))
	for i := range batch {
		i := i
		cl.Produce(ctx, toRecord(&batch[i]), func(r *kgo.Record, err error) {
			t.finish(i, r, err)
		})
	}
}

// BatchAtomic is false: a batch is one Produce per event, not a
// transaction (the driver sets no transactional ID). The records of a
// batch share a key and so a partition, and often travel in one record
// batch, but nothing makes them: each is acked or fails (delivery timeout,
// cancellation) on its own, so a failed batch may have landed in part.
func (d *Driver) BatchAtomic() bool { return false }

// tracker collects the acks of one batch without a goroutine.
type tracker struct {
	pos   []drivers.Position
	left  atomic.Int32
	done  func([]drivers.Position, error)
	topic string

	mu  sync.Mutex
	err error
}

func (t *tracker) finish(i int, r *kgo.Record, err error) {
	if err != nil {
		t.mu.Lock()
		if t.err == nil {
			t.err = fmt.Errorf("kafka: produce to %s (key %q): %w", t.topic, r.Key, err)
		}
		t.mu.Unlock()
	} else {
		t.pos[i] = drivers.Position{Partition: r.Partition, Offset: r.Offset}
	}
	if t.left.Add(-1) == 0 {
		t.mu.Lock()
		err := t.err
		t.mu.Unlock()
		if err != nil {
			t.done(nil, err)
			return
		}
		t.done(t.pos, nil)
	}
}
