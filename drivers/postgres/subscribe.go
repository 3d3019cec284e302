package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/jackc/pgx/v5"
)

// Subscribe delivers events after from[0] in position order, in batches of
// up to read_batch rows, then waits for NOTIFY (or the poll interval) at
// the live edge. Positions are gapless and become visible in order (see the
// package doc), so reading "position > last" never skips an event.
func (d *Driver) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	if d.closed.Load() {
		return errClosed
	}
	last := from[0] // next 0-based offset == last delivered 1-based position
	wake := make(chan struct{}, 1)
	lctx, stopListen := context.WithCancel(ctx)
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		d.listen(lctx, wake)
	}()
	defer func() { stopListen(); <-listening }()

	buf := make([]drivers.Delivered, 0, d.cfg.ReadBatch)
	timer := time.NewTimer(d.cfg.Poll)
	defer timer.Stop()
	for {
		var err error
		buf, err = d.read(ctx, last, buf[:0])
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if len(buf) > 0 {
			if err := deliver(buf); err != nil {
				return err
			}
			last = buf[len(buf)-1].Position.Offset + 1
			if len(buf) == d.cfg.ReadBatch {
				continue // catching up: read on without waiting
			}
		}
		timer.Reset(d.cfg.Poll)
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-timer.C:
		}
	}
}

// read fetches the rows after position last into buf.
func (d *Driver) read(ctx context.Context, last int64, buf []drivers.Delivered) ([]drivers.Delivered, error) {
	rows, err := d.pool.Query(ctx, d.sql.read, last, d.cfg.ReadBatch)
	if err != nil {
		return buf, fmt.Errorf("postgres: read %s.%s after position %d: %w", d.cfg.Schema, d.cfg.Table, last, err)
	}
	defer rows.Close()
	for rows.Next() {
		var ev drivers.Delivered
		var pos, seq int64
		if err := rows.Scan(&pos, &ev.Key, &ev.ID, &ev.Type, &ev.Payload, &seq, &ev.CreatedAt); err != nil {
			return buf, fmt.Errorf("postgres: read %s.%s: decode row: %w", d.cfg.Schema, d.cfg.Table, err)
		}
		ev.Seq = uint64(seq)
		ev.Position = drivers.Position{Offset: pos - 1}
		buf = append(buf, ev)
	}
	if err := rows.Err(); err != nil {
		return buf, fmt.Errorf("postgres: read %s.%s after position %d: %w", d.cfg.Schema, d.cfg.Table, last, err)
	}
	return buf, nil
}

// listen holds a dedicated connection with LISTEN on the driver's channel
// and signals wake on every notification until ctx ends. Failures are only
// logged: the subscriber falls back to polling.
func (d *Driver) listen(ctx context.Context, wake chan<- struct{}) {
	if !d.cfg.Notify {
		return
	}
	conn, err := pgx.ConnectConfig(ctx, d.connCfg)
	if err != nil {
		if ctx.Err() == nil {
			d.opts.Log("postgres: listen connection failed, polling every %s: %v", d.cfg.Poll, err)
		}
		return
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{d.n.channel}.Sanitize()); err != nil {
		if ctx.Err() == nil {
			d.opts.Log("postgres: LISTEN failed, polling every %s: %v", d.cfg.Poll, err)
		}
		return
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if ctx.Err() == nil {
				d.opts.Log("postgres: notification connection lost, polling every %s: %v", d.cfg.Poll, err)
			}
			return
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}
