// Package pubsub is the evbench driver for Google Cloud Pub/Sub
// (cloud.google.com/go/pubsub/v2). One topic holds every event; the event
// key is the ordering key, so events of one key arrive in publish order on
// subscriptions with message ordering enabled. Each projector reads its own
// subscription, so each gets every event.
//
// Pub/Sub is a queue, not a log: an acknowledged message is gone for that
// subscription, so there is no replay from a cursor (rebuild is declared
// unsupported, see CanReplay) and the service exposes no head offset. Head
// and positions are therefore counted in this process (see Head). With an
// empty DSN the harness starts pstest, the client library's in-process fake,
// and the run is labelled emulated.
package pubsub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	ps "cloud.google.com/go/pubsub/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/evbench/evbench/drivers"
)

func init() {
	drivers.Register(drivers.Registration{
		Name:        "pubsub",
		Description: "Google Cloud Pub/Sub (publish result as commit, ordering key = event key, one subscription per projector; no replay); embedded: pstest fake, labelled emulated",
		DSNExample:  dsnExample,
		Open: func(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
			return Open(ctx, dsn, opts)
		},
		CheckDSN:       func(dsn string) error { _, err := ParseDSN(dsn); return err },
		Embed:          Embed,
		CheckConsumers: CheckConsumers,
	})
}

var errClosed = errors.New("pubsub: driver closed")

// Driver is one Pub/Sub client publishing to one topic and reading its
// subscriptions. All methods are safe for concurrent use.
type Driver struct {
	cfg    Config
	opts   drivers.Options
	client *ps.Client
	pub    *ps.Publisher
	head   *atomic.Int64 // acknowledged publishes in this process (Head)

	mu     sync.Mutex
	inUse  []bool // subscriptions held by a running Subscribe
	closed bool

	closeCtx context.Context // cancelled by Close: stops subscriptions
	closeFn  context.CancelFunc
}

var (
	_ drivers.Driver             = (*Driver)(nil)
	_ drivers.AsyncAppender      = (*Driver)(nil)
	_ drivers.Resetter           = (*Driver)(nil)
	_ drivers.Deduplicator       = (*Driver)(nil)
	_ drivers.BatchAtomicity     = (*Driver)(nil)
	_ drivers.DurabilityReporter = (*Driver)(nil)
	_ drivers.EmulationReporter  = (*Driver)(nil)
	_ drivers.ReplayReporter     = (*Driver)(nil)
)

// heads holds one publish counter per topic for the whole process, so the
// control connection's Head sees what the producer connection published.
var heads sync.Map // topic key -> *atomic.Int64

func headFor(cfg Config) *atomic.Int64 {
	v, _ := heads.LoadOrStore(cfg.Endpoint+"|"+cfg.Project+"/"+cfg.Topic, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// clientOptions routes every gRPC connection through the harness's dialer
// (the chaos proxies), and for an emulator uses plaintext without
// credentials. Against the service, credentials come from the environment
// as the Google client finds them; its token requests (OAuth, metadata
// server) are HTTP calls the dial hook does not see.
func clientOptions(cfg Config, opts drivers.Options) []option.ClientOption {
	dial := opts.Dialer()
	o := []option.ClientOption{
		option.WithGRPCDialOption(grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return dial(ctx, "tcp", addr)
		})),
		option.WithTelemetryDisabled(),
	}
	if cfg.Endpoint != "" {
		o = append(o, option.WithEndpoint(cfg.Endpoint))
	}
	if cfg.Emulator {
		o = append(o, option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	return o
}

// Open parses dsn, connects, and makes sure the topic and the DSN's
// subscriptions exist (subscriptions with message ordering enabled); with
// opts.Reset it deletes and recreates them first, dropping any backlog.
func Open(ctx context.Context, dsn string, opts drivers.Options) (*Driver, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	client, err := ps.NewClient(ctx, cfg.Project, clientOptions(cfg, opts)...)
	if err != nil {
		return nil, fmt.Errorf("pubsub: client for project %s: %w", cfg.Project, err)
	}
	d := &Driver{cfg: cfg, opts: opts, client: client, head: headFor(cfg), inUse: make([]bool, cfg.Subscriptions)}
	d.closeCtx, d.closeFn = context.WithCancel(context.Background())
	if opts.Reset {
		err = d.Reset(ctx)
	} else {
		err = d.ensure(ctx)
	}
	if err != nil {
		client.Close()
		return nil, err
	}
	d.pub = client.Publisher(cfg.Topic)
	d.pub.EnableMessageOrdering = true
	d.pub.PublishSettings.DelayThreshold = cfg.PublishDelay
	return d, nil
}

// Config returns the parsed DSN.
func (d *Driver) Config() Config { return d.cfg }

// Describe says what runs and what the numbers mean.
func (d *Driver) Describe() string {
	where := "Google Cloud Pub/Sub"
	if d.cfg.Endpoint != "" {
		where += " at " + d.cfg.Endpoint
	}
	if d.cfg.Emulator {
		where = "Pub/Sub emulator at " + d.cfg.Endpoint
	}
	return fmt.Sprintf("%s, project %s, topic %s, %d ordered subscription(s); head and lag counted in this process; batch = N independent publishes",
		where, d.cfg.Project, d.cfg.Topic, d.cfg.Subscriptions)
}

func (d *Driver) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// Head is Cursor{0: publishes acknowledged by this process on the topic}.
// Pub/Sub has no head offset a client can read (backlog metrics live in
// Cloud Monitoring, minutes late), so lag is this process's acknowledged
// publishes minus a projector's deliveries: exact for a single-process run,
// blind to publishers elsewhere.
func (d *Driver) Head(ctx context.Context) (drivers.Cursor, error) {
	if d.isClosed() {
		return nil, errClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return drivers.Cursor{0: d.head.Load()}, nil
}

// DeduplicatesByID is false: Pub/Sub stores a retried publish again (it has
// no publish-side deduplication).
func (d *Driver) DeduplicatesByID() bool { return false }

// BatchAtomic is false: a batch is N publishes, each acknowledged alone.
func (d *Driver) BatchAtomic() bool { return false }

// ReplayUnsupported says why there is no replay: an acknowledged message
// is gone for its subscription. Seek to a timestamp or snapshot exists, but
// it moves a whole subscription to a point in time, not to an evbench
// cursor, and needs retained acknowledged messages: a rebuild built on it
// would not be the rebuild the other drivers measure.
func (d *Driver) ReplayUnsupported() error {
	return fmt.Errorf("pubsub: %w: Pub/Sub is a queue (acknowledged messages are gone for their subscription; seek moves a subscription to a time, not to a cursor)", drivers.ErrUnsupported)
}

// Emulated is true for an emulator endpoint (emulator=true, pstest,
// PUBSUB_EMULATOR_HOST).
func (d *Driver) Emulated() (bool, string) {
	if !d.cfg.Emulator {
		return false, ""
	}
	return true, "Pub/Sub emulator at " + d.cfg.Endpoint
}

// Durability says what a publish acknowledgement means. The service's
// documentation says a publish is acknowledged once the message is
// persisted in more than one zone; no fsync is visible to a client. An
// emulator (pstest, gcloud's emulator) keeps messages in memory only.
func (d *Driver) Durability(ctx context.Context) (drivers.Durability, error) {
	if d.cfg.Emulator {
		return drivers.Durability{AckAfterFsync: drivers.AckAfterFsyncFalse, Replication: "none (emulator, in memory)",
			Detail: "emulator at " + d.cfg.Endpoint + ": messages kept in memory, an ack is not durable", Source: "DSN (emulator=true)"}, nil
	}
	return drivers.Durability{AckAfterFsync: drivers.AckAfterFsyncUnknown, Replication: "multi-zone (service documentation)",
		Detail: "Pub/Sub acknowledges a publish after persisting it in more than one zone; whether that includes an fsync is not exposed",
		Source: "service documentation"}, nil
}

// Close stops the publisher (flushing what is pending), ends
// subscriptions and closes the client. It is idempotent.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.closeFn()
	d.pub.Stop()
	return d.client.Close()
}
