// Package postgres is the evbench driver for PostgreSQL (pgx v5).
//
// Events live in one table with a gapless, commit-ordered global position.
// Gap safety under concurrent writers comes from a single-row counter
// (<table>_head): every append transaction locks that row first
// (SELECT ... FOR UPDATE), takes the next positions, inserts and commits.
// Because the lock is held until COMMIT, transactions become visible in
// position order, so a reader that sees position P also sees every position
// before it and never has to wait out or skip a hole. The price is that
// appends are serialised through the lock for the length of one
// transaction, COMMIT fsync included; batching amortises it. The same lock
// makes the dedupe check (event_id already stored? return its original
// position) and the per-stream version (max(stream_version) + 1, 1-based,
// read through the (stream_id, stream_version) unique index) race-free.
//
// Subscribers read in large batches ordered by position; a NOTIFY sent in
// the append transaction wakes them, polling is the fallback.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/keyroute"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

const dsnExample = "postgres://127.0.0.1:5432/test?schema=evbench"

// connectTimeout bounds the first connection at Open.
const connectTimeout = 5 * time.Second

func init() {
	drivers.Register(drivers.Registration{
		Name:        "postgres",
		Description: "PostgreSQL via pgx: one table, gapless commit-ordered positions, COMMIT with synchronous_commit",
		DSNExample:  dsnExample,
		Open: func(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
			return Open(ctx, dsn, opts)
		},
		CheckDSN:        CheckDSN,
		ExpectedVersion: true,
	})
}

// CheckDSN validates dsn as Open would (evbench parameters, then pgx's own
// parsing) without connecting.
func CheckDSN(dsn string) error {
	_, pgDSN, err := parseDSN(dsn)
	if err != nil {
		return err
	}
	if _, err := pgxpool.ParseConfig(pgDSN); err != nil {
		return fmt.Errorf("postgres: DSN %s: %s", drivers.RedactDSN(dsn), drivers.Scrub(err.Error(), dsn))
	}
	return nil
}

// Driver is a pooled connection to one evbench schema. Safe for
// concurrent use.
type Driver struct {
	cfg      Config
	n        names
	pool     *pgxpool.Pool
	connCfg  *pgx.ConnConfig // for subscribers' LISTEN connections
	opts     drivers.Options
	describe string
	sql      statements

	// lanes queue and run appends: one group committer with
	// group_commit=on, one single committer per pool connection with
	// group_commit=off, keys routed by seed (see AppendAsync).
	lanes   []*committer
	route   *keyroute.Router // keeps each key in one lane
	commits atomic.Int64     // append transactions committed

	closed    atomic.Bool
	closeOnce sync.Once
}

var (
	_ drivers.Driver         = (*Driver)(nil)
	_ drivers.Resetter       = (*Driver)(nil)
	_ drivers.Deduplicator   = (*Driver)(nil)
	_ drivers.AsyncAppender  = (*Driver)(nil)
	_ drivers.BatchAtomicity = (*Driver)(nil)
)

// Open connects (through opts.Dialer, so a chaos proxy sees every
// connection), checks the server, and creates the schema if missing
// (drops it first when opts.Reset).
func Open(ctx context.Context, dsn string, opts drivers.Options) (*Driver, error) {
	cfg, pgDSN, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(pgDSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: DSN %s: %s", drivers.RedactDSN(dsn), drivers.Scrub(err.Error(), dsn))
	}
	if !hasParam(dsn, "pool_max_conns") {
		pcfg.MaxConns = cfg.Pool
	}
	cc := pcfg.ConnConfig
	dial := opts.Dialer()
	cc.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) { return dial(ctx, network, addr) }
	// Hand the host name to the dialer unresolved, so a proxy mapping by
	// host:port sees exactly the address in the DSN.
	cc.LookupFunc = func(ctx context.Context, host string) ([]string, error) { return []string{host}, nil }
	if cc.ConnectTimeout == 0 || cc.ConnectTimeout > connectTimeout {
		cc.ConnectTimeout = connectTimeout
	}
	if _, ok := cc.RuntimeParams["application_name"]; !ok {
		cc.RuntimeParams["application_name"] = strings.TrimSpace("evbench " + opts.Role)
	}
	target := fmt.Sprintf("%s:%d", cc.Host, cc.Port)

	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect to %s: %s", target, drivers.Scrub(err.Error(), dsn))
	}
	d := &Driver{cfg: cfg, n: newNames(cfg), pool: pool, connCfg: cc.Copy(), opts: opts}
	d.sql = newStatements(d.n, cfg)
	if err := d.start(ctx, target, dsn, opts.Reset); err != nil {
		pool.Close()
		return nil, err
	}
	if cfg.GroupCommit {
		d.lanes = []*committer{newCommitter(d, false)}
	} else {
		for i := int32(0); i < pool.Config().MaxConns; i++ {
			d.lanes = append(d.lanes, newCommitter(d, true))
		}
	}
	d.route = keyroute.New(len(d.lanes))
	return d, nil
}

// start checks connectivity and durability settings, then the schema.
func (d *Driver) start(ctx context.Context, target, dsn string, reset bool) error {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	var version, syncCommit, fsync string
	err := d.pool.QueryRow(cctx, `SELECT current_setting('server_version'), current_setting('synchronous_commit'), current_setting('fsync')`).
		Scan(&version, &syncCommit, &fsync)
	if err != nil {
		return connectError(err, target, d.connCfg, dsn)
	}
	gc := "on"
	if !d.cfg.GroupCommit {
		gc = "off"
	}
	d.describe = fmt.Sprintf("postgres %s synchronous_commit=%s fsync=%s group_commit=%s, batch atomic (one transaction)", version, syncCommit, fsync, gc)
	if syncCommit != "on" || fsync != "on" {
		d.opts.Log("postgres: WARNING %s: COMMIT is not durable, commit latencies are not comparable", d.describe)
	}
	if err := ensureSchema(cctx, d.pool, d.cfg, reset); err != nil {
		return err
	}
	return nil
}

// Describe says what runs, for the result's environment section, e.g.
// "postgres 15.20 synchronous_commit=on fsync=on group_commit=on, batch
// atomic (one transaction)".
func (d *Driver) Describe() string { return d.describe }

// BatchAtomic is true: a batch is inserted by one transaction (with
// group_commit=on, one transaction carries several batches), so it commits
// or rolls back whole, across crashes too.
func (d *Driver) BatchAtomic() bool { return true }

// Config returns the parsed evbench parameters.
func (d *Driver) Config() Config { return d.cfg }

// DeduplicatesByID is true: a retried event ID returns its original
// position without a second row.
func (d *Driver) DeduplicatesByID() bool { return true }

var errClosed = errors.New("postgres: driver closed")

// Head is the next offset: the number of committed events (gapless).
func (d *Driver) Head(ctx context.Context) (drivers.Cursor, error) {
	if d.closed.Load() {
		return nil, errClosed
	}
	var pos int64
	if err := d.pool.QueryRow(ctx, d.sql.head).Scan(&pos); err != nil {
		return nil, fmt.Errorf("postgres: head of %s.%s: %w", d.cfg.Schema, d.cfg.Table, err)
	}
	return drivers.Cursor{0: pos}, nil
}

// Close closes the pool; it waits for in-flight calls to return their
// connections. Idempotent.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.closed.Store(true)
		for _, c := range d.lanes {
			c.close()
		}
		d.pool.Close()
	})
	return nil
}

// connectError turns a failed first query into a one-line error naming the
// server and the likely fix.
func connectError(err error, target string, cc *pgx.ConnConfig, dsn string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28000", "28P01":
			return fmt.Errorf("postgres: connect to %s as user %q: authentication failed (%s); check the user and password in --dsn", target, cc.User, pgErr.Message)
		case "3D000":
			return fmt.Errorf("postgres: connect to %s: database %q does not exist; create it (createdb %s) or fix the path in --dsn", target, cc.Database, cc.Database)
		}
		return fmt.Errorf("postgres: connect to %s: %s (SQLSTATE %s)", target, pgErr.Message, pgErr.Code)
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return fmt.Errorf("postgres: connect to %s: no answer within %s; is the server running and reachable?", target, cc.ConnectTimeout)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("postgres: connect to %s: connection refused; is the server running on that port?", target)
	}
	return fmt.Errorf("postgres: connect to %s: %s", target, drivers.Scrub(err.Error(), dsn))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
