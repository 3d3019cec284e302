// Package kafka is the evbench driver for Apache Kafka (and anything that
// speaks its protocol), built on franz-go. With an empty DSN the harness
// starts an in-process kfake cluster instead (see Embed).
package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/evbench/evbench/drivers"
)

const dsnExample = "kafka://127.0.0.1:9092?topic=evbench"

func init() {
	drivers.Register(drivers.Registration{
		Name:        "kafka",
		Description: "Apache Kafka via franz-go (acks=all, idempotent producer; TLS, SASL PLAIN/SCRAM/OAUTHBEARER for managed services); embedded: kfake",
		DSNExample:  dsnExample,
		Open: func(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
			return Open(ctx, dsn, opts)
		},
		CheckDSN: func(dsn string) error { _, err := ParseDSN(dsn); return err },
		Embed:    Embed,

		DurableConsumers: true, // durable.go: consumer groups
	})
}

// pingTimeout bounds Open against an unreachable broker.
const pingTimeout = 5 * time.Second

var errClosed = errors.New("kafka: driver closed")

// Driver is one franz-go client producing to (and reading from) one topic.
// All methods are safe for concurrent use.
type Driver struct {
	cfg  Config
	opts drivers.Options

	mu         sync.RWMutex
	cl         *kgo.Client // producer and admin client; replaced by Reset
	partitions int32       // actual partition count of the topic

	closeCtx context.Context // cancelled by Close: stops subscriptions
	closeFn  context.CancelFunc
	once     sync.Once
}

var (
	_ drivers.Driver        = (*Driver)(nil)
	_ drivers.AsyncAppender = (*Driver)(nil)
	_ drivers.Resetter      = (*Driver)(nil)
	_ drivers.Deduplicator  = (*Driver)(nil)
)

// Open parses dsn, connects (failing within 5 s, naming the brokers, when
// none answers), and creates the topic when missing (or drops and recreates
// it when opts.Reset).
func Open(ctx context.Context, dsn string, opts drivers.Options) (*Driver, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	d := &Driver{cfg: cfg, opts: opts}
	cfg.Security.warn(opts) // security.go
	d.closeCtx, d.closeFn = context.WithCancel(context.Background())
	cl, err := d.newClient(d.producerOpts()...)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		if ctx.Err() == nil && pctx.Err() != nil {
			err = fmt.Errorf("no broker answered within %s", pingTimeout)
		}
		err = cfg.Security.explainConnect(err) // security.go
		return nil, fmt.Errorf("kafka: connect to %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	d.cl = cl
	if opts.Reset {
		err = d.resetTopic(ctx, cl)
	} else {
		err = d.ensureTopic(ctx, cl)
	}
	if err != nil {
		cl.Close()
		return nil, err
	}
	return d, nil
}

// Describe says what the client asked for; durability beyond it (fsync
// policy, replication factor, min.insync.replicas) is broker configuration
// a client does not see: by default Kafka acks from the page cache and relies
// on replication, not fsync.
func (d *Driver) Describe() string {
	idem := "idempotent"
	if !d.cfg.Idempotent {
		idem = "not idempotent"
	}
	return fmt.Sprintf("kafka topic %s, %d partitions, acks=%s, %s, compression=%s, linger=%s, %s (broker fsync policy not visible to clients), batch = N independent produces",
		d.cfg.Topic, d.partitions, d.cfg.Acks, idem, d.cfg.Compression, d.cfg.Linger, d.cfg.Security.describe())
}

// Config returns the parsed DSN.
func (d *Driver) Config() Config { return d.cfg }

// baseOpts are shared by the producer and every consumer client. The
// retry/timeout settings keep a dead or partitioned broker from hanging any
// call: requests fail after ProduceRequestTimeout+RequestTimeoutOverhead and
// metadata is refreshed quickly so a moved leader is found again.
func (d *Driver) baseOpts() []kgo.Opt {
	role := d.opts.Role
	if role == "" {
		role = "client"
	}
	dial := d.opts.Dialer()
	if d.cfg.Security.tlsConfig != nil {
		// The handshake runs on the harness dialer's connection (the chaos
		// proxies' hook): kgo.DialTLSConfig cannot be combined with
		// kgo.Dialer, and would bypass it.
		dial = d.cfg.Security.tls.Dial(dial)
	}
	o := []kgo.Opt{
		kgo.SeedBrokers(d.cfg.Brokers...),
		kgo.ClientID("evbench-" + role),
		kgo.Dialer(boundedDial(dial, dialTimeout)),
		kgo.RequestTimeoutOverhead(2 * time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 200 * time.Millisecond }),
		kgo.MetadataMinAge(250 * time.Millisecond),
	}
	if m := d.cfg.Security.saslMechanism(); m != nil {
		o = append(o, kgo.SASL(m))
	}
	return o
}

// producerOpts configure a producer that fails instead of hanging.
//
// The default idempotent producer retries a record forever, and cancelling
// its ctx does not free a record already sent (NOTES.md). We bound it with
// RecordDeliveryTimeout (delivery_timeout, default 5s) and
// AllowIdempotentProduceCancellation, so an append to an unreachable or
// partitioned broker fails after about delivery_timeout. The price: a
// timed-out record may still land, and an application-level retry of it is
// not deduplicated by the broker; the harness counts such events as
// ambiguous ("unexpected"), never as lost.
//
// Per-key order: a key always maps to one partition (murmur2), and the
// client keeps one buffer per partition, drained to its leader in Produce
// call order. With idempotence up to 5 produce requests per broker are in
// flight, and the broker appends a partition's batches only in sequence
// number order, so a retried batch cannot be overtaken (a sequence error,
// which means the broker lost data, is past what a client can order).
// Without idempotence franz-go allows 1 request per broker
// (MaxProduceRequestsInflightPerBroker, default 1; never raise it: more
// may reorder on retry), so a retried request goes out again before
// anything after it. What can still land out of order is an event whose
// append failed: a record timed out or cancelled (delivery_timeout,
// AllowIdempotentProduceCancellation) may land after later ones, and a
// non-idempotent retry may store a record twice.
func (d *Driver) producerOpts() []kgo.Opt {
	o := []kgo.Opt{
		kgo.DefaultProduceTopic(d.cfg.Topic),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), // murmur2 of the key, as the Java client
		kgo.ProducerLinger(d.cfg.Linger),
		kgo.ProduceRequestTimeout(time.Second),
		kgo.RecordDeliveryTimeout(d.cfg.DeliveryTimeout),
		kgo.ProducerBatchCompression(codec(d.cfg.Compression)),
	}
	switch d.cfg.Acks {
	case "all":
		o = append(o, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "leader":
		o = append(o, kgo.RequiredAcks(kgo.LeaderAck()))
	case "none":
		o = append(o, kgo.RequiredAcks(kgo.NoAck()))
	}
	if d.cfg.Idempotent {
		o = append(o, kgo.AllowIdempotentProduceCancellation())
	} else {
		o = append(o, kgo.DisableIdempotentWrite())
	}
	return o
}

// dialTimeout bounds one connection attempt.
const dialTimeout = 3 * time.Second

// boundedDial puts a deadline on every dial: kgo applies its DialTimeout
// only to its own net.Dialer, not to a custom Dialer, so a dial that never
// completes (a partition in front of a proxy) would stall the client.
func boundedDial(dial drivers.DialFunc, timeout time.Duration) drivers.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return dial(ctx, network, addr)
	}
}

func codec(name string) kgo.CompressionCodec {
	switch name {
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

func (d *Driver) newClient(extra ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append(d.baseOpts(), extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: client for %s: %w", strings.Join(d.cfg.Brokers, ","), err)
	}
	return cl, nil
}

func (d *Driver) client() (*kgo.Client, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.cl == nil {
		return nil, errClosed
	}
	return d.cl, nil
}

// Head returns the high watermark of every partition: everything before it
// is committed (acks=all) and readable.
func (d *Driver) Head(ctx context.Context) (drivers.Cursor, error) {
	cl, err := d.client()
	if err != nil {
		return nil, err
	}
	var offs kadm.ListedOffsets
	for attempt := 0; ; attempt++ {
		offs, err = kadm.NewClient(cl).ListEndOffsets(ctx, d.cfg.Topic)
		if err == nil {
			err = offs.Error()
		}
		// Right after a create or reset the client's cached metadata may
		// not know the topic yet: refresh and ask again, briefly.
		if errors.Is(err, kerr.UnknownTopicOrPartition) && attempt < 20 {
			cl.ForceMetadataRefresh()
			if serr := sleepCtx(ctx, 100*time.Millisecond); serr != nil {
				return nil, serr
			}
			continue
		}
		break
	}
	if err != nil {
		return nil, fmt.Errorf("kafka: head of topic %s: %w", d.cfg.Topic, err)
	}
	head := drivers.Cursor{}
	offs.Each(func(o kadm.ListedOffset) { head[o.Partition] = o.Offset })
	return head, nil
}

// DeduplicatesByID is false: the idempotent producer only dedupes its own
// internal retries; an Append retried by the application with the same event
// IDs is written again.
func (d *Driver) DeduplicatesByID() bool { return false }

// Close closes the producer and stops every running Subscribe. It is
// idempotent; buffered records not yet acked fail with a "client closed"
// error.
func (d *Driver) Close() error {
	d.once.Do(func() {
		d.closeFn()
		d.mu.Lock()
		cl := d.cl
		d.cl = nil
		d.mu.Unlock()
		if cl != nil {
			cl.Close()
		}
	})
	return nil
}
