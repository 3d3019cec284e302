package inbox

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Default table names of the Postgres inbox.
const (
	DefaultInboxTable     = "evbench_inbox"
	DefaultReadModelTable = "evbench_read_model"
)

// PostgresOptions configure OpenPostgres.
type PostgresOptions struct {
	// Consumer names the reader whose inbox this is: each projector has its
	// own, as in production (two read models must each see every event).
	Consumer string
	// InboxTable holds (consumer, event_id); default DefaultInboxTable.
	InboxTable string
	// ReadModelTable holds the projection, one row per (consumer, key),
	// updated in the inbox's transaction; default DefaultReadModelTable.
	ReadModelTable string
}

// Postgres is an inbox in Postgres: one transaction per event inserts
// (consumer, event_id) with ON CONFLICT DO NOTHING (no row inserted = a
// redelivery, rolled back), runs the handler, upserts the read-model row,
// and commits. A crash between them leaves neither, so a redelivery after
// it is applied exactly once.
type Postgres struct {
	pool                   *pgxpool.Pool
	ownPool                bool
	consumer               string
	inboxTable, modelTable string
	insertSQL, applySQL    string
}

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// OpenPostgres connects to dsn, creates the tables if they are missing and
// refuses tables that exist with other columns (one line naming the table,
// the columns found and the fix).
func OpenPostgres(ctx context.Context, dsn string, opts PostgresOptions) (*Postgres, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("inbox: postgres: %w", err)
	}
	p, err := NewPostgres(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	p.ownPool = true
	return p, nil
}

// NewPostgres is OpenPostgres on an existing pool (not closed by Close).
func NewPostgres(ctx context.Context, pool *pgxpool.Pool, opts PostgresOptions) (*Postgres, error) {
	if opts.InboxTable == "" {
		opts.InboxTable = DefaultInboxTable
	}
	if opts.ReadModelTable == "" {
		opts.ReadModelTable = DefaultReadModelTable
	}
	for _, t := range []string{opts.InboxTable, opts.ReadModelTable} {
		if !identRe.MatchString(t) {
			return nil, fmt.Errorf("inbox: table name %q: use lower-case letters, digits and _ (e.g. %s)", t, DefaultInboxTable)
		}
	}
	if opts.Consumer == "" {
		return nil, errors.New("inbox: postgres: no consumer name")
	}
	p := &Postgres{pool: pool, consumer: opts.Consumer, inboxTable: opts.InboxTable, modelTable: opts.ReadModelTable}
	if err := p.ensure(ctx); err != nil {
		return nil, err
	}
	p.insertSQL = "INSERT INTO " + p.inboxTable + " (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
	p.applySQL = "INSERT INTO " + p.modelTable + " AS m (consumer, key, events, last_seq) VALUES ($1, $2, 1, $3) " +
		"ON CONFLICT (consumer, key) DO UPDATE SET events = m.events + 1, last_seq = GREATEST(m.last_seq, EXCLUDED.last_seq)"
	return p, nil
}

// tableSpec is what a table must look like: its columns (name -> type as
// information_schema spells it) and the unique key ON CONFLICT relies on.
type tableSpec struct {
	name    string
	columns [][2]string
	key     []string
	create  string
}

func (p *Postgres) specs() []tableSpec {
	return []tableSpec{
		{name: p.inboxTable, columns: [][2]string{{"consumer", "text"}, {"event_id", "bytea"}}, key: []string{"consumer", "event_id"},
			create: "CREATE TABLE IF NOT EXISTS " + p.inboxTable + " (consumer text NOT NULL, event_id bytea NOT NULL, processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event_id))"},
		{name: p.modelTable, columns: [][2]string{{"consumer", "text"}, {"key", "text"}, {"events", "bigint"}, {"last_seq", "bigint"}}, key: []string{"consumer", "key"},
			create: "CREATE TABLE IF NOT EXISTS " + p.modelTable + " (consumer text NOT NULL, key text NOT NULL, events bigint NOT NULL, last_seq bigint NOT NULL, PRIMARY KEY (consumer, key))"},
	}
}

func (p *Postgres) ensure(ctx context.Context) error {
	for _, s := range p.specs() {
		if err := CheckTable(ctx, p.pool, s.name, s.columns, s.key); err != nil {
			if !errors.Is(err, errNoTable) {
				return err
			}
			if _, err := p.pool.Exec(ctx, s.create); err != nil {
				return fmt.Errorf("inbox: create table %s: %w", s.name, err)
			}
		}
	}
	return nil
}

var errNoTable = errors.New("table does not exist")

// Querier is what CheckTable needs (a pool, a connection or a transaction).
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CheckTable compares an existing table of the current schema with the
// columns (name, information_schema data_type) and unique key a pattern
// needs. A missing table is an error wrapping errNoTable (IsNoTable); a
// table with other columns or without the key is a one-line error naming
// the table, the columns found and the fix.
func CheckTable(ctx context.Context, q Querier, table string, want [][2]string, key []string) error {
	rows, err := q.Query(ctx, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position", table)
	if err != nil {
		return fmt.Errorf("inspect table %s: %w", table, err)
	}
	found := map[string]string{}
	var list []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return fmt.Errorf("inspect table %s: %w", table, err)
		}
		found[name] = typ
		list = append(list, name+" "+typ)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("inspect table %s: %w", table, err)
	}
	if len(found) == 0 {
		return fmt.Errorf("%s: %w", table, errNoTable)
	}
	var need []string
	bad := false
	for _, c := range want {
		need = append(need, c[0]+" "+c[1])
		if found[c[0]] != c[1] {
			bad = true
		}
	}
	fix := fmt.Sprintf("drop it (DROP TABLE %s) so evbench creates it, or point the DSN at another schema (search_path=...)", table)
	if bad {
		return fmt.Errorf("table %s exists with columns (%s), but evbench needs (%s, primary key (%s)); %s",
			table, strings.Join(list, ", "), strings.Join(need, ", "), strings.Join(key, ", "), fix)
	}
	var unique bool
	err = q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = to_regclass($1) AND i.indisunique
		AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) = $2)`,
		table, sortedCopy(key)).Scan(&unique)
	if err != nil {
		return fmt.Errorf("inspect table %s: %w", table, err)
	}
	if !unique {
		return fmt.Errorf("table %s has the right columns but no primary key or unique index on (%s), so ON CONFLICT cannot detect a duplicate; %s",
			table, strings.Join(key, ", "), fix)
	}
	return nil
}

// IsNoTable reports whether CheckTable found no table.
func IsNoTable(err error) bool { return errors.Is(err, errNoTable) }

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// Process implements Inbox: insert the inbox row, run handle, upsert the
// read-model row, commit; a conflict on the inbox row is a duplicate.
func (p *Postgres) Process(ctx context.Context, msg Message, handle func() error) (dup bool, err error) {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("inbox: begin: %w", err)
	}
	defer func() {
		if err != nil || dup {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	tag, err := tx.Exec(ctx, p.insertSQL, p.consumer, msg.ID[:])
	if err != nil {
		return false, fmt.Errorf("inbox: insert into %s: %w", p.inboxTable, err)
	}
	if tag.RowsAffected() == 0 {
		return true, nil
	}
	if err := handle(); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, p.applySQL, p.consumer, msg.Key, int64(msg.Seq)); err != nil {
		return false, fmt.Errorf("inbox: update read model %s: %w", p.modelTable, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("inbox: commit: %w", err)
	}
	return false, nil
}

// ReadModel returns the events applied to key by this consumer (0 when
// none): what the read model holds, for checks.
func (p *Postgres) ReadModel(ctx context.Context, key string) (int64, error) {
	var n int64
	err := p.pool.QueryRow(ctx, "SELECT events FROM "+p.modelTable+" WHERE consumer = $1 AND key = $2", p.consumer, key).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// Applied is the total of events applied by this consumer.
func (p *Postgres) Applied(ctx context.Context) (int64, error) {
	var n int64
	err := p.pool.QueryRow(ctx, "SELECT COALESCE(SUM(events), 0)::bigint FROM "+p.modelTable+" WHERE consumer = $1", p.consumer).Scan(&n)
	return n, err
}

// Close implements Inbox.
func (p *Postgres) Close() error {
	if p.ownPool && p.pool != nil {
		p.pool.Close()
		p.pool = nil
	}
	return nil
}
