// Package refstore is the client driver for refstore, evbench's reference
// event store, plus its registration and the embedded in-process server used
// when `evbench run` gets no DSN. The store itself lives in engine/ (log),
// server/ (TCP) and wire/ (protocol).
package refstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/keyroute"
	"github.com/evbench/evbench/drivers/refstore/wire"
)

// Driver is a connection set to one refstore server. Appends pipeline over
// cfg.conns connections, each key always on the same one (see pick); each
// Subscribe opens its own.
type Driver struct {
	cfg    config
	opts   drivers.Options
	slots  []*slot
	route  *keyroute.Router // keeps each key on one slot (see pick)
	closed atomic.Bool
}

// slot holds one append connection and redials it after a failure.
type slot struct {
	mu      sync.Mutex
	pc      *pconn
	dialing chan struct{}
	lastErr error
}

// Open validates dsn and dials every append connection (each within
// dial_timeout, default 5s).
func Open(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
	cfg, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	d := &Driver{cfg: cfg, opts: opts, route: keyroute.New(cfg.conns)}
	for i := 0; i < cfg.conns; i++ {
		d.slots = append(d.slots, &slot{})
	}
	// Dial every append connection now: AppendAsync fails fast on a slot
	// that is not connected (it never waits for a dial), so a lazily
	// dialled slot would fail the first asynchronous appends of its keys.
	for _, s := range d.slots {
		if _, err := d.conn(ctx, s, true); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

// conn returns the slot's live connection. With wait it waits for a
// (re)dial bounded by ctx and dial_timeout; without, it fails fast while a
// redial runs in the background, so an asynchronous caller never stalls.
func (d *Driver) conn(ctx context.Context, s *slot, wait bool) (*pconn, error) {
	if d.closed.Load() {
		return nil, errClosed
	}
	s.mu.Lock()
	if s.pc != nil && !s.pc.broken() {
		pc := s.pc
		s.mu.Unlock()
		return pc, nil
	}
	if s.dialing == nil {
		ch := make(chan struct{})
		s.dialing = ch
		go d.redial(s, ch)
	}
	ch, last := s.dialing, s.lastErr
	s.mu.Unlock()
	if !wait {
		if last == nil && s.pc != nil {
			last = s.pc.err
		}
		return nil, fmt.Errorf("refstore: not connected to %s (reconnecting): %v", d.cfg.addr, last)
	}
	select {
	case <-ch:
	case <-ctx.Done():
		return nil, fmt.Errorf("refstore: connect to %s: %w", d.cfg.addr, ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pc != nil && !s.pc.broken() {
		return s.pc, nil
	}
	return nil, s.lastErr
}

func (d *Driver) redial(s *slot, ch chan struct{}) {
	c, br, lim, err := dial(context.Background(), d.opts.Dialer(), d.cfg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.lastErr == nil { // log the first failure of a streak, not every retry
			d.opts.Log("%v (reconnecting)", err)
		}
		s.lastErr = err
	} else if d.closed.Load() {
		c.Close()
		s.lastErr = errClosed
	} else {
		s.pc, s.lastErr = newPconn(c, br, lim, d.cfg.addr), nil
	}
	s.dialing = nil
	close(ch)
}

// pick returns the connection for batch, the one its key hashes to, and
// whether the batch's keys hash to more than one connection.
//
// Per-key order is the harness's promise: the generator submits a key's
// appends in order, with many in flight at once. One connection keeps
// them in order (frames go out in call order, the server hands them to
// the committer in the order it reads them), but two connections do not:
// their frames reach the committer in whatever order the server's
// per-connection readers get to them, so spreading appends round robin
// let a key's later append commit before an earlier one. So every key
// stays on one connection. The generator's batches hold one key each; a
// batch whose keys span connections is ordered by the router (see ordered).
func (d *Driver) pick(batch []drivers.Event) (s *slot, spans bool) {
	i, spans := d.route.Pick(batch)
	return d.slots[i], spans
}

// ordered makes a hold the router's order until it is answered (see
// keyroute: shared for a batch on one connection, exclusive for a batch
// spanning several).
func (d *Driver) ordered(a answerer, spans bool) answerer {
	d.route.Acquire(spans)
	return &orderedAnswer{a: a, d: d, spans: spans}
}

// orderedAnswer releases the router's order, then answers a.
type orderedAnswer struct {
	a     answerer
	d     *Driver
	spans bool
}

func (o *orderedAnswer) answer(f wire.Frame, err error) {
	o.d.route.Release(o.spans)
	o.a.answer(f, err)
}

// appendFrame encodes batch as an append request straight from
// drivers.Event (no engine.Event copy).
func appendFrame(dst []byte, id uint32, expected ExpectedVersion, batch []drivers.Event) []byte {
	dst, s := wire.BeginAppend(dst, id, int64(expected), len(batch))
	for i := range batch {
		e := &batch[i]
		dst = wire.AppendEvent(dst, e.ID, e.Seq, e.CreatedAt, e.Key, e.Type, e.Payload)
	}
	return wire.End(dst, s)
}

// AppendAsync pipelines the batch (expected version any) and calls done
// once, from the connection's reader goroutine, when the server answered
// after its fsync'd group commit, the connection broke, or ctx ended.
func (d *Driver) AppendAsync(ctx context.Context, batch []drivers.Event, done func([]drivers.Position, error)) {
	d.appendAsync(ctx, batch, false, done)
}

func (d *Driver) appendAsync(ctx context.Context, batch []drivers.Event, wait bool, done func([]drivers.Position, error)) {
	d.appendExpect(ctx, "", ExpectAny, batch, wait, done)
}

// appendExpect sends one append frame; stream is set (and every event is in
// it) when expected is not ExpectAny.
func (d *Driver) appendExpect(ctx context.Context, stream string, expected ExpectedVersion, batch []drivers.Event, wait bool, done func([]drivers.Position, error)) {
	d.send(ctx, expected, batch, wait, &appendOp{n: len(batch), expected: expected, done: done})
}

// send sends one append frame and answers a (see appendAnswer).
func (d *Driver) send(ctx context.Context, expected ExpectedVersion, batch []drivers.Event, wait bool, a answerer) {
	if len(batch) == 0 {
		a.answer(wire.Frame{Type: wire.TAppendOK, Body: emptyPositions}, nil)
		return
	}
	s, spans := d.pick(batch)
	if len(d.slots) > 1 {
		a = d.ordered(a, spans)
	}
	pc, err := d.conn(ctx, s, wait)
	if err != nil {
		a.answer(wire.Frame{}, err)
		return
	}
	if len(batch) > pc.limits.MaxBatch {
		a.answer(wire.Frame{}, fmt.Errorf("refstore: append of %d events exceeds the server's max batch %d: split it", len(batch), pc.limits.MaxBatch))
		return
	}
	pc.call(ctx, func(dst []byte, id uint32) []byte { return appendFrame(dst, id, expected, batch) }, a)
}

// emptyPositions is the body of an answer with no positions.
var emptyPositions = []byte{0, 0, 0, 0}

// appendOp answers an asynchronous append through its done callback.
type appendOp struct {
	n        int
	expected ExpectedVersion
	done     func([]drivers.Position, error)
}

func (o *appendOp) answer(f wire.Frame, err error) {
	o.done(appendAnswer(f, err, o.n, o.expected))
}

// syncAppend is Append's waiter, pooled: one allocation-free round trip
// beyond the returned positions.
type syncAppend struct {
	n        int
	expected ExpectedVersion
	ch       chan syncResult
}

type syncResult struct {
	pos []drivers.Position
	err error
}

func (w *syncAppend) answer(f wire.Frame, err error) {
	pos, err := appendAnswer(f, err, w.n, w.expected)
	w.ch <- syncResult{pos, err}
}

var syncAppends = sync.Pool{New: func() any { return &syncAppend{ch: make(chan syncResult, 1)} }}

// appendAnswer turns an append's answer into positions or an error.
func appendAnswer(f wire.Frame, err error, n int, expected ExpectedVersion) ([]drivers.Position, error) {
	if err != nil {
		return nil, err
	}
	switch f.Type {
	case wire.TAppendOK:
		got, err := wire.CheckPositions(f.Body)
		if err == nil && got != n {
			err = fmt.Errorf("refstore: server answered %d positions for %d events", got, n)
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		out := make([]drivers.Position, n)
		for i := range out {
			out[i] = drivers.Position{Offset: int64(wire.PositionAt(f.Body, i))}
		}
		return out, nil
	case wire.TError:
		err := wire.DecodeError(f.Body)
		var re *wire.RemoteError
		if errors.As(err, &re) && expected != ExpectAny {
			if c, ok := re.Conflict(); ok {
				return nil, &ConflictError{Stream: c.Stream, Expected: expected, Actual: c.Actual}
			}
		}
		return nil, fmt.Errorf("refstore: append: %w", err)
	default:
		return nil, fmt.Errorf("refstore: append: unexpected answer type %d", f.Type)
	}
}

// Append appends and waits for the durable acknowledgement.
func (d *Driver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	w := syncAppends.Get().(*syncAppend)
	w.n, w.expected = len(batch), ExpectAny
	d.send(ctx, ExpectAny, batch, true, w)
	r := <-w.ch // answer has sent its last: w is free again
	syncAppends.Put(w)
	return r.pos, r.err
}

// Head returns {0: next position}.
func (d *Driver) Head(ctx context.Context) (drivers.Cursor, error) {
	pc, err := d.conn(ctx, d.slots[0], true)
	if err != nil {
		return nil, err
	}
	type res struct {
		v   uint64
		err error
	}
	ch := make(chan res, 1)
	pc.call(ctx, func(dst []byte, id uint32) []byte { return wire.AppendEmpty(dst, wire.THead, id) }, answerFunc(func(f wire.Frame, err error) {
		switch {
		case err != nil:
		case f.Type == wire.THeadOK:
			v, err := wire.DecodeU64(f.Body)
			ch <- res{v, err}
			return
		case f.Type == wire.TError:
			err = wire.DecodeError(f.Body)
		default:
			err = fmt.Errorf("unexpected answer type %d", f.Type)
		}
		ch <- res{0, fmt.Errorf("refstore: head: %w", err)}
	}))
	r := <-ch
	if r.err != nil {
		return nil, r.err
	}
	return drivers.Cursor{0: int64(r.v)}, nil
}

// BatchAtomic is true: a batch is one append frame, which the server
// decodes whole (a cut frame is dropped with its connection) and hands to
// the log as one request. The committer checks it (an expected-version
// conflict refuses all of it), encodes it into one commit group, writes
// the group with one pwrite (a failed write is cut back, so no reader or
// recovery sees any of it) and acknowledges it after the group's
// fdatasync; readers see only up to the synced head, never part of a
// group. The one gap: recovery after a crash in the middle of writing or
// syncing a group cuts the torn tail at a record boundary (records carry
// no group marker), so a prefix of a batch that was never acknowledged
// may survive a crash of the store itself.
func (d *Driver) BatchAtomic() bool { return true }

// DeduplicatesByID is true: a retried event ID (within the server's dedupe
// window, default the last 1,048,576 events) returns its original position.
func (d *Driver) DeduplicatesByID() bool { return true }

// Close closes every connection; pending appends fail. Idempotent.
func (d *Driver) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	for _, s := range d.slots {
		s.mu.Lock()
		pc := s.pc
		s.mu.Unlock()
		if pc != nil {
			pc.fail(errClosed)
		}
	}
	return nil
}
