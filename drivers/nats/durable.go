package nats

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/evbench/evbench/drivers"
)

var _ drivers.DurableSubscriber = (*Driver)(nil)

// durableAckWait is the durable's AckWait: longer than any commit interval
// a scenario uses, so a live subscriber never sees the server redeliver
// between its commits (a redelivery would arrive out of per-key order).
const durableAckWait = 5 * time.Minute

// durableIdle is the durable's InactiveThreshold: the server deletes a
// group nobody read for a day, so runs with generated group names do not
// pile up durables on a shared server, while a restart (seconds) resumes.
const durableIdle = 24 * time.Hour

// ackTimeout bounds one commit (a DoubleAck round trip).
const ackTimeout = 5 * time.Second

// SubscribeDurable reads the stream through the durable pull consumer
// named after group (AckPolicy all), as a production projector does: the
// consumer lives in the server, and a commit is a DoubleAck of the last
// delivered message, which acknowledges everything before it, confirmed by
// the server. A clean stop commits what was delivered, best effort; a stop
// with drivers.ErrConsumerCrash commits nothing more.
//
// Resume: a durable whose last session left messages delivered but not
// acknowledged is recreated at its ack floor + 1, so the restarted
// projector gets them again at once and in stream order (the server
// would otherwise redeliver them only after AckWait, out of order). One
// SubscribeDurable per group at a time: a second one would be restarted
// by that recreation.
func (d *Driver) SubscribeDurable(ctx context.Context, group string, policy drivers.CommitPolicy, deliver func([]drivers.Delivered) error) error {
	if d.isClosed() {
		return errClosed
	}
	name, err := durableName(group)
	if err != nil {
		return err
	}
	pull := min(d.cfg.MaxPending, 4096)
	cons, err := d.durableConsumer(ctx, name, max(d.cfg.MaxPending*4, 16384, policy.Events+2*pull))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
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
		jetstream.PullMaxMessages(pull),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if terminal(err) {
				push(inbound{err: fmt.Errorf("nats: durable %s on stream %s: %w", name, d.cfg.Stream, err)})
			}
		}))
	if err != nil {
		return fmt.Errorf("nats: consume durable %s on stream %s: %w", name, d.cfg.Stream, err)
	}
	defer cc.Stop()

	clock := drivers.NewCommitClock(policy, time.Now())
	var unacked jetstream.Msg // the last delivered message, not acknowledged yet
	commit := func(ctx context.Context) {
		if unacked == nil {
			return
		}
		actx, cancel := context.WithTimeout(ctx, ackTimeout)
		defer cancel()
		if err := unacked.DoubleAck(actx); err != nil {
			if ctx.Err() == nil {
				d.opts.Log("nats: durable %s: commit: %v (retried at the next due commit)", name, err)
			}
			return
		}
		unacked = nil
		clock.Committed(time.Now())
	}
	defer func() {
		if !drivers.Crashed(ctx) {
			commit(context.Background()) // best effort on a clean stop
		}
	}()
	tick := time.NewTicker(clock.Tick(250 * time.Millisecond))
	defer tick.Stop()
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
			if clock.Due(time.Now()) {
				commit(ctx)
			}
			continue
		case first = <-ch:
		}
		room := clock.Room(maxDeliver) // a commit falls on the policy's Events exactly
		// A fresh slice each time: deliver may keep it.
		batch, last, err := collect(first, ch, make([]drivers.Delivered, 0, room), room)
		if err != nil {
			return err
		}
		if err := deliver(batch); err != nil {
			return err
		}
		unacked = last
		clock.Delivered(len(batch))
		if ctx.Err() != nil {
			return nil // stopped during deliver: the deferred commit decides
		}
		if clock.Due(time.Now()) {
			commit(ctx)
		}
	}
}

// durableName turns a group name into a JetStream consumer name, refusing
// what the server would (names are subject tokens).
func durableName(group string) (string, error) {
	if group == "" {
		return "", errors.New("nats: durable subscribe: empty group name")
	}
	if strings.ContainsAny(group, ".*> \t\r\n/\\") || len(group) > 200 {
		return "", fmt.Errorf("nats: durable subscribe: group %q is not a valid consumer name: use at most 200 of [A-Za-z0-9_-]", group)
	}
	return group, nil
}

// durableConsumer returns the durable name, created from the start of the
// stream when new, reused when its last session acknowledged everything it
// was delivered, and recreated at its ack floor + 1 otherwise.
func (d *Driver) durableConsumer(ctx context.Context, name string, maxAckPending int) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:           name,
		FilterSubject:     d.cfg.Subjects,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		AckPolicy:         jetstream.AckAllPolicy,
		AckWait:           durableAckWait,
		MaxAckPending:     maxAckPending,
		InactiveThreshold: durableIdle,
	}
	c, err := d.js.Consumer(ctx, d.cfg.Stream, name)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		// a new group: from the beginning
	case err != nil:
		return nil, fmt.Errorf("nats: look up durable %s on stream %s: %w", name, d.cfg.Stream, err)
	default:
		info := c.CachedInfo()
		if info.NumAckPending == 0 && info.Delivered.Stream <= info.AckFloor.Stream {
			return c, nil
		}
		floor := info.AckFloor.Stream
		d.opts.Log("nats: durable %s: %d message(s) delivered but not acknowledged; resuming at its ack floor + 1 (stream seq %d)", name, info.NumAckPending, floor+1)
		if err := d.js.DeleteConsumer(ctx, d.cfg.Stream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("nats: recreate durable %s at its ack floor: delete: %w", name, err)
		}
		if floor > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, floor+1
		}
	}
	c, err = d.js.CreateConsumer(ctx, d.cfg.Stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("nats: create durable %s on stream %s: %w", name, d.cfg.Stream, err)
	}
	return c, nil
}
