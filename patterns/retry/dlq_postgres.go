package retry

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/evbench/evbench/patterns/inbox"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultDLQTable is the Postgres DLQ's default table.
const DefaultDLQTable = "evbench_dlq"

var tableRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// PostgresSink is a DLQ table: one row per letter, kept until a redrive
// takes it (DELETE ... RETURNING, so a letter is redriven once). Letters of
// one run are told apart by Scope (the run's ID), so concurrent runs on one
// database do not redrive each other's.
type PostgresSink struct {
	pool    *pgxpool.Pool
	ownPool bool
	table   string
	scope   string
}

// OpenPostgresSink connects to dsn and creates table (DefaultDLQTable when
// "") if missing; a table with other columns is a one-line error.
func OpenPostgresSink(ctx context.Context, dsn, table, scope string) (*PostgresSink, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("dlq: postgres: %w", err)
	}
	s, err := NewPostgresSink(ctx, pool, table, scope)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// NewPostgresSink is OpenPostgresSink on an existing pool (not closed by Close).
func NewPostgresSink(ctx context.Context, pool *pgxpool.Pool, table, scope string) (*PostgresSink, error) {
	if table == "" {
		table = DefaultDLQTable
	}
	if !tableRe.MatchString(table) {
		return nil, fmt.Errorf("dlq: table name %q: use lower-case letters, digits and _ (e.g. %s)", table, DefaultDLQTable)
	}
	cols := [][2]string{{"scope", "text"}, {"consumer", "text"}, {"event_id", "bytea"}, {"key", "text"}, {"seq", "bigint"},
		{"type", "text"}, {"payload", "bytea"}, {"created_at", "bigint"}, {"attempts", "integer"}, {"error", "text"},
		{"dead_at", "timestamp with time zone"}}
	err := inbox.CheckTable(ctx, pool, table, cols, []string{"scope", "consumer", "event_id"})
	if inbox.IsNoTable(err) {
		_, err = pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+table+` (scope text NOT NULL, consumer text NOT NULL, event_id bytea NOT NULL,
			key text NOT NULL, seq bigint NOT NULL, type text NOT NULL, payload bytea NOT NULL, created_at bigint NOT NULL,
			attempts integer NOT NULL, error text NOT NULL, dead_at timestamptz NOT NULL, PRIMARY KEY (scope, consumer, event_id))`)
		if err != nil {
			err = fmt.Errorf("create table %s: %w", table, err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	return &PostgresSink{pool: pool, table: table, scope: scope}, nil
}

// Put implements Sink. A letter put twice (the same event given up twice by
// one consumer) is kept once.
func (s *PostgresSink) Put(ctx context.Context, l Letter) error {
	if l.Payload == nil {
		l.Payload = []byte{}
	}
	_, err := s.pool.Exec(ctx, "INSERT INTO "+s.table+` (scope, consumer, event_id, key, seq, type, payload, created_at, attempts, error, dead_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
		s.scope, l.Consumer, l.ID[:], l.Key, int64(l.Seq), l.Type, l.Payload, l.CreatedAt, l.Attempts, l.Err, l.At)
	if err != nil {
		return fmt.Errorf("dlq: insert into %s: %w", s.table, err)
	}
	return nil
}

// Take implements Sink.
func (s *PostgresSink) Take(ctx context.Context) ([]Letter, error) {
	return s.read(ctx, "DELETE FROM "+s.table+` WHERE scope = $1
		RETURNING consumer, event_id, key, seq, type, payload, created_at, attempts, error, dead_at`)
}

// List implements Sink.
func (s *PostgresSink) List(ctx context.Context) ([]Letter, error) {
	return s.read(ctx, "SELECT consumer, event_id, key, seq, type, payload, created_at, attempts, error, dead_at FROM "+s.table+" WHERE scope = $1")
}

func (s *PostgresSink) read(ctx context.Context, query string) ([]Letter, error) {
	rows, err := s.pool.Query(ctx, query, s.scope)
	if err != nil {
		return nil, fmt.Errorf("dlq: read %s: %w", s.table, err)
	}
	defer rows.Close()
	var out []Letter
	for rows.Next() {
		var l Letter
		var id []byte
		var seq int64
		var at time.Time
		if err := rows.Scan(&l.Consumer, &id, &l.Key, &seq, &l.Type, &l.Payload, &l.CreatedAt, &l.Attempts, &l.Err, &at); err != nil {
			return nil, fmt.Errorf("dlq: read %s: %w", s.table, err)
		}
		copy(l.ID[:], id)
		l.Seq, l.At = uint64(seq), at
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dlq: read %s: %w", s.table, err)
	}
	sortLetters(out)
	return out, nil
}

// Len implements Sink.
func (s *PostgresSink) Len(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+s.table+" WHERE scope = $1", s.scope).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("dlq: count %s: %w", s.table, err)
	}
	return n, nil
}

// Close implements Sink.
func (s *PostgresSink) Close() error {
	if s.ownPool && s.pool != nil {
		s.pool.Close()
		s.pool = nil
	}
	return nil
}
