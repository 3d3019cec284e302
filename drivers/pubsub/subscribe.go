package pubsub

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/evbench/evbench/drivers"
)

// claim takes a free subscription: each running Subscribe holds one, so
// concurrent subscribers (projectors) each receive every event. A
// subscriber that stops and subscribes again gets a free one back and reads
// what that subscription has not acknowledged.
func (d *Driver) claim() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, errClosed
	}
	for i, busy := range d.inUse {
		if !busy {
			d.inUse[i] = true
			return i, nil
		}
	}
	return 0, fmt.Errorf("pubsub: all %d subscription(s) of topic %s are in use; give one per projector with subscriptions=N in the DSN", len(d.inUse), d.cfg.Topic)
}

func (d *Driver) release(i int) {
	d.mu.Lock()
	d.inUse[i] = false
	d.mu.Unlock()
}

// Subscribe pulls from a free subscription of the topic until ctx ends or
// deliver fails. It cannot start at an arbitrary cursor (see
// ReplayUnsupported): it delivers what the subscription holds
// unacknowledged, and from only sets where the delivered positions count
// from: the k-th delivery is at offset from[0]+k, so a projector's cursor
// minus Head is its lag.
//
// It uses synchronous Pull and Acknowledge rather than the client's
// streaming Receive: each pulled batch is delivered (never concurrently)
// and acknowledged right after deliver returned nil, in one RPC, so an ack
// means "the projector applied it" and nothing waits on the client's
// 100 ms ack batching (which caps an ordered key at ~10 events/s on an
// emulator that releases a key's next message only after the ack). A
// crash before the ack redelivers the batch (at least once); a failed
// deliver gives its batch back (ack deadline 0).
func (d *Driver) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	idx, err := d.claim()
	if err != nil {
		return err
	}
	defer d.release(idx)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(d.closeCtx, cancel)
	defer stop()

	sub := d.subName(idx)
	admin := d.client.SubscriptionAdminClient
	next := from[0]
	for {
		resp, err := admin.Pull(rctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: pullMax, ReturnImmediately: d.cfg.Emulator})
		if rctx.Err() != nil {
			return nil
		}
		if err != nil {
			if retryable(err) {
				if !sleepCtx(rctx, 100*time.Millisecond) {
					return nil
				}
				continue
			}
			return fmt.Errorf("pubsub: pull from subscription %s: %w", sub, err)
		}
		if len(resp.ReceivedMessages) == 0 {
			if !sleepCtx(rctx, emptyPullWait) {
				return nil
			}
			continue
		}
		batch := make([]drivers.Delivered, 0, len(resp.ReceivedMessages))
		ackIDs := make([]string, 0, len(resp.ReceivedMessages))
		for _, rm := range resp.ReceivedMessages {
			ackIDs = append(ackIDs, rm.AckId)
			e, err := decode(rm.Message)
			if err != nil {
				d.giveBack(sub, ackIDs)
				return err
			}
			batch = append(batch, drivers.Delivered{Event: e, Position: drivers.Position{Offset: next + int64(len(batch))}})
		}
		if err := deliver(batch); err != nil {
			d.giveBack(sub, ackIDs)
			return err
		}
		next += int64(len(batch))
		if err := admin.Acknowledge(rctx, &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: ackIDs}); err != nil {
			if rctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("pubsub: acknowledge %d message(s) on %s: %w", len(ackIDs), sub, err)
		}
	}
}

// pullMax is the most messages one Pull asks for.
const pullMax = 1000

// emptyPullWait is the pause after an empty pull (an emulator answers at
// once; the service itself holds a pull until messages arrive).
const emptyPullWait = 5 * time.Millisecond

// giveBack makes messages deliverable again at once (ack deadline 0), best
// effort: when it fails they come back after the ack deadline.
func (d *Driver) giveBack(sub string, ackIDs []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = d.client.SubscriptionAdminClient.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{Subscription: sub, AckIds: ackIDs, AckDeadlineSeconds: 0})
}

// retryable is true for errors a pull loop waits out (a chaos fault, a
// restarting emulator).
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted, codes.Internal:
		return true
	}
	return false
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
