package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	goredis "github.com/redis/go-redis/v9"

	"github.com/evbench/evbench/drivers"
)

var _ drivers.DurableSubscriber = (*Driver)(nil)

// consumerName is the one consumer of each group: a restarted projector
// must find its own pending entries list (the entries delivered to it and
// not acknowledged) to replay them.
const consumerName = "evbench"

// ackTimeout bounds one commit (an XACK pipeline).
const ackTimeout = 5 * time.Second

// SubscribeDurable reads every shard through the consumer group named
// group (created at the start of each stream when new), as a production
// projector does: the group's position and its pending entries live in
// Redis. It first re-reads the consumer's pending entries (XREADGROUP
// with ID 0...: delivered earlier, never acknowledged, in stream order),
// then new ones (XREADGROUP ">" BLOCK). A commit is an XACK of the IDs
// delivered since the last one, per shard in one pipeline. A clean stop
// commits what was delivered, best effort; a stop with
// drivers.ErrConsumerCrash commits nothing more, so the next session
// replays exactly the unacknowledged entries first. One SubscribeDurable
// per group at a time: two would share the consumer's pending list.
func (d *Driver) SubscribeDurable(ctx context.Context, group string, policy drivers.CommitPolicy, deliver func([]drivers.Delivered) error) error {
	if d.isClosed() {
		return errClosed
	}
	if err := checkGroup(group); err != nil {
		return err
	}
	if err := d.createGroup(ctx, group); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	s := &groupSession{d: d, group: group, clock: drivers.NewCommitClock(policy, time.Now()), unacked: make([][]string, len(d.keys))}
	defer func() {
		if !drivers.Crashed(ctx) {
			s.commit(context.Background()) // best effort on a clean stop
		}
	}()
	// pending[i] is the ID after which shard i's pending entries continue;
	// "" once they are all re-read.
	pending := make([]string, len(d.keys))
	for i := range pending {
		pending[i] = "0-0"
	}
	var buf []drivers.Delivered // read, not yet handed to deliver
	var failingSince time.Time
	for {
		if ctx.Err() != nil {
			return nil
		}
		if d.closeCtx.Err() != nil {
			return errClosed
		}
		if len(buf) == 0 {
			got, err := s.read(ctx, pending)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if failingSince.IsZero() {
					failingSince = time.Now()
				} else if time.Since(failingSince) > giveUp {
					return fmt.Errorf("redis: group %s on %s: server failing for %s: %w", group, d.keyNames(), giveUp, err)
				}
				d.opts.Log("redis: group %s on %s: %v (retrying)", group, d.keyNames(), err)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(retryWait):
				}
				continue
			}
			failingSince = time.Time{}
			buf = got
		}
		if len(buf) == 0 {
			if s.clock.Due(time.Now()) {
				s.commit(ctx)
			}
			continue
		}
		// A fresh slice each time (deliver may keep it), cut so the
		// uncommitted events never pass the policy's Events bound.
		n := min(len(buf), s.clock.Room(maxDeliver))
		batch := append([]drivers.Delivered(nil), buf[:n]...)
		buf = buf[n:]
		if err := deliver(batch); err != nil {
			return err
		}
		for _, dl := range batch {
			s.unacked[dl.Position.Partition] = append(s.unacked[dl.Position.Partition], entryID(dl.Position.Offset))
		}
		s.clock.Delivered(len(batch))
		if ctx.Err() != nil {
			return nil // stopped during deliver: the deferred commit decides
		}
		if s.clock.Due(time.Now()) {
			s.commit(ctx)
		}
	}
}

// checkGroup refuses group names Redis would take but a person could not
// tell apart in redis-cli output.
func checkGroup(group string) error {
	if group == "" {
		return errors.New("redis: durable subscribe: empty group name")
	}
	if strings.IndexFunc(group, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 || len(group) > 200 {
		return fmt.Errorf("redis: durable subscribe: group %q: use at most 200 characters without spaces or control characters", group)
	}
	return nil
}

// createGroup creates group on every shard at the start of the stream
// (MKSTREAM: a shard nobody wrote yet), keeping an existing one as it is.
func (d *Driver) createGroup(ctx context.Context, group string) error {
	for _, k := range d.keys {
		err := d.client.XGroupCreateMkStream(ctx, k, group, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("redis: create consumer group %s on %s: %w", group, k, err)
		}
	}
	return nil
}

// groupSession is one SubscribeDurable's state.
type groupSession struct {
	d       *Driver
	group   string
	clock   *drivers.CommitClock
	unacked [][]string // per shard: IDs delivered, not acknowledged
}

// read returns the next entries: pending ones while some shard has any
// left (advancing pending), then new ones (XREADGROUP ">" BLOCK).
func (s *groupSession) read(ctx context.Context, pending []string) ([]drivers.Delivered, error) {
	d := s.d
	page := int64(max(maxDeliver/len(d.keys), 16))
	for i, after := range pending {
		if after == "" {
			continue
		}
		res, err := d.client.XReadGroup(ctx, &goredis.XReadGroupArgs{
			Group: s.group, Consumer: consumerName, Streams: []string{d.keys[i], after}, Count: page, Block: -1,
		}).Result()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return nil, fmt.Errorf("XREADGROUP pending of %s: %w", d.keys[i], err)
		}
		var msgs []goredis.XMessage
		if len(res) > 0 {
			msgs = res[0].Messages
		}
		if len(msgs) == 0 {
			pending[i] = ""
			continue
		}
		streams := make([][]goredis.XMessage, len(d.keys))
		streams[i] = msgs
		after := append([]string(nil), pending...)
		batch, _, err := decodeStreams(streams, after, page)
		if err != nil {
			return nil, err
		}
		pending[i] = after[i]
		return batch, nil
	}
	args := make([]string, 0, 2*len(d.keys))
	args = append(args, d.keys...)
	for range d.keys {
		args = append(args, ">")
	}
	res, err := d.client.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group: s.group, Consumer: consumerName, Streams: args, Count: page, Block: liveBlock,
	}).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("XREADGROUP: %w", err)
	}
	streams := make([][]goredis.XMessage, len(d.keys))
	for _, st := range res {
		for i, k := range d.keys {
			if st.Stream == k {
				streams[i] = st.Messages
			}
		}
	}
	batch, _, err := decodeStreams(streams, make([]string, len(d.keys)), page)
	return batch, err
}

// commit acknowledges everything delivered since the last commit. On
// failure the IDs stay unacknowledged and the next due commit retries.
func (s *groupSession) commit(ctx context.Context) {
	if s.clock.Pending() == 0 {
		return
	}
	actx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	_, err := s.d.client.Pipelined(actx, func(p goredis.Pipeliner) error {
		for i, ids := range s.unacked {
			if len(ids) > 0 {
				p.XAck(actx, s.d.keys[i], s.group, ids...)
			}
		}
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			s.d.opts.Log("redis: group %s: commit (XACK): %v (retried at the next due commit)", s.group, err)
		}
		return
	}
	for i := range s.unacked {
		s.unacked[i] = s.unacked[i][:0]
	}
	s.clock.Committed(time.Now())
}
