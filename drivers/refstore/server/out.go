package server

import (
	"sync"

	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/wire"
)

// outQueue holds a connection's encoded answers until its writer takes
// them all at once: answers are appended in place (an ack allocates
// nothing and sends on no channel) and the writer is woken only when it is
// not already woken, so one hand-off and one write carry a whole commit
// group's acks.
type outQueue struct {
	mu     sync.Mutex
	buf    []byte
	frames int  // answers in buf; each holds a conn.sem slot until written
	rs     int  // read-stream answers in buf; each holds conn.rsTok until written
	kicked bool // the writer has been woken for buf
	closed bool // no more answers: the writer exits after this batch
	kick   chan struct{}
}

func newOutQueue() outQueue { return outQueue{kick: make(chan struct{}, 1)} }

// queued counts one answer the caller appended to q.buf under q.mu,
// releases q.mu and wakes the writer if needed.
func (q *outQueue) queued(rs bool) {
	q.frames++
	if rs {
		q.rs++
	}
	q.wakeUnlock()
}

// close tells the writer no more answers come.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.wakeUnlock()
}

func (q *outQueue) wakeUnlock() {
	wake := !q.kicked
	q.kicked = true
	q.mu.Unlock()
	if wake {
		q.kick <- struct{}{} // never blocks: kicked guards the one slot
	}
}

// put queues a whole frame (copied) that already holds a sem slot.
func (cn *conn) put(b []byte, rs bool) {
	cn.q.mu.Lock()
	cn.q.buf = append(cn.q.buf, b...)
	cn.q.queued(rs)
}

// appendAck answers one append over its connection. Pooled: with the
// engine's AppendTo and DecodeAppendInto a one-event append costs the
// server no allocation of its own beyond the frame bytes.
type appendAck struct {
	cn  *conn
	id  uint32
	pin int             // frame bytes pinned until the answer
	evs [1]engine.Event // decoding space for a one-event append
}

var appendAcks = sync.Pool{New: func() any { return new(appendAck) }}

// Ack encodes the answer straight into the connection's out queue.
func (a *appendAck) Ack(pos []uint64, err error) {
	cn, id, pin := a.cn, a.id, a.pin
	*a = appendAck{}
	appendAcks.Put(a)
	cn.q.mu.Lock()
	if err != nil {
		cn.q.buf = wire.AppendError(cn.q.buf, id, wire.CodeFor(err), err.Error())
	} else {
		cn.q.buf = wire.AppendPositions(cn.q.buf, id, pos)
	}
	cn.q.queued(false)
	cn.pending.Add(-1)
	cn.unpin(pin)
	cn.wg.Done()
}
