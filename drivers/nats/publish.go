package nats

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/evbench/evbench/drivers"
)

// Header names carried besides Nats-Msg-Id (the event ID in hex).
const (
	hSeq       = "Evbench-Seq"
	hType      = "Evbench-Type"
	hCreatedAt = "Evbench-Created-At"
	hKey       = "Evbench-Key" // only when the key had to be sanitised for the subject
)

// stallWait is how long one PublishMsgAsync may block on a full pending
// window before we re-check ctx and the ack timeout and try again. Without
// it the client gives up after 200 ms (ErrTooManyStalledMsgs) under load.
const stallWait = 100 * time.Millisecond

// Append publishes the batch and waits for every PubAck (or the first
// failure). Positions are stream sequence - 1 on partition 0.
func (d *Driver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	// AppendAsync always completes: ack_timeout, ctx or Close end it.
	return drivers.AppendAndWait(ctx, d, batch)
}

// AppendAsync publishes every event with PublishMsgAsync and calls done once
// all PubAcks arrived, or on the first error, ctx end or Close. Acks are
// collected by the client's ack callback: no goroutine per event or batch.
// It may block while max_pending publishes are outstanding, never beyond
// ctx or ack_timeout.
func (d *Driver) AppendAsync(ctx context.Context, batch []drivers.Event, done func([]drivers.Position, error)) {
	if d.isClosed() {
		done(nil, errClosed)
		return
	}
	if err := ctx.Err(); err != nil {
		done(nil, err)
		return
	}
	if len(batch) == 0 {
		done(nil, nil)
		return
	}
	t := &batchTracker{pos: make([]drivers.Position, len(batch)), done: done}
	t.left.Store(int32(len(batch)))
	if ctx.Done() == nil {
		t.stop = func() bool { return true } // ctx can never end: nothing to watch
	} else {
		// The watcher may fire before t.stop is set: it must not touch t.stop.
		t.stop = context.AfterFunc(ctx, func() { t.complete(nil, ctx.Err()) })
	}
	deadline := time.Now().Add(d.cfg.AckTimeout)
	for i := range batch {
		msg := d.toMsg(&batch[i])
		d.pending.add(msg, slot{t: t, i: i})
		for {
			_, err := d.js.PublishMsgAsync(msg, jetstream.WithStallWait(stallWait))
			if err == nil {
				break
			}
			if errors.Is(err, jetstream.ErrTooManyStalledMsgs) && ctx.Err() == nil && time.Now().Before(deadline) && !d.isClosed() {
				continue
			}
			d.pending.remove(msg)
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			t.fail(fmt.Errorf("nats: publish to %s: %w", msg.Subject, err))
			// Events after a failed one are not sent: the batch has failed.
			t.drop(len(batch) - i - 1)
			return
		}
		if t.finished.Load() {
			return // ctx ended or an earlier message failed: send no more
		}
	}
}

// BatchAtomic is false: a batch is one PublishMsgAsync per event, each
// stored and acked by the stream on its own (the driver does not use
// JetStream's atomic batch publish), and the events after a failed one are
// not sent, so a failed batch may have landed in part.
//
// Per-key order needs no routing here: the driver has one connection, and
// publishes go out on it in call order.
func (d *Driver) BatchAtomic() bool { return false }

// msgBox is a message with room for its header values: one allocation
// instead of a message and a slice per header.
type msgBox struct {
	msg  nats.Msg
	vals [5]string
}

// toMsg maps an event onto a message: the subject from the key, the ID in
// Nats-Msg-Id (hex, for JetStream's dedupe), the rest in Evbench-* headers.
// The hex ID and the two decimal numbers share one string, and each header
// holds a one-value slice of the box's array (capacity 1, so an append to
// one never writes into the next).
func (d *Driver) toMsg(ev *drivers.Event) *nats.Msg {
	subj, exact := subjectFor(d.cfg.prefix(), ev.Key)
	var arr [32 + 20 + 20]byte // 20: longest decimal uint64/int64
	buf := hex.AppendEncode(arr[:0], ev.ID[:])
	i := len(buf)
	buf = strconv.AppendUint(buf, ev.Seq, 10)
	s := len(buf)
	buf = strconv.AppendInt(buf, ev.CreatedAt, 10)
	text := string(buf)
	b := &msgBox{vals: [5]string{text[:i], text[i:s], ev.Type, text[s:], ev.Key}}
	h := nats.Header{
		nats.MsgIdHdr: b.vals[0:1:1],
		hSeq:          b.vals[1:2:2],
		hType:         b.vals[2:3:3],
		hCreatedAt:    b.vals[3:4:4],
	}
	if !exact {
		h[hKey] = b.vals[4:5:5]
	}
	b.msg = nats.Msg{Subject: subj, Header: h, Data: ev.Payload}
	return &b.msg
}

// subjectFor returns prefix+key with characters a subject token may not
// hold ('.', '*', '>', whitespace, control) replaced by '_'. exact is false
// when the key changed, so the original travels in a header.
func subjectFor(prefix, key string) (string, bool) {
	if key == "" {
		return prefix + "_", false
	}
	clean := true
	for i := 0; i < len(key); i++ {
		if badSubjectByte(key[i]) {
			clean = false
			break
		}
	}
	if clean {
		return prefix + key, true
	}
	b := []byte(key)
	for i := range b {
		if badSubjectByte(b[i]) {
			b[i] = '_'
		}
	}
	return prefix + string(b), false
}

func badSubjectByte(c byte) bool {
	return c == '.' || c == '*' || c == '>' || c <= ' ' || c == 0x7f
}

// batchTracker completes one batch exactly once.
type batchTracker struct {
	pos      []drivers.Position
	left     atomic.Int32
	finished atomic.Bool
	done     func([]drivers.Position, error)
	stop     func() bool // unregisters the ctx watcher
}

func (t *batchTracker) ack(i int, seq uint64) {
	t.pos[i] = drivers.Position{Offset: int64(seq) - 1}
	if t.left.Add(-1) == 0 && t.finished.CompareAndSwap(false, true) {
		t.stop()
		t.done(t.pos, nil)
	}
}

// fail completes the batch with err (called after t.stop is set).
func (t *batchTracker) fail(err error) {
	if t.finished.CompareAndSwap(false, true) {
		t.stop()
		t.done(nil, err)
	}
}

// complete is fail without unregistering the ctx watcher (it is the watcher).
func (t *batchTracker) complete(pos []drivers.Position, err error) {
	if t.finished.CompareAndSwap(false, true) {
		t.done(pos, err)
	}
}

func (t *batchTracker) drop(n int) { t.left.Add(-int32(n)) }

// slot is one published message's place in its batch.
type slot struct {
	t *batchTracker
	i int
}

// pendingMap routes the client's ack/error callbacks to batch trackers.
type pendingMap struct {
	mu sync.Mutex
	m  map[*nats.Msg]slot
}

func (p *pendingMap) add(m *nats.Msg, s slot) {
	p.mu.Lock()
	p.m[m] = s
	p.mu.Unlock()
}

func (p *pendingMap) remove(m *nats.Msg) (slot, bool) {
	p.mu.Lock()
	s, ok := p.m[m]
	delete(p.m, m)
	p.mu.Unlock()
	return s, ok
}

func (p *pendingMap) onAck(_ jetstream.JetStream, m *nats.Msg, ack *jetstream.PubAck) {
	if s, ok := p.remove(m); ok {
		s.t.ack(s.i, ack.Sequence)
	}
}

func (p *pendingMap) onErr(_ jetstream.JetStream, m *nats.Msg, err error) {
	if s, ok := p.remove(m); ok {
		s.t.fail(fmt.Errorf("nats: publish to %s: %w", m.Subject, err))
	}
}

// failAll fails every outstanding publish (on Close).
func (p *pendingMap) failAll(err error) {
	p.mu.Lock()
	slots := make([]slot, 0, len(p.m))
	for m, s := range p.m {
		slots = append(slots, s)
		delete(p.m, m)
	}
	p.mu.Unlock()
	for _, s := range slots {
		s.t.fail(err)
	}
}
