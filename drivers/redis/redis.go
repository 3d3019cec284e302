// Package redis is the evbench driver for Redis Streams (go-redis v9).
//
// Each shard is one stream (partition); a key always hashes to the same
// shard, so its events keep their order there. An append is XADD with the
// explicit ID "0-*" (Redis 7.0+): the server picks the next sequence in
// millisecond 0, so the entry IDs of a stream are 0-1, 0-2, ... and an
// entry's offset is its ID's sequence minus one, dense and 0-based, with
// no mapping to store. A cursor offset o resumes after entry 0-o.
//
// Acknowledgement: Redis replies once the command ran in memory. Only with
// appendonly yes and appendfsync always does the reply follow an fsync of
// the append-only file; the Durability label reads the server's settings.
package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/keyroute"
)

// quietLogger drops go-redis's own log lines (pool dial failures and the
// like, printed to stderr by default): the driver returns every error it
// meets, wrapped with context, and the CLI prints those scrubbed.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func init() {
	goredis.SetLogger(quietLogger{})
	drivers.Register(drivers.Registration{
		Name:        "redis",
		Description: "Redis Streams (XADD in MULTI/EXEC as commit, consumer groups); acks before fsync unless appendonly yes + appendfsync always",
		DSNExample:  dsnExample,
		Open: func(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
			return Open(ctx, dsn, opts)
		},
		CheckDSN:         func(dsn string) error { _, err := ParseDSN(dsn); return err },
		DurableConsumers: true, // durable.go: consumer groups, XREADGROUP + XACK
	})
}

var errClosed = errors.New("redis: driver closed")

// Driver is one go-redis client (a pool of connections to one server)
// appending to and reading from the DSN's streams. All methods are safe
// for concurrent use.
type Driver struct {
	cfg    Config
	opts   drivers.Options
	client *goredis.Client
	keys   []string // stream key per shard
	lanes  []*lane
	route  *keyroute.Router

	server serverInfo // read at Open (durability.go)

	mu     sync.Mutex
	closed bool

	closeCtx context.Context // cancelled by Close: stops lanes and subscriptions
	closeFn  context.CancelFunc
	lanesWG  sync.WaitGroup
}

var (
	_ drivers.Driver         = (*Driver)(nil)
	_ drivers.AsyncAppender  = (*Driver)(nil)
	_ drivers.Resetter       = (*Driver)(nil)
	_ drivers.Deduplicator   = (*Driver)(nil)
	_ drivers.BatchAtomicity = (*Driver)(nil)
)

// minVersion is the first Redis that takes XADD's "<ms>-*" ID form.
const minVersion = 7

// Open parses dsn, connects (every connection through opts.Dialer()),
// checks the server is Redis 7.0 or later, reads its persistence settings
// for the durability label, and with opts.Reset deletes the streams.
func Open(ctx context.Context, dsn string, opts drivers.Options) (*Driver, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	role := opts.Role
	if role == "" {
		role = "client"
	}
	if w := cfg.TLS.Warning(); w != "" {
		opts.Log("%s", w)
	}
	d := &Driver{cfg: cfg, opts: opts, route: keyroute.New(cfg.Conns)}
	d.closeCtx, d.closeFn = context.WithCancel(context.Background())
	for i := 0; i < cfg.Shards; i++ {
		d.keys = append(d.keys, cfg.streamKey(i))
	}
	d.client = goredis.NewClient(&goredis.Options{
		Addr:       cfg.Addr,
		Dialer:     dialer(cfg, opts.Dialer()),
		Username:   cfg.User,
		Password:   cfg.Password,
		DB:         cfg.DB,
		ClientName: "evbench-" + role,
		Protocol:   2,
		// No retries inside the client: a retried XADD after a lost reply
		// would store the events twice behind the harness's back. The
		// harness decides about retries (load.retry) and counts them.
		MaxRetries:               -1,
		DialTimeout:              min(cfg.Timeout, 3*time.Second),
		DialerRetries:            1,
		ReadTimeout:              cfg.Timeout,
		WriteTimeout:             cfg.Timeout,
		PoolTimeout:              cfg.Timeout,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	if err := d.handshake(ctx); err != nil {
		d.client.Close()
		return nil, err
	}
	if opts.Reset {
		if err := d.Reset(ctx); err != nil {
			d.client.Close()
			return nil, err
		}
	}
	for i := 0; i < cfg.Conns; i++ {
		l := &lane{d: d, wake: make(chan struct{}, 1)}
		d.lanes = append(d.lanes, l)
		d.lanesWG.Add(1)
		go l.run()
	}
	return d, nil
}

// dialer routes every connection through the harness's dial hook (so
// chaos faults reach it), bounded by the DSN timeout, with TLS on top when
// the DSN asks for it. go-redis applies Options.TLSConfig only inside its
// default dialer (NewDialer), which a custom Options.Dialer replaces, so
// TLSConfig stays nil and the handshake happens here, exactly once, on the
// connection the harness dialer made.
func dialer(cfg Config, dial drivers.DialFunc) func(ctx context.Context, network, addr string) (net.Conn, error) {
	dial = cfg.TLS.Dial(dial)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, min(cfg.Timeout, 3*time.Second))
		defer cancel()
		c, err := dial(ctx, network, addr)
		if err != nil && cfg.TLS.Enabled && errors.Is(err, context.DeadlineExceeded) && strings.Contains(err.Error(), "TLS handshake") {
			// A plaintext Redis reads a ClientHello as an unfinished inline
			// command and stays silent, so dsntls's "plaintext port" hint
			// (a non-TLS reply) never fires: say it here.
			err = fmt.Errorf("%w (no TLS answer: a plaintext Redis port stays silent to a TLS client; use the server's TLS port, or redis:// if it has none, unless the network dropped the handshake)", err)
		}
		return c, err
	}
}

// handshake pings the server, checks its version and reads what an ack
// means there.
func (d *Driver) handshake(ctx context.Context) error {
	info, err := d.client.Info(ctx, "server", "persistence", "replication").Result()
	var serverErr goredis.Error
	if errors.As(err, &serverErr) {
		// Upstash's INFO takes one section at most: the default set holds
		// the same three sections on Redis, and what Upstash shows.
		info, err = d.client.Info(ctx).Result()
	}
	if err != nil {
		if d.cfg.TLS.Enabled {
			// In TLS 1.3 the server checks the client certificate after
			// the client's handshake returned: a missing one shows here,
			// on the first read, not in the dialer (Explain leaves what
			// the dialer explained alone).
			err = d.cfg.TLS.Explain(err)
		}
		return fmt.Errorf("redis: connect to %s: %w", d.cfg.Addr, err)
	}
	fields := parseInfo(info)
	version := fields["redis_version"]
	major, _ := strconv.Atoi(strings.SplitN(version, ".", 2)[0])
	if major < minVersion {
		return fmt.Errorf("redis: server %s runs Redis %q; the driver needs 7.0 or later (XADD with ID \"0-*\" gives dense offsets)", d.cfg.Addr, version)
	}
	if fields["role"] == "slave" {
		return fmt.Errorf("redis: server %s is a replica (role:slave, read-only); point the DSN at the primary", d.cfg.Addr)
	}
	d.server = readServerInfo(ctx, d.client, fields)
	return nil
}

// parseInfo reads INFO's "name:value" lines.
func parseInfo(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out
}

func (d *Driver) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// Config returns the parsed DSN.
func (d *Driver) Config() Config { return d.cfg }

// Describe says what runs, for the result's environment section; the TLS
// mode when the DSN asks for TLS (plaintext adds nothing, as before).
func (d *Driver) Describe() string {
	conn := ""
	if d.cfg.TLS.Enabled {
		conn = " over " + d.cfg.TLS.Describe()
	}
	return fmt.Sprintf("Redis %s%s, %d stream(s) %s, %s; batch = one MULTI/EXEC", d.server.version, conn, d.cfg.Shards, d.keyNames(), d.server.persistence())
}

func (d *Driver) keyNames() string {
	if d.cfg.Shards == 1 {
		return d.cfg.Stream
	}
	return fmt.Sprintf("%s:0..%d", d.cfg.Stream, d.cfg.Shards-1)
}

// Head is the next offset per shard: the sequence of the stream's last
// entry ID (0-N holds offset N-1), read with XREVRANGE + - COUNT 1 for
// every shard in one pipeline. Unlike XLEN it stays right when a stream
// is trimmed from the front; a shard without a stream is at 0.
func (d *Driver) Head(ctx context.Context) (drivers.Cursor, error) {
	if d.isClosed() {
		return nil, errClosed
	}
	cmds := make([]*goredis.XMessageSliceCmd, len(d.keys))
	_, err := d.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range d.keys {
			cmds[i] = p.XRevRangeN(ctx, k, "+", "-", 1)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis: head of %s: %w", d.keyNames(), err)
	}
	head := drivers.Cursor{}
	for i, c := range cmds {
		head[int32(i)] = 0
		if msgs := c.Val(); len(msgs) > 0 {
			seq, err := entrySeq(msgs[0].ID)
			if err != nil {
				return nil, fmt.Errorf("redis: head of %s: %w", d.keys[i], err)
			}
			head[int32(i)] = int64(seq)
		}
	}
	return head, nil
}

// Reset deletes every shard's stream (its consumer groups go with it).
func (d *Driver) Reset(ctx context.Context) error {
	if err := d.client.Del(ctx, d.keys...).Err(); err != nil {
		return fmt.Errorf("redis: reset: DEL %s: %w", d.keyNames(), err)
	}
	return nil
}

// DeduplicatesByID is false: XADD always adds an entry, so a retried
// append is stored again (Redis 8.2's IDMP is not used: it needs "*" IDs).
func (d *Driver) DeduplicatesByID() bool { return false }

// BatchAtomic is true: one Append is one MULTI/EXEC. Redis runs a
// transaction without interleaving other clients' commands and runs all
// of it or (an error while queueing: OOM, a bad command) none of it, and
// writes it to the AOF as one unit, which loading after a crash keeps or
// drops whole. Redis has no rollback of a command failing at run time,
// but XADD's such errors (WRONGTYPE, an ID below the stream's top) hit
// every XADD to that stream alike, and a batch of one key is one stream.
func (d *Driver) BatchAtomic() bool { return true }

// Close fails appends still queued, stops subscriptions and closes the
// pool. It is idempotent.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.closeFn()
	d.lanesWG.Wait()
	return d.client.Close()
}
