package nats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/evbench/evbench/drivers"
)

// maxDeliver caps one deliver call.
const maxDeliver = 1024

type inbound struct {
	ev  drivers.Delivered
	msg jetstream.Msg
	err error
}

// Subscribe reads the stream from the cursor on (offset o = stream sequence
// o+1), catch-up then live, delivering in batches of what has arrived.
//
// consumer=ordered (default) uses an ordered consumer, which the client
// recreates itself after a gap or a lost heartbeat. consumer=durable uses a
// durable pull consumer "<durable>-<random>" (ack-all after each delivered
// batch, deleted when Subscribe returns, expired by the server after 5 min
// idle otherwise) to measure explicit acks. It starts at the cursor: the
// Driver contract (nil cursor = from the beginning; several projectors and a
// rebuild each read everything) rules out sharing or resuming one durable.
// SubscribeDurable (durable.go) is the consumer that resumes from its
// durable's acks.
//
// It returns nil when ctx ends, the deliver error when deliver fails, and an
// error when the driver is closed or the connection is lost for good.
func (d *Driver) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	if d.isClosed() {
		return errClosed
	}
	cons, drop, err := d.consumer(ctx, from)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer drop()
	ch := make(chan inbound, d.cfg.MaxPending)
	quit := make(chan struct{})
	defer close(quit)
	push := func(in inbound) {
		select {
		case ch <- in:
		case <-quit:
		}
	}
	prefix := d.cfg.prefix()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		ev, err := fromMsg(prefix, m)
		push(inbound{ev: ev, msg: m, err: err})
	},
		jetstream.PullMaxMessages(min(d.cfg.MaxPending, 4096)),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if terminal(err) {
				push(inbound{err: fmt.Errorf("nats: consume stream %s: %w", d.cfg.Stream, err)})
			}
		}))
	if err != nil {
		return fmt.Errorf("nats: consume stream %s: %w", d.cfg.Stream, err)
	}
	defer cc.Stop()
	durable := d.cfg.Consumer == "durable"
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	batch := make([]drivers.Delivered, 0, maxDeliver)
	for {
		var first inbound
		select {
		case <-ctx.Done():
			return nil
		case <-d.closeCtx.Done():
			return errClosed
		case <-tick.C:
			if d.nc.IsClosed() {
				return fmt.Errorf("nats: connection to %s lost for good", strings.Join(d.cfg.Servers, ","))
			}
			continue
		case first = <-ch:
		}
		var last jetstream.Msg
		var err error
		if batch, last, err = collect(first, ch, batch[:0], maxDeliver); err != nil {
			return err
		}
		if err := deliver(batch); err != nil {
			return err
		}
		if durable && last != nil {
			_ = last.Ack() // AckAll: acknowledges everything up to it
		}
		batch = make([]drivers.Delivered, 0, maxDeliver) // deliver may keep the slice
	}
}

// terminal reports errors after which the consumer will never deliver again.
func terminal(err error) bool {
	return errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, jetstream.ErrConsumerDeleted) ||
		errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound)
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// consumer returns the consumer to read with and, for a durable one, a
// func deleting it.
func (d *Driver) consumer(ctx context.Context, from drivers.Cursor) (jetstream.Consumer, func(), error) {
	start := uint64(from[0]) + 1
	policy := jetstream.DeliverByStartSequencePolicy
	if start <= 1 {
		policy, start = jetstream.DeliverAllPolicy, 0
	}
	if d.cfg.Consumer == "ordered" {
		c, err := d.js.OrderedConsumer(ctx, d.cfg.Stream, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{d.cfg.Subjects},
			DeliverPolicy:  policy,
			OptStartSeq:    start,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("nats: ordered consumer on %s: %w", d.cfg.Stream, err)
		}
		return c, func() {}, nil
	}
	name := d.cfg.Durable + "-" + randomSuffix()
	c, err := d.js.CreateConsumer(ctx, d.cfg.Stream, jetstream.ConsumerConfig{
		Durable:           name,
		InactiveThreshold: 5 * time.Minute,
		FilterSubject:     d.cfg.Subjects,
		DeliverPolicy:     policy,
		OptStartSeq:       start,
		AckPolicy:         jetstream.AckAllPolicy,
		MaxAckPending:     max(d.cfg.MaxPending*4, 16384),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("nats: create durable consumer %s on %s: %w", name, d.cfg.Stream, err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = d.js.DeleteConsumer(ctx, d.cfg.Stream, name) // best effort: InactiveThreshold is the backstop
	}
	return c, drop, nil
}

// fromMsg decodes a stored message back into the event and its position.
func fromMsg(prefix string, m jetstream.Msg) (drivers.Delivered, error) {
	meta, err := m.Metadata()
	if err != nil {
		return drivers.Delivered{}, fmt.Errorf("nats: message on %s: %w", m.Subject(), err)
	}
	h := m.Headers()
	out := drivers.Delivered{
		Event: drivers.Event{
			Key:     strings.TrimPrefix(m.Subject(), prefix),
			Type:    h.Get(hType),
			Payload: m.Data(),
		},
		Position: drivers.Position{Offset: int64(meta.Sequence.Stream) - 1},
	}
	if k := h.Values(hKey); len(k) > 0 {
		out.Key = k[0]
	}
	bad := func(name string, err error) (drivers.Delivered, error) {
		return out, fmt.Errorf("nats: stream seq %d: header %s: %v (not written by evbench?)", meta.Sequence.Stream, name, err)
	}
	id := h.Get(nats.MsgIdHdr)
	if len(id) != 32 {
		return bad(nats.MsgIdHdr, fmt.Errorf("want 32 hex digits, got %q", id))
	}
	if _, err := hex.Decode(out.ID[:], []byte(id)); err != nil {
		return bad(nats.MsgIdHdr, err)
	}
	if out.Seq, err = strconv.ParseUint(h.Get(hSeq), 10, 64); err != nil {
		return bad(hSeq, err)
	}
	if out.CreatedAt, err = strconv.ParseInt(h.Get(hCreatedAt), 10, 64); err != nil {
		return bad(hCreatedAt, err)
	}
	return out, nil
}

// collect gathers a batch: first, then whatever is already waiting in ch,
// up to max events, without blocking. It returns the batch, the message of
// its last event (what acknowledging the batch acknowledges), and the
// first error that arrived instead of an event.
func collect(first inbound, ch <-chan inbound, batch []drivers.Delivered, max int) ([]drivers.Delivered, jetstream.Msg, error) {
	var last jetstream.Msg
	in := first
	for {
		if in.err != nil {
			return batch, last, in.err
		}
		batch = append(batch, in.ev)
		last = in.msg
		if len(batch) == max {
			return batch, last, nil
		}
		var more bool
		select {
		case in, more = <-ch:
		default:
		}
		if !more {
			return batch, last, nil
		}
	}
}
