package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/evbench/evbench/drivers"
)

// maxDeliver caps one deliver call (over all shards).
const maxDeliver = 1024

// liveBlock is how long one XREAD waits at the live edge: it returns as
// soon as an entry arrives, and the loop re-checks ctx between waits, so
// a cancelled Subscribe returns within about this long.
const liveBlock = 250 * time.Millisecond

// retryWait and giveUp bound how a subscription rides out a failing
// server: it retries every retryWait and returns an error only after
// giveUp without one success (so a chaos fault never ends a run).
const (
	retryWait = 250 * time.Millisecond
	giveUp    = 2 * time.Minute
)

// Subscribe reads every shard from the cursor on, catch-up then live,
// delivering in batches of what has arrived (in stream order per shard).
//
// Cursor to entry ID: offset o of a shard is entry 0-(o+1) (see nextID),
// so "from offset o" is "after 0-o", computed, never looked up. Catch-up
// pages with XRANGE (exclusive start "(0-o"), one pipeline over all
// shards; once every shard returned less than a page it switches to
// XREAD BLOCK, which wakes as soon as any shard gets an entry. No server
// state is created: several projectors and a rebuild each read
// everything. It returns nil when ctx ends, deliver's error, or an error
// after the server failed for 2 minutes on end.
func (d *Driver) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	if d.isClosed() {
		return errClosed
	}
	after := make([]string, len(d.keys))
	for i := range d.keys {
		after[i] = afterOffset(from[int32(i)])
	}
	page := int64(max(maxDeliver/len(d.keys), 16))
	live := false
	var failingSince time.Time
	for {
		if ctx.Err() != nil {
			return nil
		}
		if d.closeCtx.Err() != nil {
			return errClosed
		}
		var streams [][]goredis.XMessage
		var err error
		if live {
			streams, err = d.readLive(ctx, after, page)
		} else {
			streams, err = d.readRange(ctx, after, page)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if failingSince.IsZero() {
				failingSince = time.Now()
			} else if time.Since(failingSince) > giveUp {
				return fmt.Errorf("redis: subscribe %s: server failing for %s: %w", d.keyNames(), giveUp, err)
			}
			d.opts.Log("redis: subscribe %s: %v (retrying)", d.keyNames(), err)
			select {
			case <-ctx.Done():
				return nil
			case <-d.closeCtx.Done():
				return errClosed
			case <-time.After(retryWait):
			}
			continue
		}
		failingSince = time.Time{}
		batch, full, err := decodeStreams(streams, after, page)
		if err != nil {
			return fmt.Errorf("redis: subscribe %s: %w", d.keyNames(), err)
		}
		live = !full
		if len(batch) == 0 {
			continue
		}
		if err := deliver(batch); err != nil {
			return err
		}
	}
}

// readRange is one XRANGE page per shard, in one pipeline; result i is
// shard i.
func (d *Driver) readRange(ctx context.Context, after []string, page int64) ([][]goredis.XMessage, error) {
	cmds := make([]*goredis.XMessageSliceCmd, len(d.keys))
	_, err := d.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range d.keys {
			cmds[i] = p.XRangeN(ctx, k, "("+after[i], "+", page)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([][]goredis.XMessage, len(cmds))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}

// readLive is one XREAD BLOCK over every shard.
func (d *Driver) readLive(ctx context.Context, after []string, page int64) ([][]goredis.XMessage, error) {
	args := make([]string, 0, 2*len(d.keys))
	args = append(args, d.keys...)
	args = append(args, after...)
	res, err := d.client.XRead(ctx, &goredis.XReadArgs{Streams: args, Count: page, Block: liveBlock}).Result()
	if errors.Is(err, goredis.Nil) {
		return make([][]goredis.XMessage, len(d.keys)), nil // nothing within liveBlock
	}
	if err != nil {
		return nil, err
	}
	out := make([][]goredis.XMessage, len(d.keys))
	for _, s := range res {
		for i, k := range d.keys {
			if s.Stream == k {
				out[i] = s.Messages
			}
		}
	}
	return out, nil
}

// decodeStreams turns one read's entries into deliveries (shard by shard,
// each in stream order), advances after past them, and reports whether
// some shard returned a full page (more may be waiting).
func decodeStreams(streams [][]goredis.XMessage, after []string, page int64) ([]drivers.Delivered, bool, error) {
	var batch []drivers.Delivered
	full := false
	for i, msgs := range streams {
		full = full || int64(len(msgs)) >= page
		for _, m := range msgs {
			dl, err := decode(int32(i), m)
			if err != nil {
				return nil, false, err
			}
			batch = append(batch, dl)
			after[i] = m.ID
		}
	}
	return batch, full, nil
}

// decode reads an entry back into the event and its position.
func decode(shard int32, m goredis.XMessage) (drivers.Delivered, error) {
	seq, err := entrySeq(m.ID)
	if err != nil {
		return drivers.Delivered{}, err
	}
	out := drivers.Delivered{Position: drivers.Position{Partition: shard, Offset: int64(seq) - 1}}
	str := func(f string) (string, error) {
		v, ok := m.Values[f].(string)
		if !ok {
			return "", fmt.Errorf("entry %s: field %q missing (not written by evbench?)", m.ID, f)
		}
		return v, nil
	}
	id, err := str(fID)
	if err != nil {
		return out, err
	}
	if len(id) != len(out.ID) {
		return out, fmt.Errorf("entry %s: field %q holds %d bytes, want %d", m.ID, fID, len(id), len(out.ID))
	}
	copy(out.ID[:], id)
	if out.Key, err = str(fKey); err != nil {
		return out, err
	}
	if out.Type, err = str(fType); err != nil {
		return out, err
	}
	data, err := str(fData)
	if err != nil {
		return out, err
	}
	out.Payload = []byte(data)
	s, err := str(fSeq)
	if err == nil {
		out.Seq, err = strconv.ParseUint(s, 10, 64)
	}
	if err != nil {
		return out, fmt.Errorf("entry %s: field %q: %v", m.ID, fSeq, err)
	}
	c, err := str(fCreated)
	if err == nil {
		out.CreatedAt, err = strconv.ParseInt(c, 10, 64)
	}
	if err != nil {
		return out, fmt.Errorf("entry %s: field %q: %v", m.ID, fCreated, err)
	}
	return out, nil
}
