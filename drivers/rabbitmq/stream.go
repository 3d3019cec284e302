package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/rabbitmq/rabbitmq-stream-go-client/pkg/amqp"
	"github.com/rabbitmq/rabbitmq-stream-go-client/pkg/logs"
	"github.com/rabbitmq/rabbitmq-stream-go-client/pkg/message"
	"github.com/rabbitmq/rabbitmq-stream-go-client/pkg/stream"

	"github.com/evbench/evbench/drivers"
)

// streamDriver is type=stream: a RabbitMQ stream over the stream protocol.
// The confirm is the commit; positions are stream offsets, so Subscribe
// starts anywhere and rebuilds work.
type streamDriver struct {
	cfg  Config
	opts drivers.Options
	head *headState
	env  *stream.Environment
	sem  chan struct{}

	mu       sync.Mutex // guards producer, closed, pending; held while sending (send order = stream order)
	producer *stream.Producer
	closed   bool
	pending  map[message.StreamMessage]*streamSlot
	// buf holds messages lingering for the next frame (linger=).
	buf         []message.StreamMessage
	lingerTimer *time.Timer
}

// streamBatch is one AppendAsync awaiting its confirms.
type streamBatch struct {
	pos       []drivers.Position
	remaining int
	err       error
	done      chan struct{}
}

type streamSlot struct {
	b   *streamBatch
	idx int
}

var (
	_ drivers.Driver             = (*streamDriver)(nil)
	_ drivers.AsyncAppender      = (*streamDriver)(nil)
	_ drivers.Resetter           = (*streamDriver)(nil)
	_ drivers.DurabilityReporter = (*streamDriver)(nil)
	_ drivers.BatchAtomicity     = (*streamDriver)(nil)
)

// quietLogs silences the stream client's process-wide logger (it prints
// every connection event to stderr); its errors reach us through its API.
type quietLogs struct{}

func (quietLogs) Info(string, ...any)  {}
func (quietLogs) Error(string, ...any) {}
func (quietLogs) Debug(string, ...any) {}
func (quietLogs) Warn(string, ...any)  {}

var quietOnce sync.Once

// errNoDialer is why type=stream refuses network faults.
var errNoDialer = errors.New("rabbitmq: type=stream: rabbitmq-stream-go-client dials with net.DialTCP and takes no custom dialer, so network faults cannot be injected; use type=quorum or type=classic for fault scenarios, or remove the faults (--set faults=[])")

func openStream(ctx context.Context, cfg Config, opts drivers.Options) (*streamDriver, error) {
	if opts.Dial != nil {
		return nil, errNoDialer
	}
	if err := checkStreamPort(ctx, cfg); err != nil {
		return nil, err
	}
	quietOnce.Do(func() { logs.SetLogger(quietLogs{}) })
	host, _, _ := net.SplitHostPort(cfg.Addr)
	eo := stream.NewEnvironmentOptions().SetHost(host).SetPort(cfg.StreamPort).
		SetUser(cfg.User).SetPassword(cfg.Password).SetVHost(cfg.VHost).
		// The broker advertises its node name; every connection goes to the
		// DSN's address instead.
		SetAddressResolver(stream.AddressResolver{Host: host, Port: cfg.StreamPort}).
		SetRPCTimeout(5 * time.Second).
		// The client's 8 KiB default socket buffers shrink the TCP window:
		// with delayed ACKs a consumer read ~200 KB/s here (270 events/s
		// of 600 B). 1 MiB lets a consumer keep up with the producer.
		SetReadBuffer(1 << 20).SetWriteBuffer(1 << 20)
	if cfg.TLS.Enabled {
		// The client runs the handshake itself on every connection it
		// opens (locator, producer, consumers), all to the address above.
		eo = eo.IsTLS(true).SetTLSConfig(cfg.TLS.ClientConfig(cfg.streamAddr()))
	}
	type result struct {
		env *stream.Environment
		err error
	}
	ch := make(chan result, 1)
	go func() { e, err := stream.NewEnvironment(eo); ch <- result{e, err} }()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		go func() {
			if late := <-ch; late.env != nil {
				late.env.Close()
			}
		}()
		return nil, fmt.Errorf("rabbitmq: type=stream: connect to %s: %w", cfg.streamAddr(), ctx.Err())
	}
	if r.err != nil {
		if cfg.TLS.Enabled {
			if perr := probeStreamTLS(ctx, cfg); perr != nil {
				r.err = perr
			}
		}
		return nil, fmt.Errorf("rabbitmq: type=stream: connect to %s vhost %q: %w", cfg.streamAddr(), cfg.VHost, r.err)
	}
	d := &streamDriver{cfg: cfg, opts: opts, head: headFor(cfg), env: r.env, sem: make(chan struct{}, cfg.MaxInFlight),
		pending: map[message.StreamMessage]*streamSlot{}}
	if opts.Reset {
		if err := d.env.DeleteStream(cfg.Queue); err != nil && !errors.Is(err, stream.StreamDoesNotExist) {
			d.env.Close()
			return nil, fmt.Errorf("rabbitmq: reset: delete stream %q: %w", cfg.Queue, err)
		}
		d.head.reset()
	}
	if err := d.env.DeclareStream(cfg.Queue, stream.NewStreamOptions()); err != nil {
		d.env.Close()
		return nil, fmt.Errorf("rabbitmq: declare stream %q: %w (a queue of another type has this name: delete it or choose another queue=)", cfg.Queue, err)
	}
	if err := d.findBase(ctx); err != nil {
		d.env.Close()
		return nil, err
	}
	return d, nil
}

// findBase establishes, once per process and stream, the stream's end:
// 0 for a stream created (or reset) here, else one past the last offset,
// read by consuming the last chunk.
func (d *streamDriver) findBase(ctx context.Context) error {
	d.head.mu.Lock()
	known := d.head.known
	d.head.mu.Unlock()
	if known {
		return nil
	}
	var mu sync.Mutex
	last := int64(-1)
	got := make(chan struct{}, 1)
	c, err := d.env.NewConsumer(d.cfg.Queue, func(cc stream.ConsumerContext, _ *amqp.Message) {
		mu.Lock()
		if o := cc.Consumer.GetOffset(); o > last {
			last = o
		}
		mu.Unlock()
		select {
		case got <- struct{}{}:
		default:
		}
	}, stream.NewConsumerOptions().SetOffset(stream.OffsetSpecification{}.Last()))
	if err != nil {
		return fmt.Errorf("rabbitmq: find the end of stream %q: %w", d.cfg.Queue, err)
	}
	// An empty stream sends nothing; a chunk arrives in milliseconds.
	select {
	case <-got:
		time.Sleep(100 * time.Millisecond) // the rest of the last chunk
	case <-time.After(300 * time.Millisecond):
	case <-ctx.Done():
	}
	c.Close()
	mu.Lock()
	end := last + 1
	mu.Unlock()
	d.head.mu.Lock()
	if !d.head.known {
		d.head.base, d.head.acked, d.head.known = end, 0, true
	}
	d.head.mu.Unlock()
	return nil
}

// Reset deletes the stream and declares it again, empty.
func (d *streamDriver) Reset(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.producer != nil {
		d.producer.Close()
		d.producer = nil
	}
	if err := d.env.DeleteStream(d.cfg.Queue); err != nil && !errors.Is(err, stream.StreamDoesNotExist) {
		return fmt.Errorf("rabbitmq: reset: delete stream %q: %w", d.cfg.Queue, err)
	}
	d.head.reset()
	if err := d.env.DeclareStream(d.cfg.Queue, stream.NewStreamOptions()); err != nil {
		return fmt.Errorf("rabbitmq: reset: declare stream %q: %w", d.cfg.Queue, err)
	}
	return nil
}

// producerLocked returns the producer, creating it (and its confirm
// reader) on first use or after it closed.
func (d *streamDriver) producerLocked() (*stream.Producer, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.producer != nil {
		return d.producer, nil
	}
	po := stream.NewProducerOptions().SetConfirmationTimeOut(d.cfg.ConfirmTimeout).
		SetClientProvidedName("evbench-" + d.opts.Role)
	p, err := d.env.NewProducer(d.cfg.Queue, po)
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: producer on stream %q: %w", d.cfg.Queue, err)
	}
	d.producer = p
	// Registered before the first send: the client assigns it unsynchronised.
	go d.confirms(p, p.NotifyPublishConfirmation())
	return p, nil
}

// confirms assigns offsets in confirm order (publishing-id order, the
// stream's order for one producer) and completes batches.
func (d *streamDriver) confirms(p *stream.Producer, ch stream.ChannelPublishConfirm) {
	for sts := range ch {
		sort.Slice(sts, func(i, j int) bool { return sts[i].GetPublishingId() < sts[j].GetPublishingId() })
		for _, st := range sts {
			d.mu.Lock() // also guards the batch's fields
			slot := d.pending[st.GetMessage()]
			delete(d.pending, st.GetMessage())
			if slot == nil {
				d.mu.Unlock()
				continue
			}
			if st.IsConfirmed() {
				slot.b.pos[slot.idx] = drivers.Position{Offset: d.head.streamAck()}
			} else if slot.b.err == nil {
				slot.b.err = fmt.Errorf("rabbitmq: append to stream %q: not confirmed: %v", d.cfg.Queue, st.GetError())
			}
			if slot.b.remaining--; slot.b.remaining == 0 {
				close(slot.b.done)
			}
			d.mu.Unlock()
			<-d.sem
		}
	}
	// The producer closed: fail what it still owed.
	d.mu.Lock()
	if d.producer == p {
		d.producer = nil
	}
	d.mu.Unlock()
}

// Append sends the batch and waits for its confirms.
func (d *streamDriver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	return drivers.AppendAndWait(ctx, d, batch)
}

// AppendAsync sends the batch in one frame and calls done once every
// message is confirmed, or on a failure, the confirm timeout or ctx end.
func (d *streamDriver) AppendAsync(ctx context.Context, batch []drivers.Event, done func([]drivers.Position, error)) {
	if err := ctx.Err(); err != nil {
		done(nil, fmt.Errorf("rabbitmq: append: %w", err))
		return
	}
	for range batch {
		select {
		case d.sem <- struct{}{}:
		case <-ctx.Done():
			done(nil, fmt.Errorf("rabbitmq: append: waiting for room among %d unconfirmed messages: %w", d.cfg.MaxInFlight, ctx.Err()))
			return
		}
	}
	b := &streamBatch{pos: make([]drivers.Position, len(batch)), remaining: len(batch), done: make(chan struct{})}
	msgs := make([]message.StreamMessage, len(batch))
	for i := range batch {
		body, err := encode(&batch[i], 0)
		if err != nil {
			for range batch {
				<-d.sem
			}
			done(nil, fmt.Errorf("rabbitmq: append: %w", err))
			return
		}
		msgs[i] = amqp.NewMessage(body)
	}
	d.mu.Lock()
	_, err := d.producerLocked()
	if err == nil {
		for i, m := range msgs {
			d.pending[m] = &streamSlot{b: b, idx: i}
		}
		d.buf = append(d.buf, msgs...)
		switch {
		case d.cfg.Linger <= 0 || len(d.buf) >= lingerMax:
			d.flushLocked()
		case d.lingerTimer == nil:
			d.lingerTimer = time.AfterFunc(d.cfg.Linger, d.flush)
		}
	}
	d.mu.Unlock()
	if err != nil {
		d.release(len(batch))
		done(nil, fmt.Errorf("rabbitmq: append to stream %q: %w", d.cfg.Queue, err))
		return
	}
	go func() {
		timer := time.NewTimer(d.cfg.ConfirmTimeout + time.Second) // the client's own timeout fires first
		defer timer.Stop()
		select {
		case <-b.done:
			d.mu.Lock()
			err := b.err
			d.mu.Unlock()
			if err != nil {
				done(nil, err)
				return
			}
			done(b.pos, nil)
		case <-timer.C:
			done(nil, fmt.Errorf("rabbitmq: append to stream %q: no confirm within confirm_timeout=%s", d.cfg.Queue, d.cfg.ConfirmTimeout))
		case <-ctx.Done():
			done(nil, fmt.Errorf("rabbitmq: append to stream %q: waiting for confirm: %w", d.cfg.Queue, ctx.Err()))
		}
	}()
}

// lingerMax flushes the linger buffer early: one frame of this many
// messages is well inside the broker's frame size for evbench's events.
const lingerMax = 1000

func (d *streamDriver) release(n int) {
	for i := 0; i < n; i++ {
		<-d.sem
	}
}

func (d *streamDriver) flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.flushLocked()
}

// flushLocked sends the linger buffer as one frame: the broker writes it
// as one chunk, which a consumer reads with one credit. Streams read
// per chunk, so one-message chunks (an append sent alone at a low rate)
// cap consumers at a few hundred chunks a second on a busy machine.
func (d *streamDriver) flushLocked() {
	if d.lingerTimer != nil {
		d.lingerTimer.Stop()
		d.lingerTimer = nil
	}
	if len(d.buf) == 0 {
		return
	}
	buf := d.buf
	d.buf = nil
	var err error
	if d.producer == nil {
		err = errClosed
	} else {
		err = d.producer.BatchSend(buf)
	}
	if err == nil {
		return
	}
	for _, m := range buf {
		slot := d.pending[m]
		delete(d.pending, m)
		if slot == nil {
			continue
		}
		if slot.b.err == nil {
			slot.b.err = fmt.Errorf("rabbitmq: append to stream %q: %w", d.cfg.Queue, err)
		}
		if slot.b.remaining--; slot.b.remaining == 0 {
			close(slot.b.done)
		}
		<-d.sem
	}
}

// Head is the stream's end as this process knows it: the end found at
// open plus every message confirmed since (see headState).
func (d *streamDriver) Head(ctx context.Context) (drivers.Cursor, error) {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	return drivers.Cursor{0: d.head.streamHead()}, nil
}

// Subscribe reads the stream from the cursor's offset (catch-up, then
// live) through a stream consumer.
func (d *streamDriver) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return errClosed
	}
	in := make(chan drivers.Delivered, 4096)
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	start := from[0]
	c, err := d.env.NewConsumer(d.cfg.Queue, func(cc stream.ConsumerContext, m *amqp.Message) {
		off := cc.Consumer.GetOffset()
		if off < start {
			return // the chunk holding start begins before it
		}
		ev, _, err := decode(m.GetData())
		if err != nil {
			d.opts.Log("rabbitmq: stream %q: skipping a message evbench did not write at offset %d", d.cfg.Queue, off)
			return
		}
		select {
		case in <- drivers.Delivered{Event: ev, Position: drivers.Position{Offset: off}}:
		case <-stop:
		}
	}, stream.NewConsumerOptions().SetOffset(stream.OffsetSpecification{}.Offset(start)).
		SetClientProvidedName("evbench-"+d.opts.Role+"-"+strconv.FormatInt(start, 10)).SetCRCCheck(false))
	// The client's default of 10 initial credits (chunks) is kept: with
	// 1000, reading a stream of small chunks here was 20x slower.
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("rabbitmq: subscribe to stream %q at offset %d: %w", d.cfg.Queue, start, err)
	}
	defer func() { halt(); c.Close() }()
	closed2 := c.NotifyClose()
	batch := make([]drivers.Delivered, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return nil
		case ev := <-closed2:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("rabbitmq: subscription to stream %q closed: %s %v", d.cfg.Queue, ev.Reason, ev.Err)
		case dl := <-in:
			batch = append(batch, dl)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case dl := <-in:
				batch = append(batch, dl)
			default:
				break fill
			}
		}
		if err := deliver(batch); err != nil {
			return err
		}
	}
}

// Durability reports the stream's confirm semantics.
func (d *streamDriver) Durability(context.Context) (drivers.Durability, error) {
	return durabilityOf(TypeStream), nil
}

// BatchAtomic is false: a batch is N messages in one frame, each
// confirmed on its own.
func (d *streamDriver) BatchAtomic() bool { return false }

// Describe names the stream for the result.
func (d *streamDriver) Describe() string {
	return fmt.Sprintf("RabbitMQ stream %q via the stream protocol at %s (offset replay), confirms after replication without fsync, batch = N messages in one frame%s",
		d.cfg.Queue, d.cfg.streamAddr(), d.cfg.tlsSuffix())
}

// Close closes the producer (unconfirmed appends fail) and every
// connection. Idempotent.
func (d *streamDriver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.flushLocked()
	d.closed = true
	p := d.producer
	d.producer = nil
	d.mu.Unlock()
	if p != nil {
		p.Close()
	}
	return d.env.Close()
}
