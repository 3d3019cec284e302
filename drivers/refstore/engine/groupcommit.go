package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers/refstore/record"
)

type request struct {
	AppendRequest
	done   func([]uint64, error) // AppendAsync's callback, or nil
	acker  Acker                 // AppendTo's receiver, or nil
	pos    []uint64
	posBuf []uint64 // AppendTo's reused position space
	err    error
}

// Acker receives the outcome of an append queued with AppendTo.
type Acker interface {
	// Ack is called exactly once, from the committer or a sync worker,
	// and must not block. pos is only valid during the call: the log
	// reuses it (copy what you keep).
	Ack(pos []uint64, err error)
}

// requests recycles AppendTo's requests (and their position space), so a
// server answering over the wire allocates neither per append.
var requests = sync.Pool{New: func() any { return new(request) }}

// finish acknowledges r with its own error or else err.
func (r *request) finish(err error) {
	if r.err == nil {
		r.err = err
	}
	pos := r.pos
	if r.err != nil {
		pos = nil
	}
	if r.acker == nil {
		r.done(pos, r.err)
		return
	}
	r.acker.Ack(pos, r.err)
	*r = request{posBuf: r.posBuf[:0]}
	requests.Put(r)
}

// streamUpd is one stream's change within a commit group: its next version
// and the positions of its first (when new) and newest events.
type streamUpd struct{ next, first, last uint64 }

// groupState is the committer's scratch space, reused across groups.
type groupState struct {
	buf      []byte
	ids      map[[16]byte]uint64  // IDs written earlier in this group
	streams  map[string]streamUpd // streams changed in this group
	idx      []indexEntry         // sparse entries, offsets relative to buf
	lastSync time.Time
}

// AppendAsync queues req for the next commit group and calls done exactly
// once, from the committer goroutine, with one position per event (the
// original position for an event ID already stored). done must not block.
func (l *Log) AppendAsync(req AppendRequest, done func([]uint64, error)) {
	if err := checkRequest(req); err != nil {
		done(nil, err)
		return
	}
	l.submit(&request{AppendRequest: req, done: done})
}

// AppendTo is AppendAsync for a caller that answers many appends: the
// outcome goes to a.Ack, with positions valid only during the call, and
// the log allocates nothing per append beyond the group's own buffers.
func (l *Log) AppendTo(req AppendRequest, a Acker) {
	if err := checkRequest(req); err != nil {
		a.Ack(nil, err)
		return
	}
	r := requests.Get().(*request)
	r.AppendRequest, r.acker = req, a
	l.submit(r)
}

// submit queues r for the committer, or fails it when the log is closed.
func (l *Log) submit(r *request) {
	l.sendMu.RLock()
	if l.closed {
		l.sendMu.RUnlock()
		r.finish(ErrClosed)
		return
	}
	l.reqs <- r
	l.sendMu.RUnlock()
}

// Append appends and waits for the commit (or ctx). When ctx ends first the
// append may still land.
func (l *Log) Append(ctx context.Context, req AppendRequest) ([]uint64, error) {
	type result struct {
		pos []uint64
		err error
	}
	ch := make(chan result, 1)
	l.AppendAsync(req, func(p []uint64, err error) { ch <- result{p, err} })
	select {
	case r := <-ch:
		return r.pos, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func checkRequest(req AppendRequest) error {
	if len(req.Events) == 0 {
		return fmt.Errorf("refstore: append: empty batch (send at least one event)")
	}
	if req.Expected < ExpectAny {
		return fmt.Errorf("refstore: append: expected version %d: want -2 (any), -1 (no stream) or >= 0", req.Expected)
	}
	for i := range req.Events {
		e := &req.Events[i]
		r := record.Record{Stream: e.Stream, Type: e.Type, Payload: e.Payload}
		if err := r.Check(); err != nil {
			return fmt.Errorf("refstore: append event %d: %w", i, err)
		}
		if req.Expected != ExpectAny && e.Stream != req.Events[0].Stream {
			return fmt.Errorf("refstore: append: expected version needs one stream, got %q and %q (split the batch or use any)", req.Events[0].Stream, e.Stream)
		}
	}
	return nil
}

func (l *Log) commitLoop() {
	defer close(l.stopped)
	l.gc.ids = map[[16]byte]uint64{}
	l.gc.streams = map[string]streamUpd{}
	l.gc.lastSync = time.Now()
	pipelined := l.opts.Sync == SyncAlways
	if pipelined {
		l.startSyncers()
	}
	var group []*request
	for {
		first, ok := <-l.reqs
		if !ok {
			if pipelined {
				l.stopSyncers()
			}
			l.finalSync()
			return
		}
		group = append(group[:0], first)
		size := 0
	drain:
		for size < l.opts.MaxGroupBytes {
			select {
			case r, ok := <-l.reqs:
				if !ok {
					break drain
				}
				group = append(group, r)
				for i := range r.Events {
					size += record.HeaderSize + len(r.Events[i].Payload)
				}
			default:
				break drain
			}
		}
		l.commit(group)
		for i := range group {
			group[i] = nil
		}
		l.zeroAhead()
	}
}

func (l *Log) finalSync() {
	if l.opts.Sync != SyncAlways {
		if s := l.segAt(len(l.segs) - 1); s != nil {
			datasync(s.f)
		}
	}
}

func (l *Log) current() *segment {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.segs[len(l.segs)-1]
}

// failure is the error that made the log read-only, or nil.
func (l *Log) failure() error {
	if p := l.failed.Load(); p != nil {
		return *p
	}
	return nil
}

func (l *Log) fail(err error) error {
	l.failed.CompareAndSwap(nil, &err)
	return l.failure()
}

func ackAll(group []*request, err error) {
	for _, r := range group {
		r.finish(err)
	}
}

// commit writes one group with one write. Under sync=always it then hands
// the written group to the syncer and returns at once, so the next group is
// written while this one's fdatasync runs (the syncer acknowledges it after
// an fdatasync that started after the write returned). Under the other
// modes it acknowledges right away. A failed write rolls the group back
// entirely: the file is cut back and no index sees it.
func (l *Log) commit(group []*request) {
	if err := l.failure(); err != nil {
		ackAll(group, err)
		return
	}
	seg := l.current()
	if seg.writeOff >= l.opts.SegmentSize {
		l.inflight.Wait() // sealing needs every group before it synced
		if err := l.failure(); err != nil {
			ackAll(group, err)
			return
		}
		if err := l.roll(seg); err != nil {
			if isSyncErr(err) {
				err = l.fail(fmt.Errorf("%w; the store is read-only until restart", err))
			}
			ackAll(group, err)
			return
		}
		seg = l.current()
	}
	g := &l.gc
	g.buf, g.idx = g.buf[:0], g.idx[:0]
	clear(g.ids)
	clear(g.streams)
	start := l.next
	now := time.Now().UnixNano()
	for _, r := range group {
		r.pos, r.err = l.prepare(r, now)
	}
	if len(g.buf) == 0 {
		if l.opts.Sync == SyncAlways && l.inflight.Load() > 0 {
			// Only retries and conflicts: still ack after the groups
			// before them, whose positions a retry may return.
			l.enqueue(&written{seg: seg, reqs: append([]*request(nil), group...), end: -1})
			return
		}
		ackAll(group, nil)
		return
	}
	if err := l.write(seg); err != nil {
		l.next = start
		ackAll(group, err)
		return
	}
	l.stats.writes.Add(1)
	l.stats.records.Add(l.next - start)
	for id, p := range g.ids {
		l.dedupe.put(id, p)
	}
	l.streams.mu.Lock()
	for s, u := range g.streams {
		l.streams.set(s, u.next, u.first, u.last)
	}
	l.streams.mu.Unlock()
	l.mu.Lock()
	for _, e := range g.idx {
		seg.index = append(seg.index, indexEntry{pos: e.pos, off: seg.writeOff + e.off})
	}
	l.mu.Unlock()
	seg.writeOff += int64(len(g.buf))
	if l.opts.Sync == SyncAlways {
		l.enqueue(&written{seg: seg, reqs: append([]*request(nil), group...), end: seg.writeOff, next: l.next})
		return
	}
	l.publish(seg, seg.writeOff, l.next)
	ackAll(group, nil)
}

// publish makes everything up to end (position next) visible to readers.
func (l *Log) publish(seg *segment, end int64, next uint64) {
	seg.size.Store(end)
	l.committed.Store(next)
	l.notify()
}

// prepare checks one request against the log plus this group's earlier
// requests and encodes it into the group buffer.
func (l *Log) prepare(r *request, now int64) ([]uint64, error) {
	g := &l.gc
	var pos []uint64
	if r.acker != nil { // every pos[i] is set below (or pos is dropped)
		if cap(r.posBuf) < len(r.Events) {
			r.posBuf = make([]uint64, len(r.Events))
		}
		pos = r.posBuf[:len(r.Events)]
	} else {
		pos = make([]uint64, len(r.Events))
	}
	dups := 0
	for i := range r.Events {
		id := r.Events[i].ID
		if p, ok := g.ids[id]; ok {
			pos[i] = p
			dups++
		} else if p, ok := l.dedupe.get(id); ok {
			pos[i] = p
			dups++
		}
	}
	if dups == len(r.Events) {
		return pos, nil // an idempotent retry: the original positions
	}
	if dups == 0 && r.Expected != ExpectAny {
		stream := r.Events[0].Stream
		cur := l.streamNext(stream)
		want := uint64(r.Expected + 1) // ExpectNoStream (-1) wants 0 events
		if cur != want {
			return nil, &ConflictError{Stream: stream, Expected: r.Expected, Actual: int64(cur) - 1}
		}
	}
	for i := range r.Events {
		e := &r.Events[i]
		if dups > 0 {
			if _, seen := g.ids[e.ID]; seen {
				continue
			}
			if _, seen := l.dedupe.get(e.ID); seen {
				continue
			}
		}
		ver := l.streamNext(e.Stream)
		rec := record.Record{Position: l.next, StreamVersion: ver, Timestamp: now, ID: e.ID, Seq: e.Seq,
			CreatedAt: e.CreatedAt, Stream: e.Stream, Type: e.Type, Payload: e.Payload}
		if l.next%l.opts.IndexEvery == 0 {
			g.idx = append(g.idx, indexEntry{pos: l.next, off: int64(len(g.buf))})
		}
		g.buf = record.Append(g.buf, &rec)
		g.ids[e.ID] = l.next
		u := g.streams[e.Stream]
		if ver == 0 {
			u.first = l.next
		}
		u.next, u.last = ver+1, l.next
		g.streams[e.Stream] = u
		pos[i] = l.next
		l.next++
	}
	return pos, nil
}

func (l *Log) streamNext(s string) uint64 {
	if u, ok := l.gc.streams[s]; ok {
		return u.next
	}
	return l.streams.next(s)
}

// write puts the group buffer at the segment's write offset and, under
// sync=interval, syncs when the interval has passed (sync=always syncs in
// the syncer). A failed write is cut back so the file never holds a half
// group; a failed fdatasync makes the log read-only (the kernel may have
// dropped the dirty pages, so nothing written since the last good sync can
// be trusted).
func (l *Log) write(seg *segment) error {
	buf := l.gc.buf
	var err error
	if l.opts.writeHook != nil {
		err = l.opts.writeHook(seg.writeOff, len(buf))
	}
	if err == nil {
		_, err = seg.f.WriteAt(buf, seg.writeOff)
	}
	if err != nil {
		seg.zeroedTo = seg.writeOff
		if terr := seg.f.Truncate(seg.writeOff); terr != nil {
			return l.fail(fmt.Errorf("refstore: segment %s: write failed (%v) and cutting it back failed: %w; the store is read-only until restart", seg.path, err, terr))
		}
		return fmt.Errorf("refstore: append to segment %s at offset %d: %w", seg.path, seg.writeOff, err)
	}
	if l.opts.Sync == SyncInterval && time.Since(l.gc.lastSync) >= l.opts.SyncInterval {
		if err := datasync(seg.f); err != nil {
			return l.fail(syncErr(fmt.Errorf("refstore: fdatasync segment %s: %w; the store is read-only until restart", seg.path, err)))
		}
		l.gc.lastSync = time.Now()
		l.noteDurable(l.next)
	}
	return nil
}

// roll seals seg (synced, cut to its exact size) and starts the next one.
func (l *Log) roll(seg *segment) error {
	if err := datasync(seg.f); err != nil {
		return syncErr(fmt.Errorf("refstore: sync segment %s before roll: %w", seg.path, err))
	}
	if err := seg.f.Truncate(seg.writeOff); err != nil {
		return fmt.Errorf("refstore: seal segment %s: %w", seg.path, err)
	}
	if err := seg.f.Sync(); err != nil {
		return syncErr(fmt.Errorf("refstore: sync sealed segment %s: %w", seg.path, err))
	}
	ns, err := createSegment(l.fs, l.dir, l.next, l.opts.SegmentSize)
	if err != nil {
		return err
	}
	l.mu.Lock()
	seg.sealed.Store(true)
	l.segs = append(l.segs, ns)
	l.mu.Unlock()
	l.noteDurable(l.next)
	// Everything before l.next is durable and sealed: checkpoint it so the
	// next Open need not scan it.
	if data, err := l.encodeCheckpoint(l.next, segHeaderSize); err != nil {
		l.opts.logf("%v", err)
	} else {
		l.checkpointAsync(l.next, data)
	}
	return nil
}
