package rabbitmq

import (
	"context"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/evbench/evbench/drivers"
)

// maxBatch caps the deliveries handed to deliver at once.
const maxBatch = 512

// acquireSlot takes the lowest free subscriber queue. Every queue gets
// every event, so any free one serves a subscription whose cursor is at or
// after what that queue still holds; older deliveries are skipped by
// offset.
func (d *queueDriver) acquireSlot() (int, error) {
	d.slotsMu.Lock()
	defer d.slotsMu.Unlock()
	for i, b := range d.busy {
		if !b {
			d.busy[i] = true
			return i, nil
		}
	}
	return 0, fmt.Errorf("rabbitmq: all %d subscriber queue(s) of %q are in use: each concurrent subscription (projector) needs its own queue; add subscribers=%d to the DSN",
		len(d.busy), d.cfg.Queue, len(d.busy)+1)
}

func (d *queueDriver) releaseSlot(i int) {
	d.slotsMu.Lock()
	d.busy[i] = false
	d.slotsMu.Unlock()
}

// Subscribe consumes one subscriber queue (manual acks, prefetch=
// prefetch), skips messages before from (redeliveries of what an earlier
// subscription already delivered) and acknowledges each batch after
// deliver returned: a message is removed from the queue only once the
// harness had it. It cannot start before what the queue holds: see
// ReplayUnsupported.
func (d *queueDriver) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	slot, err := d.acquireSlot()
	if err != nil {
		return err
	}
	defer d.releaseSlot(slot)
	d.mu.Lock()
	err = d.ensureConnLocked(ctx)
	var ch *amqp.Channel
	if err == nil {
		ch, err = d.conn.Channel()
	}
	d.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("rabbitmq: subscribe: %w", err)
	}
	defer ch.Close() // requeues what was delivered and not acknowledged
	queue := d.cfg.queueName(slot)
	if err := ch.Qos(d.cfg.Prefetch, 0, false); err != nil {
		return fmt.Errorf("rabbitmq: subscribe %q: qos: %w", queue, err)
	}
	msgs, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("rabbitmq: subscribe %q: %w", queue, err)
	}
	start := from[0]
	batch := make([]drivers.Delivered, 0, maxBatch)
	for {
		var last *amqp.Delivery
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("rabbitmq: subscribe %q: channel closed: %v", queue, ch.IsClosed())
			}
			last = &m
			batch = d.appendDelivery(batch, &m, start)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case m, ok := <-msgs:
				if !ok {
					break fill
				}
				last = &m
				batch = d.appendDelivery(batch, &m, start)
			default:
				break fill
			}
		}
		if len(batch) > 0 {
			if err := deliver(batch); err != nil {
				return err
			}
			start = batch[len(batch)-1].Position.Offset + 1
		}
		if err := last.Ack(true); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("rabbitmq: subscribe %q: ack: %w", queue, err)
		}
	}
}

// appendDelivery decodes m and appends it unless it lies before start.
// A body evbench did not write is logged and skipped (acknowledged).
func (d *queueDriver) appendDelivery(batch []drivers.Delivered, m *amqp.Delivery, start int64) []drivers.Delivered {
	ev, off, err := decode(m.Body)
	if err != nil {
		d.opts.Log("rabbitmq: queue %q: skipping a message evbench did not write (%d bytes)", d.cfg.Queue, len(m.Body))
		return batch
	}
	if off < start {
		return batch
	}
	return append(batch, drivers.Delivered{Event: ev, Position: drivers.Position{Offset: off}})
}
