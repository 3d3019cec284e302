package refstore

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/refstore/record"
	"github.com/evbench/evbench/drivers/refstore/wire"
)

// Subscribe opens a dedicated connection and streams from from[0] (0 when
// absent): catch-up and live come from the same server-side reader, so there
// is no gap or duplicate at the switch. Every record's CRC is checked again
// here. It returns nil when ctx ends and an error when the connection
// breaks; resubscribe from the cursor to continue.
func (d *Driver) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	if d.closed.Load() {
		return errClosed
	}
	next := uint64(max(from[0], 0))
	c, br, lim, err := dial(ctx, d.opts.Dialer(), d.cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if _, err := c.Write(wire.AppendU64(nil, wire.TSubscribe, 1, next)); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("refstore: subscribe to %s: %w", d.cfg.addr, err)
	}
	types := map[string]string{}
	var batch []drivers.Delivered
	for {
		// A fresh buffer per frame: delivered payloads alias it.
		f, _, err := wire.ReadFrame(br, lim.MaxFrame+1<<20, nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("refstore: subscription to %s at position %d: %w", d.cfg.addr, next, err)
		}
		switch f.Type {
		case wire.TEvents:
		case wire.TError:
			return fmt.Errorf("refstore: subscription at position %d: %w", next, wire.DecodeError(f.Body))
		default:
			return fmt.Errorf("refstore: subscription: unexpected frame type %d", f.Type)
		}
		n, raw, err := wire.DecodeEventsHeader(f.Body)
		if err != nil {
			return fmt.Errorf("refstore: subscription: %w", err)
		}
		batch = batch[:0]
		for len(raw) > 0 {
			k, pos, err := record.Verify(raw)
			if err != nil {
				return fmt.Errorf("refstore: subscription: record at position %d: %w", next, err)
			}
			if pos != next {
				return fmt.Errorf("refstore: subscription: got position %d, want %d", pos, next)
			}
			batch = append(batch, decode(raw[:k], pos, types))
			raw = raw[k:]
			next++
		}
		if len(batch) != n {
			return fmt.Errorf("refstore: subscription: frame says %d records, has %d", n, len(batch))
		}
		if err := deliver(batch); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// decode turns a verified record into a Delivered. Type strings are
// interned (a workload has a handful); the payload aliases the frame.
func decode(b []byte, pos uint64, types map[string]string) drivers.Delivered {
	le := binary.LittleEndian
	var dl drivers.Delivered
	dl.Position = drivers.Position{Offset: int64(pos)}
	copy(dl.ID[:], b[32:48])
	dl.Seq = le.Uint64(b[48:])
	dl.CreatedAt = int64(le.Uint64(b[56:]))
	sl, tl := int(le.Uint16(b[64:])), int(le.Uint16(b[66:]))
	o := record.HeaderSize
	dl.Key = string(b[o : o+sl])
	o += sl
	tb := b[o : o+tl]
	if t, ok := types[string(tb)]; ok {
		dl.Type = t
	} else {
		dl.Type = string(tb)
		if len(types) < 1024 {
			types[dl.Type] = dl.Type
		}
	}
	o += tl
	dl.Payload = b[o:len(b):len(b)]
	return dl
}
