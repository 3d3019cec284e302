package postgres

import (
	"context"
	"fmt"

	"github.com/evbench/evbench/drivers"
	"github.com/jackc/pgx/v5"
)

var _ drivers.ExpectedAppender = (*Driver)(nil)

// streamVersionSQL is a stream's version: stream_version is 1-based (the
// number of the stream's events up to and including the row), so its
// maximum is the harness's version. The UNIQUE (stream_id, stream_version)
// index answers it without a scan.
func streamVersionSQL(n names) string {
	return fmt.Sprintf(`SELECT COALESCE(max(stream_version), 0) FROM %s WHERE stream_id = $1`, n.events)
}

// appendExpectedSQL appends one stream's batch if the stream is at $7,
// in one statement run right after the head row was locked in the same
// transaction (no append of any stream can commit between its version
// read and its insert). It always returns one row: the version it saw and
// the head before the batch; when the version differs it inserts nothing
// and leaves the head alone. $1..$5 are arrays of event_id, type, payload,
// seq, created_at_ns in batch order; $6 is the stream.
const appendExpectedSQL = `WITH input AS (
	SELECT * FROM unnest($1::uuid[], $2::text[], $3::%[3]s[], $4::bigint[], $5::bigint[]) WITH ORDINALITY
		AS t(event_id, type, payload, seq, created_at_ns, ord)),
cur AS (SELECT COALESCE(max(stream_version), 0) AS v FROM %[1]s WHERE stream_id = $6::text),
h AS (SELECT pos FROM %[2]s WHERE id = 1),
ins AS (
	INSERT INTO %[1]s (position, stream_id, stream_version, event_id, type, payload, seq, created_at_ns)
	SELECT h.pos + i.ord, $6::text, $7::bigint + i.ord, i.event_id, i.type, i.payload, i.seq, i.created_at_ns
	FROM input i CROSS JOIN h
	WHERE (SELECT v FROM cur) = $7::bigint
	RETURNING position),
upd AS (UPDATE %[2]s SET pos = pos + (SELECT count(*) FROM input) WHERE id = 1 AND (SELECT v FROM cur) = $7::bigint)
SELECT (SELECT v FROM cur), (SELECT pos FROM h)`

// AppendExpected appends batch if stream is at version expected. After a
// precheck (a plain read of the version: a stale one is a conflict at
// once), it runs one transaction sent as one pipelined round trip: BEGIN, lock the head row
// (FOR UPDATE, which every append takes first), appendExpectedSQL (read
// the stream's version, insert only when it matches), NOTIFY, COMMIT. A
// mismatch commits an empty transaction and returns a
// *drivers.ConflictError with the version read. Were the lock ever
// bypassed, UNIQUE (stream_id, stream_version) would still refuse a second
// event at one version (an error, not a silent overwrite). It does not join
// the group committer: a conflict must not fail the other appends of a
// shared transaction. Unlike Append it does not deduplicate by ID: a batch
// already stored has moved the version, so its retry is a conflict.
func (d *Driver) AppendExpected(ctx context.Context, stream string, expected uint64, batch []drivers.Event) ([]drivers.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: append stream %q: %w", stream, err)
	}
	if d.closed.Load() {
		return nil, errClosed
	}
	for i := range batch {
		if batch[i].Key != stream {
			return nil, fmt.Errorf("postgres: append stream %q: event %d has key %q: every event must be in the stream", stream, i, batch[i].Key)
		}
	}
	if len(batch) == 0 {
		return nil, nil
	}
	// A stale version is refused by a plain read, without the head lock
	// and a commit (whose WAL flush would serialise every loser behind the
	// lock): under contention most attempts are losers. Versions only
	// grow, so a read that differs is a conflict at that moment.
	if cur, err := d.StreamVersion(ctx, stream); err != nil {
		return nil, err
	} else if cur != expected {
		return nil, &drivers.ConflictError{Stream: stream, Expected: expected, Actual: cur, ActualKnown: true}
	}
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: append stream %q: acquire connection: %w", stream, err)
	}
	defer conn.Release()
	c := conn.Conn()
	cur, head, err := d.appendExpectedTx(ctx, c, stream, expected, batch)
	if err != nil {
		rollback(c)
		return nil, fmt.Errorf("postgres: append stream %q at version %d: %w", stream, expected, err)
	}
	if cur != expected {
		return nil, &drivers.ConflictError{Stream: stream, Expected: expected, Actual: cur, ActualKnown: true}
	}
	d.commits.Add(1)
	pos := make([]drivers.Position, len(batch))
	for i := range pos {
		pos[i] = drivers.Position{Offset: head + int64(i)} // table positions are 1-based: head+1+i, offset head+i
	}
	return pos, nil
}

// appendExpectedTx runs the pipeline and returns the version the statement
// saw and the head before it.
func (d *Driver) appendExpectedTx(ctx context.Context, c *pgx.Conn, stream string, expected uint64, batch []drivers.Event) (cur uint64, head int64, err error) {
	n := len(batch)
	ids := make([][16]byte, n)
	types := make([]string, n)
	payloads := make([][]byte, n)
	seqs := make([]int64, n)
	created := make([]int64, n)
	for i := range batch {
		e := &batch[i]
		ids[i], types[i], payloads[i], seqs[i], created[i] = e.ID, e.Type, e.Payload, int64(e.Seq), e.CreatedAt
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(d.sql.lockHead)
	b.Queue(fmt.Sprintf(appendExpectedSQL, d.n.events, d.n.head, d.cfg.Payload), ids, types, payloads, seqs, created, stream, int64(expected))
	b.Queue(d.sql.notify, d.n.channel, "")
	b.Queue("COMMIT")
	br := c.SendBatch(ctx, b)
	var v int64
	err = func() error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("lock head: %w", err)
		}
		if err := br.QueryRow().Scan(&v, &head); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		tag, err := br.Exec()
		if err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		if tag.String() != "COMMIT" {
			return fmt.Errorf("commit: transaction was rolled back (%s)", tag)
		}
		return nil
	}()
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("commit: %w", cerr)
	}
	return uint64(v), head, err
}

// StreamVersion reads the stream's committed version.
func (d *Driver) StreamVersion(ctx context.Context, stream string) (uint64, error) {
	if d.closed.Load() {
		return 0, errClosed
	}
	var v int64
	if err := d.pool.QueryRow(ctx, streamVersionSQL(d.n), stream).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: stream version %q: %w", stream, err)
	}
	return uint64(v), nil
}
