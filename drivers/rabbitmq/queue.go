package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/evbench/evbench/drivers"
)

// queueDriver is type=quorum or type=classic over AMQP 0-9-1. Events are
// published, persistent, to a fanout exchange named after the queue; each
// of the Subscribers queues is bound to it, so each subscription (one per
// projector) gets every event. A confirm channel makes the publisher
// confirm the commit.
type queueDriver struct {
	cfg  Config
	opts drivers.Options
	head *headState
	sem  chan struct{} // one token per unconfirmed message

	jobs  chan *pubJob  // AppendAsync -> publisher
	waitq chan *pubJob  // publisher -> waiter (publish order)
	stop  chan struct{} // closed by Close
	// enqMu orders enqueues before Close: once stopping is set (under
	// the write lock) no job enters jobs, so the publisher's final drain
	// fails every job that did.
	enqMu    sync.RWMutex
	stopping bool

	mu     sync.Mutex // guards conn, pub, closed; held while publishing (offset order = queue order)
	conn   *amqp.Connection
	pub    *amqp.Channel
	closed bool

	slotsMu sync.Mutex
	busy    []bool // subscriber slots in use
}

var (
	_ drivers.Driver             = (*queueDriver)(nil)
	_ drivers.AsyncAppender      = (*queueDriver)(nil)
	_ drivers.Resetter           = (*queueDriver)(nil)
	_ drivers.ReplayReporter     = (*queueDriver)(nil)
	_ drivers.DurabilityReporter = (*queueDriver)(nil)
	_ drivers.BatchAtomicity     = (*queueDriver)(nil)
)

func openQueue(ctx context.Context, cfg Config, opts drivers.Options) (*queueDriver, error) {
	d := &queueDriver{cfg: cfg, opts: opts, head: headFor(cfg), sem: make(chan struct{}, cfg.MaxInFlight), busy: make([]bool, cfg.Subscribers),
		jobs: make(chan *pubJob, 1024), waitq: make(chan *pubJob, 4096), stop: make(chan struct{})}
	conn, err := d.dial(ctx)
	if err != nil {
		return nil, err
	}
	d.conn = conn
	if opts.Reset {
		if err := d.deleteAll(); err != nil {
			conn.Close()
			return nil, err
		}
		d.head.reset()
	}
	if err := d.declare(); err != nil {
		conn.Close()
		return nil, err
	}
	go d.publisher()
	go d.waiter()
	return d, nil
}

// dial connects through opts.Dialer(), so chaos proxies see every byte;
// with TLS the handshake runs on that connection (dsntls), within the
// same 5s as the dial, and amqp091 gets the TLS connection (amqpURL says
// amqp, so it does not wrap it again).
func (d *queueDriver) dial(ctx context.Context) (*amqp.Connection, error) {
	dial := d.cfg.TLS.Dial(d.opts.Dialer())
	role := d.opts.Role
	if role == "" {
		role = "client"
	}
	cfg := amqp.Config{
		Heartbeat:  5 * time.Second,
		Properties: amqp.Table{"connection_name": "evbench-" + role},
		Dial: func(network, addr string) (net.Conn, error) {
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			c, err := dial(dctx, network, addr)
			if err == nil {
				// amqp091 clears it after the handshake: bounds a silent server.
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			}
			return c, err
		},
	}
	conn, err := amqp.DialConfig(d.cfg.amqpURL(), cfg)
	if err != nil {
		if d.cfg.TLS.Enabled {
			// TLS 1.3 reports a refused client certificate on the first
			// read (inside amqp091's handshake), not in ours: explain it
			// too (Explain leaves an explained handshake error alone).
			err = d.cfg.TLS.Explain(err)
		}
		return nil, fmt.Errorf("rabbitmq: connect to %s vhost %q: %w", d.cfg.Addr, d.cfg.VHost, err)
	}
	return conn, nil
}

func (d *queueDriver) exchange() string { return d.cfg.Queue }
func (d *queueDriver) dlx() string      { return d.cfg.Queue + ".dlx" }
func (d *queueDriver) dlq() string      { return d.cfg.Queue + ".dlq" }

// queueArgs are the arguments every subscriber queue is declared with:
// its type, single active consumer (two subscriptions of one queue never
// interleave deliveries, so per-key order survives an overlap of an old
// and a new subscription) and, when enabled, the dead-letter exchange.
func (d *queueDriver) queueArgs() amqp.Table {
	args := amqp.Table{"x-queue-type": d.cfg.Type, "x-single-active-consumer": true}
	if d.cfg.DeadLetter {
		args["x-dead-letter-exchange"] = d.dlx()
	}
	return args
}

// declare creates (idempotently) the exchange, the subscriber queues and
// their bindings, and the dead-letter pair. Without Reset, a queue that
// already holds messages is refused: they are another run's, and their
// offsets would be mistaken for this run's.
func (d *queueDriver) declare() error {
	ch, err := d.conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq: open channel: %w", err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare(d.exchange(), "fanout", true, false, false, false, nil); err != nil {
		return fmt.Errorf("rabbitmq: declare fanout exchange %q: %w (delete it, add --reset, or choose another queue=)", d.exchange(), err)
	}
	if d.cfg.DeadLetter {
		if err := ch.ExchangeDeclare(d.dlx(), "fanout", true, false, false, false, nil); err != nil {
			return fmt.Errorf("rabbitmq: declare dead-letter exchange %q: %w", d.dlx(), err)
		}
		if _, err := ch.QueueDeclare(d.dlq(), true, false, false, false, amqp.Table{"x-queue-type": d.cfg.Type}); err != nil {
			return fmt.Errorf("rabbitmq: declare dead-letter queue %q: %w (delete it, add --reset, or set dead_letter=false)", d.dlq(), err)
		}
		if err := ch.QueueBind(d.dlq(), "", d.dlx(), false, nil); err != nil {
			return fmt.Errorf("rabbitmq: bind %q to %q: %w", d.dlq(), d.dlx(), err)
		}
	}
	for i := 0; i < d.cfg.Subscribers; i++ {
		name := d.cfg.queueName(i)
		q, err := ch.QueueDeclare(name, true, false, false, false, d.queueArgs())
		if err != nil {
			return fmt.Errorf("rabbitmq: declare %s queue %q: %w (an existing queue of another type or arguments: delete it, add --reset, or choose another queue=)", d.cfg.Type, name, err)
		}
		if q.Messages > 0 && !d.opts.Reset {
			return fmt.Errorf("rabbitmq: queue %q already holds %d messages from an earlier run; add --reset (drops them) or choose another queue=", name, q.Messages)
		}
		if err := ch.QueueBind(name, "", d.exchange(), false, nil); err != nil {
			return fmt.Errorf("rabbitmq: bind queue %q to exchange %q: %w", name, d.exchange(), err)
		}
	}
	return nil
}

// deleteAll deletes the queues and exchanges this DSN declares (up to
// 64 subscriber queues, whatever subscribers= says now).
func (d *queueDriver) deleteAll() error {
	var names []string
	for i := 0; i < 64; i++ {
		names = append(names, d.cfg.queueName(i))
	}
	names = append(names, d.dlq())
	for _, q := range names {
		// A failed delete closes the channel: one channel per attempt.
		ch, err := d.conn.Channel()
		if err != nil {
			return fmt.Errorf("rabbitmq: reset: open channel: %w", err)
		}
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			var ae *amqp.Error
			if !errors.As(err, &ae) || ae.Code != amqp.NotFound {
				return fmt.Errorf("rabbitmq: reset: delete queue %q: %w", q, err)
			}
		}
		ch.Close()
	}
	for _, x := range []string{d.exchange(), d.dlx()} {
		ch, err := d.conn.Channel()
		if err != nil {
			return fmt.Errorf("rabbitmq: reset: open channel: %w", err)
		}
		_ = ch.ExchangeDelete(x, false, false)
		ch.Close()
	}
	return nil
}

// Reset deletes the queues and exchanges and declares them again, empty.
func (d *queueDriver) Reset(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ensureConnLocked(ctx); err != nil {
		return err
	}
	if err := d.deleteAll(); err != nil {
		return err
	}
	d.head.reset()
	return d.declare()
}

var errClosed = errors.New("rabbitmq: driver closed")

// ensureConnLocked redials a connection that died (a fault, a broker
// restart): amqp091 does not reconnect by itself.
func (d *queueDriver) ensureConnLocked(ctx context.Context) error {
	if d.closed {
		return errClosed
	}
	if d.conn != nil && !d.conn.IsClosed() {
		return nil
	}
	conn, err := d.dial(ctx)
	if err != nil {
		return err
	}
	d.conn, d.pub = conn, nil
	return nil
}

// publisherLocked returns the confirm-mode channel, reopening it after a
// channel or connection error.
func (d *queueDriver) publisherLocked(ctx context.Context) (*amqp.Channel, error) {
	if err := d.ensureConnLocked(ctx); err != nil {
		return nil, err
	}
	if d.pub != nil && !d.pub.IsClosed() {
		return d.pub, nil
	}
	ch, err := d.conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: open publisher channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		ch.Close()
		return nil, fmt.Errorf("rabbitmq: enable publisher confirms: %w", err)
	}
	d.pub = ch
	return ch, nil
}

// Append publishes the batch and waits for every publisher confirm.
func (d *queueDriver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	return drivers.AppendAndWait(ctx, d, batch)
}

// AppendAsync hands the batch to the publisher goroutine and returns at
// once (the generator never waits on a socket write); done is called once
// the broker confirmed every message of the batch, or with an error when
// one was nacked, the channel closed, confirm_timeout passed or ctx ended.
// Batches are published in call order, so offsets follow it. Up to
// max_in_flight messages may be unconfirmed; beyond that it waits for
// room (bounded by ctx).
func (d *queueDriver) AppendAsync(ctx context.Context, batch []drivers.Event, done func([]drivers.Position, error)) {
	if err := ctx.Err(); err != nil {
		done(nil, fmt.Errorf("rabbitmq: append: %w", err))
		return
	}
	for i := range batch {
		select {
		case d.sem <- struct{}{}:
		case <-ctx.Done():
			d.release(i)
			done(nil, fmt.Errorf("rabbitmq: append: waiting for room among %d unconfirmed messages: %w", d.cfg.MaxInFlight, ctx.Err()))
			return
		}
	}
	j := &pubJob{ctx: ctx, batch: batch, done: done}
	d.enqMu.RLock()
	defer d.enqMu.RUnlock()
	if d.stopping {
		d.release(len(batch))
		done(nil, errClosed)
		return
	}
	select {
	case d.jobs <- j:
	case <-ctx.Done():
		d.release(len(batch))
		done(nil, fmt.Errorf("rabbitmq: append: %w", ctx.Err()))
	}
}

// pubJob is one AppendAsync on its way: queued, then published and
// awaiting confirms.
type pubJob struct {
	ctx   context.Context
	batch []drivers.Event
	done  func([]drivers.Position, error)
	pos   []drivers.Position
	dcs   []*amqp.DeferredConfirmation
	err   error // publishing failed after len(dcs) messages
	due   time.Time
}

func (d *queueDriver) release(n int) {
	for i := 0; i < n; i++ {
		<-d.sem
	}
}

// publisher publishes queued jobs in order and passes them to the
// confirm waiter, until Close.
func (d *queueDriver) publisher() {
	defer close(d.waitq)
	for {
		select {
		case j := <-d.jobs:
			d.publish(j)
			d.waitq <- j
		case <-d.stop:
			for {
				select {
				case j := <-d.jobs:
					j.err = errClosed
					d.waitq <- j
				default:
					return
				}
			}
		}
	}
}

func (d *queueDriver) publish(j *pubJob) {
	j.due = time.Now().Add(d.cfg.ConfirmTimeout)
	if err := j.ctx.Err(); err != nil {
		j.err = fmt.Errorf("rabbitmq: append: %w", err)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ch, err := d.publisherLocked(j.ctx)
	if err != nil {
		j.err = fmt.Errorf("rabbitmq: append: %w", err)
		return
	}
	first := d.head.assign(len(j.batch))
	j.pos = make([]drivers.Position, len(j.batch))
	j.dcs = make([]*amqp.DeferredConfirmation, 0, len(j.batch))
	for i := range j.batch {
		off := first + int64(i)
		body, err := encode(&j.batch[i], off)
		if err != nil {
			j.err = fmt.Errorf("rabbitmq: append: %w", err)
			return
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(j.ctx, d.exchange(), "", false, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent, Type: j.batch[i].Type, Body: body,
		})
		if err != nil {
			j.err = fmt.Errorf("rabbitmq: append: publish to %q: %w", d.exchange(), err)
			return
		}
		j.pos[i] = drivers.Position{Offset: off}
		j.dcs = append(j.dcs, dc)
	}
}

// waiter completes published jobs in publish order, which is the order
// the broker confirms them in on one channel.
func (d *queueDriver) waiter() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for j := range d.waitq {
		d.release(len(j.batch) - len(j.dcs)) // never published
		err := j.err
		for i, dc := range j.dcs {
			timer.Reset(time.Until(j.due))
			select {
			case <-dc.Done():
				if !dc.Acked() && err == nil {
					err = fmt.Errorf("rabbitmq: append: broker nacked message at offset %d (or the channel closed before its confirm)", j.pos[i].Offset)
				}
			case <-timer.C:
				if err == nil {
					err = fmt.Errorf("rabbitmq: append: no publisher confirm within confirm_timeout=%s", d.cfg.ConfirmTimeout)
				}
			case <-j.ctx.Done():
				if err == nil {
					err = fmt.Errorf("rabbitmq: append: waiting for publisher confirm: %w", j.ctx.Err())
				}
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			if err != nil {
				// Give back the tokens of unconfirmed messages as they
				// resolve (a closed channel nacks them all), not before.
				go func(rest []*amqp.DeferredConfirmation) {
					for _, dc := range rest {
						<-dc.Done()
						<-d.sem
					}
				}(j.dcs[i:])
				break
			}
			<-d.sem
		}
		if err != nil {
			j.done(nil, err)
			continue
		}
		d.head.confirm(j.pos[len(j.pos)-1].Offset + 1)
		j.done(j.pos, nil)
	}
}

// Head is one past the highest offset this process published and had
// confirmed (see headState): a queue has no offsets a client can read.
func (d *queueDriver) Head(ctx context.Context) (drivers.Cursor, error) {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	return drivers.Cursor{0: d.head.queueHead()}, nil
}

// ReplayUnsupported: a queue forgets what it delivered.
func (d *queueDriver) ReplayUnsupported() error {
	return fmt.Errorf("rabbitmq type=%s: a queue deletes what its consumer acknowledged, so nothing can be replayed (rebuilds need type=stream): %w", d.cfg.Type, drivers.ErrUnsupported)
}

// BatchAtomic is false: a batch is N independent publishes.
func (d *queueDriver) BatchAtomic() bool { return false }

// Describe names the broker and queue layout for the result.
func (d *queueDriver) Describe() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	ver := "?"
	if d.conn != nil {
		if v, ok := d.conn.Properties["version"].(string); ok {
			ver = v
		}
	}
	return fmt.Sprintf("RabbitMQ %s, %s queue %q (%d subscriber queue(s) on fanout exchange %q, single active consumer), publisher confirms, batch = N independent publishes%s",
		ver, d.cfg.Type, d.cfg.Queue, d.cfg.Subscribers, d.exchange(), d.cfg.tlsSuffix())
}

// Close closes the connection (unconfirmed appends fail). Idempotent.
func (d *queueDriver) Close() error {
	// Stop enqueues first, without d.mu: an append blocked on a full
	// queue of jobs waits for the publisher, which needs d.mu.
	d.enqMu.Lock()
	if d.stopping {
		d.enqMu.Unlock()
		return nil
	}
	d.stopping = true
	d.enqMu.Unlock()
	close(d.stop)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.conn != nil {
		d.conn.Close()
	}
	return nil
}
