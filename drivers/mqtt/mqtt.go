// Package mqtt is the evbench driver for MQTT 5 brokers (eclipse/paho.golang):
// each event is a QoS 1 PUBLISH to "<prefix>/<key>" whose PUBACK is the
// commit, and a subscription takes "<prefix>/#" (or a shared subscription
// "$share/<group>/<prefix>/#"). A broker keeps no log: a subscription gets
// what is published while it exists, so there is no replay, no resume from
// a cursor and no rebuild (declared through drivers.ReplayReporter). Positions
// and the head are counted by this process (see lanes.go).
package mqtt

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/eclipse/paho.golang/paho"

	"github.com/evbench/evbench/drivers"
)

func init() {
	drivers.Register(drivers.Registration{
		Name:        "mqtt",
		Description: "MQTT 5 broker (QoS 1 PUBACK as commit, topic per key; no replay: rebuild unsupported; head counted by this process)",
		DSNExample:  dsnExample,
		Open: func(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
			return Open(ctx, dsn, opts)
		},
		CheckDSN: func(dsn string) error { _, err := ParseDSN(dsn); return err },
	})
}

var errClosed = errors.New("mqtt: driver closed")

// ErrNoReplay is what Subscribe returns (wrapping drivers.ErrUnsupported)
// when asked to start behind the head, and what ReplayUnsupported reports.
var ErrNoReplay = fmt.Errorf("an MQTT broker keeps no log: a subscription receives only what is published while it exists, so it cannot start from a cursor behind the head and there is nothing to rebuild from: %w", drivers.ErrUnsupported)

// Driver is one publishing connection to a broker, plus one connection per
// Subscribe. All methods are safe for concurrent use.
type Driver struct {
	cfg   Config
	opts  drivers.Options
	lanes *laneSet

	mu     sync.Mutex
	pubs   []*paho.Client // lane l publishes on pubs[l % len]; each redialled on the next Append after it died
	closed bool

	closeCtx context.Context // cancelled by Close: ends subscriptions
	closeFn  context.CancelFunc
}

var (
	_ drivers.Driver             = (*Driver)(nil)
	_ drivers.BatchAtomicity     = (*Driver)(nil)
	_ drivers.Deduplicator       = (*Driver)(nil)
	_ drivers.ReplayReporter     = (*Driver)(nil)
	_ drivers.DurabilityReporter = (*Driver)(nil)
)

// Open parses dsn and connects the publishing connection (failing within
// 5 s, naming the broker, when it does not answer).
func Open(ctx context.Context, dsn string, opts drivers.Options) (*Driver, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	warnTLS(cfg, opts)
	d := &Driver{cfg: cfg, opts: opts, lanes: lanesFor(cfg), pubs: make([]*paho.Client, cfg.Conns)}
	d.closeCtx, d.closeFn = context.WithCancel(context.Background())
	for i := range d.pubs {
		if d.pubs[i], err = d.dialPublisher(ctx); err != nil {
			d.closeFn()
			d.disconnectAll()
			return nil, err
		}
	}
	if cfg.Shared != "" {
		opts.Log("mqtt: shared=%s: subscriptions split the messages among group %s; each evbench projector needs every event, so use it with one projector per group", cfg.Shared, cfg.Shared)
	}
	return d, nil
}

func (d *Driver) dialPublisher(ctx context.Context) (*paho.Client, error) {
	return connect(ctx, d.cfg, connOptions{dial: d.opts.Dialer(), role: d.opts.Role,
		onError: func(err error) { d.opts.Log("mqtt: publisher connection: %v", err) }})
}

// Config returns the parsed DSN.
func (d *Driver) Config() Config { return d.cfg }

// Describe says what an append is on this broker.
func (d *Driver) Describe() string {
	s := fmt.Sprintf("MQTT 5 broker %s, QoS %d to %s/<key>, %d lanes (one publish in flight per lane) over %d connections, batch = N independent publishes, no replay",
		d.cfg.Addr, d.cfg.QoS, d.cfg.Topic, len(d.lanes.lanes), len(d.pubs))
	if d.cfg.Shared != "" {
		s += ", shared subscription group " + d.cfg.Shared
	}
	if d.cfg.TLS.Enabled {
		s += ", " + d.cfg.TLS.Describe()
	}
	return s
}

// client returns lane l's publishing connection, dialling a new one when
// the last one died (a broker restart, a chaos fault). A lane always uses
// the same slot, so its publishes stay on one connection, in order.
func (d *Driver) client(ctx context.Context, l int32) (*paho.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errClosed
	}
	i := int(l) % len(d.pubs)
	select {
	case <-d.pubs[i].Done():
	default:
		return d.pubs[i], nil
	}
	c, err := d.dialPublisher(ctx)
	if err != nil {
		return nil, err
	}
	d.pubs[i] = c
	return c, nil
}

// disconnectAll closes every publishing connection that was opened.
func (d *Driver) disconnectAll() {
	for _, c := range d.pubs {
		if c != nil {
			_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
		}
	}
}

// Append publishes every event and returns once each was acknowledged
// (PUBACK at QoS 1, PUBCOMP at QoS 2). Events of one lane go one at a time
// in batch order, lanes in parallel. On error some events may have landed:
// the harness treats them as ambiguous.
func (d *Driver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.isClosed() {
		return nil, errClosed
	}
	pos := make([]drivers.Position, len(batch))
	byLane := map[int32][]int{}
	var order []int32
	for i := range batch {
		l := d.lanes.laneOf(batch[i].Key)
		if _, ok := byLane[l]; !ok {
			order = append(order, l)
		}
		byLane[l] = append(byLane[l], i)
	}
	if len(order) == 1 {
		return pos, d.publishLane(ctx, order[0], batch, byLane[order[0]], pos)
	}
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for j, l := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[j] = d.publishLane(ctx, l, batch, byLane[l], pos)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return pos, nil
}

// publishLane publishes batch[idx...] on lane l, one at a time, holding the
// lane so that no other publish of its keys overtakes them.
func (d *Driver) publishLane(ctx context.Context, l int32, batch []drivers.Event, idx []int, pos []drivers.Position) error {
	ln := &d.lanes.lanes[l]
	ln.mu.Lock()
	defer ln.mu.Unlock()
	c, err := d.client(ctx, l)
	if err != nil {
		return err
	}
	for _, i := range idx {
		if err := ctx.Err(); err != nil {
			return err
		}
		off := ln.next
		ln.next++ // a failed publish may still have landed: its offset is never reused
		if _, err := c.Publish(ctx, encode(d.cfg, batch[i], l, off)); err != nil {
			return fmt.Errorf("mqtt: publish to %s/%s: %w", d.cfg.Topic, batch[i].Key, err)
		}
		if off+1 > ln.acked.Load() {
			ln.acked.Store(off + 1)
		}
		pos[i] = drivers.Position{Partition: l, Offset: off}
	}
	return nil
}

// Head is, per lane, one past the highest offset this process saw
// acknowledged for the broker and prefix, over all its connections (the
// producer's publishes count in the control connection's head). It is not
// read from the broker, which has no log to measure: it never counts what
// another process published, and it is what was acknowledged, not what a
// subscriber can still get.
func (d *Driver) Head(ctx context.Context) (drivers.Cursor, error) {
	if d.isClosed() {
		return nil, errClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return d.lanes.head(), nil
}

// BatchAtomic is false: a batch is N independent publishes.
func (d *Driver) BatchAtomic() bool { return false }

// DeduplicatesByID is false: a broker forwards a retried publish again.
func (d *Driver) DeduplicatesByID() bool { return false }

// ReplayUnsupported is always ErrNoReplay: see the package doc.
func (d *Driver) ReplayUnsupported() error { return ErrNoReplay }

func (d *Driver) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// Close disconnects the publisher and ends every subscription. It is
// idempotent.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.closeFn()
	d.disconnectAll()
	return nil
}
