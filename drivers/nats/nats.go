// Package nats is the evbench driver for NATS JetStream (nats.go's
// jetstream package). One stream holds every event; each key is a subject
// "<prefix>.<key>", and the stream sequence is the position. With an empty
// DSN the harness starts an embedded nats-server (see Embed).
package nats

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/evbench/evbench/drivers"
)

const dsnExample = "nats://127.0.0.1:4222?stream=EVBENCH"

func init() {
	drivers.Register(drivers.Registration{
		Name:        "nats",
		Description: "NATS JetStream (PubAck as commit, Nats-Msg-Id dedupe); embedded: nats-server, default sync (ack before fsync)",
		DSNExample:  dsnExample,
		Open: func(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
			return Open(ctx, dsn, opts)
		},
		CheckDSN:        func(dsn string) error { _, err := ParseDSN(dsn); return err },
		Embed:           Embed,
		ExpectedVersion: true,

		DurableConsumers: true, // durable.go: durable pull consumers
	})
}

// connectTimeout bounds Open against an unreachable server.
const connectTimeout = 5 * time.Second

var errClosed = errors.New("nats: driver closed")

// Driver is one NATS connection publishing to (and reading from) one stream.
// All methods are safe for concurrent use.
type Driver struct {
	cfg  Config
	opts drivers.Options
	nc   *nats.Conn
	js   jetstream.JetStream

	pending pendingMap // async publishes awaiting their PubAck

	mu         sync.Mutex
	dupeWindow time.Duration // the stream's actual duplicate window
	closed     bool

	closeCtx context.Context // cancelled by Close: stops subscriptions
	closeFn  context.CancelFunc

	// exp is the stream handle AppendExpected reads subjects' last
	// messages through (expected.go).
	exp expectedStream
}

var (
	_ drivers.Driver        = (*Driver)(nil)
	_ drivers.AsyncAppender = (*Driver)(nil)
	_ drivers.Resetter      = (*Driver)(nil)
	_ drivers.Deduplicator  = (*Driver)(nil)
)

// dialer adapts the harness's context dialer to nats.CustomDialer, so every
// connection (and every reconnect) goes through opts.Dialer().
type dialer struct {
	dial    drivers.DialFunc
	timeout time.Duration
}

func (d dialer) Dial(network, address string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	return d.dial(ctx, network, address)
}

// Open parses dsn, connects (failing within 5 s, naming the servers, when
// none answers), and creates the stream when missing (or drops and
// recreates it when opts.Reset). An existing stream whose storage differs or
// whose subjects do not cover the DSN's subjects is an error.
func Open(ctx context.Context, dsn string, opts drivers.Options) (*Driver, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	d := &Driver{cfg: cfg, opts: opts, pending: pendingMap{m: map[*nats.Msg]slot{}}}
	d.closeCtx, d.closeFn = context.WithCancel(context.Background())
	urls := make([]string, len(cfg.Servers))
	for i, s := range cfg.Servers {
		urls[i] = "nats://" + s
	}
	role := opts.Role
	if role == "" {
		role = "client"
	}
	nopts := []nats.Option{
		nats.Name("evbench-" + role),
		nats.SetCustomDialer(dialer{dial: opts.Dialer(), timeout: 2 * time.Second}),
		nats.Timeout(2 * time.Second),
		nats.RetryOnFailedConnect(false),
		// Reconnect for at least 2 minutes (240 x 500 ms) so a chaos fault
		// never ends a run's connection; only after that is it lost for good.
		nats.MaxReconnects(240),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(2),
	}
	auth, err := cfg.authOptions()
	if err != nil {
		return nil, err
	}
	nopts = append(nopts, auth...)
	if o := cfg.tlsOption(); o != nil {
		nopts = append(nopts, o)
	}
	if w := cfg.TLS.Warning(); w != "" {
		opts.Log("%s", w)
	}
	type result struct {
		nc  *nats.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(strings.Join(urls, ","), nopts...)
		ch <- result{nc, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-time.After(connectTimeout):
		r.err = fmt.Errorf("no answer within %s", connectTimeout)
		go func() {
			if late := <-ch; late.nc != nil {
				late.nc.Close()
			}
		}()
	}
	if r.err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w", strings.Join(cfg.Servers, ","), cfg.explain(r.err))
	}
	d.nc = r.nc
	d.js, err = jetstream.New(d.nc,
		jetstream.WithPublishAsyncMaxPending(cfg.MaxPending),
		jetstream.WithPublishAsyncTimeout(cfg.AckTimeout),
		jetstream.WithPublishAsyncAckHandler(d.pending.onAck),
		jetstream.WithPublishAsyncErrHandler(d.pending.onErr),
	)
	if err != nil {
		d.nc.Close()
		return nil, fmt.Errorf("nats: jetstream on %s: %w", strings.Join(cfg.Servers, ","), err)
	}
	if opts.Reset {
		err = d.resetStream(ctx)
	} else {
		err = d.ensureStream(ctx)
	}
	if err != nil {
		d.nc.Close()
		return nil, err
	}
	return d, nil
}

// Config returns the parsed DSN.
func (d *Driver) Config() Config { return d.cfg }

// Describe says what is known about the server's durability: JetStream's
// sync interval is server configuration a client cannot read. The default
// (2 min) acks before fsync, as does the embedded server (see Embed). Over
// TLS it ends with the TLS mode (loudly when insecure_skip_verify=true).
func (d *Driver) Describe() string {
	s := fmt.Sprintf("nats-server %s, JetStream %s storage, replicas=%d (sync interval is server-side: default acks before fsync), batch = N independent publishes",
		d.nc.ConnectedServerVersion(), d.cfg.Storage, d.cfg.Replicas)
	if d.cfg.TLS.Enabled {
		s += ", " + d.cfg.TLS.Describe()
	}
	return s
}

func (d *Driver) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// Head is Cursor{0: last stream sequence}: the next 0-based offset. It asks
// the server every time (CachedInfo would be stale).
func (d *Driver) Head(ctx context.Context) (drivers.Cursor, error) {
	if d.isClosed() {
		return nil, errClosed
	}
	s, err := d.js.Stream(ctx, d.cfg.Stream)
	if err != nil {
		return nil, fmt.Errorf("nats: head of stream %s: %w", d.cfg.Stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("nats: head of stream %s: %w", d.cfg.Stream, err)
	}
	return drivers.Cursor{0: int64(info.State.LastSeq)}, nil
}

// DeduplicatesByID is true: every message carries Nats-Msg-Id = event ID,
// and the server answers a retried ID with the original sequence, but only
// within the stream's duplicate window (dupe_window, default 2m). A retry
// later than that is stored again.
func (d *Driver) DeduplicatesByID() bool { return true }

// DupeWindow is the stream's actual duplicate window, the limit of
// DeduplicatesByID.
func (d *Driver) DupeWindow() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dupeWindow
}

// Close fails publishes still awaiting acks, stops subscriptions and closes
// the connection. It is idempotent.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.closeFn()
	d.nc.Close()
	d.pending.failAll(errClosed)
	return nil
}
