package redis

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/evbench/evbench/drivers"
)

// Stream entry fields. Entries that share their field names are stored
// with the names once per listpack node, so short names cost nothing.
const (
	fID      = "id"   // the event ID, 16 raw bytes
	fKey     = "key"  // the event key
	fSeq     = "seq"  // per-key sequence, decimal
	fType    = "type" // event type
	fCreated = "at"   // CreatedAt, unix ns, decimal
	fData    = "data" // payload
)

// nextID is XADD's ID argument: millisecond 0, sequence chosen by the
// server (one above the stream's top), so IDs are 0-1, 0-2, ...
const nextID = "0-*"

// maxFlush caps the events one lane sends in one MULTI/EXEC.
const maxFlush = 4096

// shardOf is the shard of key: FNV-1a 64 of the key through murmur3's
// 64-bit finaliser, modulo shards. Stable across processes, so every
// connection (and every later run) sends a key to the same stream. The
// finaliser matters: FNV-1a's low bits depend only on the low bits of
// each byte ("kx", "kxx", ... all have the same parity), and a modulo
// by a power of two reads only those.
func shardOf(key string, shards int) int {
	if shards == 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return int(x % uint64(shards))
}

// entrySeq is the sequence of an ID written with nextID ("0-N").
func entrySeq(id string) (uint64, error) {
	ms, seq, ok := strings.Cut(id, "-")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || ms != "0" || err != nil || n == 0 {
		return 0, fmt.Errorf("stream entry ID %q was not written by evbench (its IDs are 0-1, 0-2, ...): use a stream of its own or --reset", id)
	}
	return n, nil
}

// afterOffset is the ID after which offset o starts: offset o is entry
// 0-(o+1), so everything from o on is after 0-o.
func afterOffset(o int64) string { return "0-" + strconv.FormatInt(max(o, 0), 10) }

// entryID is the ID of the entry at offset o.
func entryID(o int64) string { return "0-" + strconv.FormatInt(o+1, 10) }

// request is one Append waiting in a lane.
type request struct {
	ctx   context.Context
	batch []drivers.Event
	done  func([]drivers.Position, error)
}

// lane sends the appends queued on it in call order, all of a flush in one
// MULTI/EXEC round trip: appends of one key (always on one lane) reach
// Redis in the order they were made, however many are in flight.
type lane struct {
	d      *Driver
	mu     sync.Mutex
	q      []*request
	closed bool // set when run returns: later requests fail at once
	wake   chan struct{}
}

// AppendAsync queues batch on its key's lane and calls done once Redis
// answered the transaction carrying it (or it failed).
func (d *Driver) AppendAsync(ctx context.Context, batch []drivers.Event, done func([]drivers.Position, error)) {
	if len(batch) == 0 {
		done(nil, nil)
		return
	}
	if d.isClosed() {
		done(nil, errClosed)
		return
	}
	if err := ctx.Err(); err != nil {
		done(nil, fmt.Errorf("redis: append: %w", err))
		return
	}
	i, spans := d.route.Pick(batch)
	if len(d.lanes) > 1 {
		d.route.Acquire(spans)
		inner := done
		done = func(p []drivers.Position, err error) { d.route.Release(spans); inner(p, err) }
	}
	d.lanes[i].enqueue(&request{ctx: ctx, batch: batch, done: done})
}

// Append is AppendAsync waited for: it goes through the same lane, so a
// synchronous append never overtakes asynchronous ones of its key.
func (d *Driver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	return drivers.AppendAndWait(ctx, d, batch)
}

func (l *lane) enqueue(r *request) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		r.done(nil, errClosed)
		return
	}
	l.q = append(l.q, r)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// take removes up to maxFlush events' worth of requests (at least one).
func (l *lane) take() []*request {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, events := 0, 0
	for n < len(l.q) && (n == 0 || events+len(l.q[n].batch) <= maxFlush) {
		events += len(l.q[n].batch)
		n++
	}
	out := make([]*request, n)
	copy(out, l.q[:n])
	l.q = append(l.q[:0], l.q[n:]...)
	if len(l.q) > 0 {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	return out
}

// run flushes until Close, then fails what is still queued.
func (l *lane) run() {
	defer l.d.lanesWG.Done()
	for {
		select {
		case <-l.d.closeCtx.Done():
			l.mu.Lock()
			l.closed = true
			rest := l.q
			l.q = nil
			l.mu.Unlock()
			for _, r := range rest {
				r.done(nil, errClosed)
			}
			return
		case <-l.wake:
			if reqs := l.take(); len(reqs) > 0 {
				l.flush(reqs)
			}
		}
	}
}

// flush sends reqs (those whose ctx is still live) as one MULTI/EXEC and
// answers each.
func (l *lane) flush(reqs []*request) {
	live := reqs[:0]
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			r.done(nil, fmt.Errorf("redis: append: %w", err))
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	d := l.d
	cmds := make([][]*goredis.StringCmd, len(live))
	ctx := d.closeCtx
	_, _ = d.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for i, r := range live {
			cmds[i] = make([]*goredis.StringCmd, len(r.batch))
			for j := range r.batch {
				e := &r.batch[j]
				cmds[i][j] = p.XAdd(ctx, &goredis.XAddArgs{
					Stream: d.keys[shardOf(e.Key, d.cfg.Shards)],
					ID:     nextID,
					Values: []any{
						fID, e.ID[:], fKey, e.Key, fSeq, strconv.FormatUint(e.Seq, 10),
						fType, e.Type, fCreated, strconv.FormatInt(e.CreatedAt, 10), fData, e.Payload,
					},
				})
			}
		}
		return nil
	})
	for i, r := range live {
		r.done(positions(d.cfg.Shards, r.batch, cmds[i]))
	}
}

// positions turns one request's XADD replies into positions; any failed
// XADD fails the request, ambiguous. go-redis sets a failed round trip's
// error on every command, so a request whose XADDs all answered with an
// ID landed, even when another request's XADD in the same transaction
// failed (TxPipelined then returns that command's error).
func positions(shards int, batch []drivers.Event, cmds []*goredis.StringCmd) ([]drivers.Position, error) {
	pos := make([]drivers.Position, len(batch))
	for j, c := range cmds {
		id, err := c.Result()
		if err == nil {
			var seq uint64
			if seq, err = entrySeq(id); err == nil {
				pos[j] = drivers.Position{Partition: int32(shardOf(batch[j].Key, shards)), Offset: int64(seq) - 1}
				continue
			}
		}
		return nil, fmt.Errorf("redis: append (XADD in MULTI/EXEC) of %d event(s) of key %q: %w", len(batch), batch[0].Key, err)
	}
	return pos, nil
}
