package mqtt

import (
	"context"
	"errors"
	"fmt"

	"github.com/eclipse/paho.golang/paho"

	"github.com/evbench/evbench/drivers"
)

// inboxSize is how many delivered messages a subscription buffers between
// paho's reader and deliver. The client acknowledges a message once it is
// in the inbox, so a slow deliver does not hold the broker's in-flight
// window; a full inbox does, and then the broker queues for this client up
// to its own limit (Mosquitto: max_queued_messages, default 1000) and
// drops the rest: MQTT has no back-pressure beyond that.
const inboxSize = 1 << 16

// maxBatch caps one deliver call.
const maxBatch = 512

// Subscribe delivers what is published under the prefix from now on, on a
// connection of its own with a clean session. from must not be behind the
// head: a broker keeps no log, so a cursor behind it (a nil cursor after
// anything was published, a restarted projector that missed events, a
// rebuild) returns ErrNoReplay, wrapping drivers.ErrUnsupported, without
// subscribing. Events published while the subscription is being set up
// (before the broker's SUBACK) may be missed. Within a key, and within a
// lane, events arrive in publish order; with shared= each member of the
// group gets only its share of them.
func (d *Driver) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	if d.isClosed() {
		return errClosed
	}
	if lag := drivers.Lag(d.lanes.head(), from); lag > 0 {
		return fmt.Errorf("mqtt: subscribe from %v: %d acknowledged events are before it: %w", from, lag, ErrNoReplay)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(d.closeCtx, cancel)
	defer stop()

	inbox := make(chan *paho.Publish, inboxSize)
	failed := make(chan error, 1)
	fail := func(err error) {
		select {
		case failed <- err:
		default:
		}
	}
	c, err := connect(ctx, d.cfg, connOptions{
		dial: d.opts.Dialer(),
		role: d.opts.Role + "-sub",
		onPub: func(pr paho.PublishReceived) (bool, error) {
			select {
			case inbox <- pr.Packet:
			case <-ctx.Done():
			}
			return true, nil
		},
		onError: func(err error) { fail(fmt.Errorf("mqtt: subscription connection: %w", err)) },
		onServer: func(dc *paho.Disconnect) {
			fail(fmt.Errorf("mqtt: broker closed the subscription: reason %d", dc.ReasonCode))
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer func() { _ = c.Disconnect(&paho.Disconnect{}) }()
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: d.cfg.filter(), QoS: d.cfg.QoS}}})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("mqtt: subscribe to %s: %w", d.cfg.filter(), err)
	}
	if len(sa.Reasons) != 1 || sa.Reasons[0] >= 0x80 {
		return fmt.Errorf("mqtt: subscribe to %s refused: reasons %v", d.cfg.filter(), sa.Reasons)
	}
	if sa.Reasons[0] < d.cfg.QoS {
		return fmt.Errorf("mqtt: subscribe to %s granted QoS %d, want %d (at QoS 0 the broker may drop messages)", d.cfg.filter(), sa.Reasons[0], d.cfg.QoS)
	}

	batch := make([]drivers.Delivered, 0, maxBatch)
	for {
		var first *paho.Publish
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case <-c.Done():
			if ctx.Err() != nil {
				return nil
			}
			return errors.New("mqtt: subscription connection closed")
		case first = <-inbox:
		}
		batch = batch[:0]
		for p := first; p != nil; {
			dl, err := decode(d.cfg.Topic, p)
			if err != nil {
				d.opts.Log("mqtt: skipping a message: %v", err)
			} else {
				batch = append(batch, dl)
			}
			p = nil
			if len(batch) < maxBatch {
				select {
				case p = <-inbox:
				default:
				}
			}
		}
		if len(batch) == 0 {
			continue
		}
		if err := deliver(batch); err != nil {
			return err
		}
	}
}
