package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/jackc/pgx/v5"
)

// errDedupeMoved signals that the stored IDs changed between the optimistic
// plan and the locked check; the append is retried with the new knowledge.
var errDedupeMoved = errors.New("postgres: stored IDs changed during append")

// Append stores the batch durably and returns after COMMIT. With
// group_commit=on (default) concurrent Appends share one transaction (see
// committer); otherwise each Append is its own transaction. Either way it
// queues behind the key's appends already in flight (see AppendAsync).
// Event IDs already stored return their original positions and are not
// written again (also within one batch: the first occurrence wins).
//
// batch_insert=values (default) sends the whole transaction in one round
// trip (appendOneTrip). batch_insert=copy takes two plus the COPY:
// [BEGIN; lock head; dedupe; current stream versions], COPY, [update head;
// NOTIFY; COMMIT].
func (d *Driver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: append: %w", err)
	}
	if d.closed.Load() {
		return nil, errClosed
	}
	if len(batch) == 0 {
		return nil, nil
	}
	return d.appendQueued(ctx, batch)
}

// appendNow runs one append transaction on a pooled connection.
func (d *Driver) appendNow(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: append: acquire connection: %w", err)
	}
	defer conn.Release() // the pool destroys a connection left mid-transaction
	if d.cfg.BatchInsert == "values" {
		pos, err := d.appendOneTrip(ctx, conn.Conn(), batch)
		if err != nil {
			rollback(conn.Conn())
			return nil, fmt.Errorf("postgres: append %d events: %w", len(batch), err)
		}
		return pos, nil
	}
	known := map[[16]byte]int64{}
	for attempt := 0; ; attempt++ {
		pos, err := d.appendTx(ctx, conn.Conn(), batch, known)
		if err == nil {
			return pos, nil
		}
		rollback(conn.Conn())
		if !errors.Is(err, errDedupeMoved) || attempt == 3 {
			return nil, fmt.Errorf("postgres: append %d events: %w", len(batch), err)
		}
	}
}

// appendOneTrip sends the whole transaction as one pipeline: BEGIN, lock
// the head row, the append statement, NOTIFY, COMMIT. One round trip plus
// the COMMIT flush; the lock is held for as short a time as possible.
func (d *Driver) appendOneTrip(ctx context.Context, c *pgx.Conn, batch []drivers.Event) ([]drivers.Position, error) {
	n := len(batch)
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(d.sql.lockHead)
	b.Queue(d.sql.appendAll, appendAllArgs(batch)...)
	b.Queue(d.sql.notify, d.n.channel, "")
	b.Queue("COMMIT")
	br := c.SendBatch(ctx, b)
	at := make(map[[16]byte]int64, n)
	err := func() error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("lock head: %w", err)
		}
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		for rows.Next() {
			var id [16]byte
			var pos int64
			if err := rows.Scan(&id, &pos); err != nil {
				rows.Close()
				return fmt.Errorf("insert: %w", err)
			}
			at[id] = pos - 1
		}
		if err := rows.Err(); err != nil {
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
	if err != nil {
		return nil, err
	}
	d.commits.Add(1)
	pos := make([]drivers.Position, n)
	for i := range batch {
		off, ok := at[batch[i].ID]
		if !ok {
			return nil, fmt.Errorf("commit: event %x has no position (driver bug)", batch[i].ID)
		}
		pos[i] = drivers.Position{Offset: off}
	}
	return pos, nil
}

// appendAllArgs encodes a batch as the arguments of appendAll ($1..$6):
// one array per column, in batch order. It is the whole of the values
// path's own encoding (pgx encodes the arrays); a pure function so it can
// be benchmarked without a connection.
func appendAllArgs(batch []drivers.Event) []any {
	n := len(batch)
	ids := make([][16]byte, n)
	keys := make([]string, n)
	types := make([]string, n)
	payloads := make([][]byte, n)
	seqs := make([]int64, n)
	created := make([]int64, n)
	for i := range batch {
		e := &batch[i]
		ids[i], keys[i], types[i], payloads[i] = e.ID, e.Key, e.Type, e.Payload
		seqs[i], created[i] = int64(e.Seq), e.CreatedAt
	}
	return []any{ids, keys, types, payloads, seqs, created}
}

// rollback ends a failed transaction so the connection can be reused.
func rollback(c *pgx.Conn) {
	if c.IsClosed() || c.PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.Exec(ctx, "ROLLBACK") // on failure the pool discards the connection
}

// plan is the part of a batch that must be written.
type plan struct {
	fresh []int    // batch indexes to insert (first occurrence, not stored)
	keys  []string // distinct keys of fresh, first-seen order
}

func makePlan(batch []drivers.Event, known map[[16]byte]int64) plan {
	var p plan
	seen := make(map[[16]byte]bool, len(batch))
	keySeen := map[string]bool{}
	for i := range batch {
		id := batch[i].ID
		if _, stored := known[id]; stored || seen[id] {
			continue
		}
		seen[id] = true
		p.fresh = append(p.fresh, i)
		if !keySeen[batch[i].Key] {
			keySeen[batch[i].Key] = true
			p.keys = append(p.keys, batch[i].Key)
		}
	}
	return p
}

// appendTx runs one attempt. known holds IDs believed stored (updated in
// place when the locked check disagrees, with errDedupeMoved).
func (d *Driver) appendTx(ctx context.Context, c *pgx.Conn, batch []drivers.Event, known map[[16]byte]int64) ([]drivers.Position, error) {
	p := makePlan(batch, known)
	ids := make([][16]byte, len(batch))
	for i := range batch {
		ids[i] = batch[i].ID
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(d.sql.lockHead)
	b.Queue(d.sql.dedupe, ids)
	if len(p.fresh) > 0 {
		b.Queue(d.sql.versions, p.keys)
	}
	br := c.SendBatch(ctx, b)
	var last int64
	found := map[[16]byte]int64{}
	versions := make(map[string]int64, len(p.keys))
	err := func() error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := br.QueryRow().Scan(&last); err != nil {
			return fmt.Errorf("lock head: %w", err)
		}
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("dedupe: %w", err)
		}
		for rows.Next() {
			var id [16]byte
			var pos int64
			if err := rows.Scan(&id, &pos); err != nil {
				rows.Close()
				return fmt.Errorf("dedupe: %w", err)
			}
			found[id] = pos - 1
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("dedupe: %w", err)
		}
		if len(p.fresh) == 0 {
			return nil
		}
		rows, err = br.Query()
		if err != nil {
			return fmt.Errorf("stream versions: %w", err)
		}
		for rows.Next() {
			var k string
			var v int64
			if err := rows.Scan(&k, &v); err != nil {
				rows.Close()
				return fmt.Errorf("stream versions: %w", err)
			}
			versions[k] = v
		}
		return rows.Err()
	}()
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if len(found) != len(known) {
		for id, off := range found {
			known[id] = off
		}
		return nil, errDedupeMoved
	}
	pos := make([]drivers.Position, len(batch))
	if len(p.fresh) == 0 {
		rollback(c)
		for i := range batch {
			pos[i] = drivers.Position{Offset: known[batch[i].ID]}
		}
		return pos, nil
	}
	if err := d.write(ctx, c, batch, p, last, versions); err != nil {
		return nil, err
	}
	assigned := make(map[[16]byte]int64, len(p.fresh))
	for j, i := range p.fresh {
		assigned[batch[i].ID] = last + int64(j) // 0-based offset = 1-based position - 1
	}
	for i := range batch {
		off, ok := assigned[batch[i].ID]
		if !ok {
			off = known[batch[i].ID]
		}
		pos[i] = drivers.Position{Offset: off}
	}
	return pos, nil
}

// eventColumns are the fresh events of a batch as the columns of the events
// table (statements.columns order), numbered from last+1.
type eventColumns struct {
	positions []int64
	streams   []string
	svers     []int64
	ids       [][16]byte
	types     []string
	payloads  [][]byte
	seqs      []int64
	created   []int64
}

// insertColumns numbers the fresh events of p at positions last+1... and
// their stream versions after versions (the streams' current last). It
// and copyRows or args are the whole of the two-phase path's own encoding;
// pure functions so they can be benchmarked without a connection.
func insertColumns(batch []drivers.Event, p plan, last int64, versions map[string]int64) eventColumns {
	n := len(p.fresh)
	// stream versions are 1-based: the first event of a stream is version 1
	next := make(map[string]int64, len(p.keys))
	for _, key := range p.keys {
		next[key] = versions[key] + 1
	}
	c := eventColumns{
		positions: make([]int64, n),
		streams:   make([]string, n),
		svers:     make([]int64, n),
		ids:       make([][16]byte, n),
		types:     make([]string, n),
		payloads:  make([][]byte, n),
		seqs:      make([]int64, n),
		created:   make([]int64, n),
	}
	for j, i := range p.fresh {
		e := &batch[i]
		c.positions[j] = last + 1 + int64(j)
		c.streams[j] = e.Key
		c.svers[j] = next[e.Key]
		next[e.Key]++
		c.ids[j], c.types[j], c.payloads[j] = e.ID, e.Type, e.Payload
		c.seqs[j], c.created[j] = int64(e.Seq), e.CreatedAt
	}
	return c
}

// copyRows is the COPY source: one row per event, in column order.
func (c eventColumns) copyRows() [][]any {
	rows := make([][]any, len(c.positions))
	for j := range rows {
		rows[j] = []any{c.positions[j], c.streams[j], c.svers[j], c.ids[j], c.types[j], c.payloads[j], c.seqs[j], c.created[j]}
	}
	return rows
}

// args are the arguments of the insert statement ($1..$8).
func (c eventColumns) args() []any {
	return []any{c.positions, c.streams, c.svers, c.ids, c.types, c.payloads, c.seqs, c.created}
}

// write inserts the fresh events at positions last+1..., moves the head,
// notifies and commits.
func (d *Driver) write(ctx context.Context, c *pgx.Conn, batch []drivers.Event, p plan, last int64, versions map[string]int64) error {
	n := len(p.fresh)
	cols := insertColumns(batch, p, last, versions)
	b := &pgx.Batch{}
	if d.cfg.BatchInsert == "copy" {
		if _, err := c.CopyFrom(ctx, pgx.Identifier{d.cfg.Schema, d.cfg.Table}, d.sql.columns, pgx.CopyFromRows(cols.copyRows())); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
	} else {
		b.Queue(d.sql.insert, cols.args()...)
	}
	b.Queue(d.sql.setHead, last+int64(n))
	b.Queue(d.sql.notify, d.n.channel, strconv.FormatInt(last+int64(n), 10))
	b.Queue("COMMIT")
	br := c.SendBatch(ctx, b)
	for i := 0; i < b.Len(); i++ {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return fmt.Errorf("insert/commit: %w", err)
		}
		if i == b.Len()-1 && tag.String() != "COMMIT" {
			br.Close()
			return fmt.Errorf("commit: transaction was rolled back (%s)", tag)
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	d.commits.Add(1)
	return nil
}
