package outbox

import (
	"context"
	"fmt"

	"github.com/evbench/evbench/drivers"
	"github.com/jackc/pgx/v5"
)

// Writer executes commands: each Append is one transaction that inserts a
// business row and an outbox row per event, so either both commit or
// neither does. It is safe for concurrent use; callers keep a key's
// commands sequential (the relays' per-key order relies on it).
type Writer struct {
	s *Store
	// beforeCommit, when set (tests), runs inside the transaction after
	// both inserts; an error rolls the transaction back.
	beforeCommit func() error
}

// Writer returns the store's command writer.
func (s *Store) Writer() *Writer { return &Writer{s: s} }

// Append commits the batch as one command transaction and returns, per
// event, Position{Offset: outbox id} (-1 for an event a previous try of
// the same command already committed).
func (w *Writer) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	if len(batch) == 0 {
		return nil, nil
	}
	pos := make([]drivers.Position, len(batch))
	err := pgx.BeginFunc(ctx, w.s.pool, func(tx pgx.Tx) error {
		fresh, err := w.insertOrders(ctx, tx, batch)
		if err != nil {
			return err
		}
		if err := w.insertOutbox(ctx, tx, batch, fresh, pos); err != nil {
			return err
		}
		if w.beforeCommit != nil {
			return w.beforeCommit()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: command %s seq %d (%d event(s)): %w", batch[0].Key, batch[0].Seq, len(batch), err)
	}
	return pos, nil
}

// insertOrders inserts the business rows; fresh[i] is false when event i's
// row existed (a retry of a committed command).
func (w *Writer) insertOrders(ctx context.Context, tx pgx.Tx, batch []drivers.Event) ([]bool, error) {
	b := &pgx.Batch{}
	for _, e := range batch {
		b.Queue(w.s.q.insertOrder, e.Key, int64(e.Seq), e.Type, len(e.Payload))
	}
	br := tx.SendBatch(ctx, b)
	fresh := make([]bool, len(batch))
	for i := range batch {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return nil, fmt.Errorf("insert business row: %w", err)
		}
		fresh[i] = tag.RowsAffected() == 1
	}
	return fresh, br.Close()
}

// insertOutbox inserts the outbox rows of the fresh events.
func (w *Writer) insertOutbox(ctx context.Context, tx pgx.Tx, batch []drivers.Event, fresh []bool, pos []drivers.Position) error {
	b := &pgx.Batch{}
	for i, e := range batch {
		if fresh[i] {
			b.Queue(w.s.q.insertEvent, e.ID[:], e.Key, int64(e.Seq), shardOf(e.Key, w.s.cfg.Relays), e.Type, e.Payload, e.CreatedAt)
		}
	}
	if b.Len() == 0 {
		for i := range pos {
			pos[i].Offset = -1
		}
		return nil
	}
	br := tx.SendBatch(ctx, b)
	for i := range batch {
		if !fresh[i] {
			pos[i].Offset = -1
			continue
		}
		if err := br.QueryRow().Scan(&pos[i].Offset); err != nil {
			br.Close()
			return fmt.Errorf("insert outbox row: %w", err)
		}
	}
	return br.Close()
}
