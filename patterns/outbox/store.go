package outbox

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store owns the outbox's tables and connection pool; Writer and Relays
// work through it.
type Store struct {
	cfg  Config
	pool *pgxpool.Pool
	// lockClass is the first key of the relays' advisory locks: a hash of
	// the prefix, so runs with other prefixes never contend.
	lockClass int32
	q         queries
}

// Open connects, creates the tables under cfg.Prefix (refusing to reuse
// existing ones, which would belong to another run) and returns the Store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("outbox: DSN %s: %w", drivers.RedactDSN(cfg.DSN), err)
	}
	pcfg.MaxConns = int32(cfg.Conns + cfg.Relays)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, oneLine(fmt.Errorf("outbox: connect %s: %w", drivers.RedactDSN(cfg.DSN), err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, oneLine(fmt.Errorf("outbox: connect %s: %w; is Postgres running there?", drivers.RedactDSN(cfg.DSN), err))
	}
	h := fnv.New32a()
	h.Write([]byte(cfg.Prefix))
	s := &Store{cfg: cfg, pool: pool, lockClass: int32(h.Sum32() & 0x7fffffff), q: newQueries(cfg.Prefix)}
	if err := s.create(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Prefix is the tables' prefix (the random one when none was configured).
func (s *Store) Prefix() string { return s.cfg.Prefix }

// Config is the configuration with defaults filled.
func (s *Store) Config() Config { return s.cfg }

func (s *Store) create(ctx context.Context) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, s.cfg.Prefix+"_outbox").Scan(&exists); err != nil {
		return fmt.Errorf("outbox: look for table %s_outbox: %w", s.cfg.Prefix, err)
	}
	if exists {
		return fmt.Errorf("outbox: table %s_outbox already exists (another run's?); choose another outbox.prefix or drop it", s.cfg.Prefix)
	}
	if _, err := s.pool.Exec(ctx, s.q.create); err != nil {
		return fmt.Errorf("outbox: create tables %s_*: %w", s.cfg.Prefix, err)
	}
	return nil
}

// Unsent counts outbox rows not yet marked sent.
func (s *Store) Unsent(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, s.q.unsent).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox: count unsent rows: %w", err)
	}
	return n, nil
}

// Backlog is the number of unsent rows and the committed_at of the oldest
// (zero when none): how far the relays are behind, as a reader of the
// table sees it, even while they publish nothing.
func (s *Store) Backlog(ctx context.Context) (rows int64, oldest time.Time, err error) {
	var ts *time.Time
	if err := s.pool.QueryRow(ctx, s.q.backlog).Scan(&rows, &ts); err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox: read backlog: %w", err)
	}
	if ts != nil {
		oldest = *ts
	}
	return rows, oldest, nil
}

// WaitSent polls until every outbox row is marked sent, or ctx ends.
func (s *Store) WaitSent(ctx context.Context, every time.Duration) error {
	for {
		n, err := s.Unsent(ctx)
		if err == nil && n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return err
			}
			return fmt.Errorf("outbox: %d row(s) still unsent: %w", n, ctx.Err())
		case <-time.After(every):
		}
	}
}

// Close drops the tables (unless Config.Keep) and closes the pool.
func (s *Store) Close(ctx context.Context) error {
	defer s.pool.Close()
	if s.cfg.Keep {
		s.cfg.Logf("outbox: keeping tables %s_orders and %s_outbox", s.cfg.Prefix, s.cfg.Prefix)
		return nil
	}
	if _, err := s.pool.Exec(ctx, s.q.drop); err != nil {
		return fmt.Errorf("outbox: drop tables %s_*: %w", s.cfg.Prefix, err)
	}
	return nil
}

// oneLineError keeps an error's chain but prints it on one line: pgx
// lists every address it tried on a line of its own.
type oneLineError struct {
	msg string
	err error
}

func (e oneLineError) Error() string { return e.msg }
func (e oneLineError) Unwrap() error { return e.err }

func oneLine(err error) error {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), ":\n", ";")), " ")
	return oneLineError{msg: msg, err: err}
}

// shardOf is the relay that owns key: fnv32a(key) mod relays.
func shardOf(key string, relays int) int32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int32(h.Sum32() % uint32(relays))
}
