package refstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/refstore/wire"
)

// pconn is one pipelined request connection: any number of requests are in
// flight, matched to answers by request id. A reader goroutine dispatches
// answers; a writer goroutine coalesces outgoing frames into few writes.
//
// Write combining: callers encode their frame straight into wbuf (no
// per-frame allocation or channel send) and wake the writer only when it is
// not already woken, so one hand-off and one write syscall carry every frame
// queued meanwhile. The writer yields once before taking the buffer: the
// appenders an answer batch just made runnable then add their frames first
// (on 2 cores the woken writer would otherwise run next and write them one
// syscall each).
type pconn struct {
	c      net.Conn
	addr   string
	limits wire.Limits

	mu      sync.Mutex
	pending map[uint32]pendingCall
	nextID  uint32
	err     error
	dead    chan struct{}

	wmu    sync.Mutex
	wbuf   []byte        // encoded frames not yet taken by the writer
	kicked bool          // the writer has been woken for wbuf
	room   chan struct{} // closed when the writer takes wbuf (callers over maxQueued wait on it)
	kick   chan struct{} // wakes the writer (capacity 1)
}

// answerer receives one request's answer (or the failure that ended it)
// exactly once. An interface rather than a closure so a pooled or reused
// value can serve it without a per-call allocation.
type answerer interface {
	answer(f wire.Frame, err error)
}

// answerFunc adapts a function to answerer.
type answerFunc func(f wire.Frame, err error)

func (fn answerFunc) answer(f wire.Frame, err error) { fn(f, err) }

// pendingCall is a request in flight. Whoever removes it from the pending
// map (the reader, ctx's AfterFunc, or fail) answers it, so it is answered
// exactly once without a sync.Once.
type pendingCall struct {
	a    answerer
	stop func() bool // unregisters ctx's AfterFunc; nil when ctx cannot end
}

// end stops the ctx watch and answers.
func (pc pendingCall) end(f wire.Frame, err error) {
	if pc.stop != nil {
		pc.stop()
	}
	pc.a.answer(f, err)
}

// maxQueued bounds the encoded bytes waiting for the writer; a caller
// finding more waits (bounded by its ctx) until the writer takes them, so a
// stalled connection holds bounded client memory.
const maxQueued = 4 << 20

// dial connects and completes the handshake within cfg.dialTimeout.
func dial(ctx context.Context, dialFn drivers.DialFunc, cfg config) (net.Conn, *bufio.Reader, wire.Limits, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.dialTimeout)
	defer cancel()
	c, err := dialFn(ctx, "tcp", cfg.addr)
	if err != nil {
		return nil, nil, wire.Limits{}, fmt.Errorf("refstore: connect to %s: %w", cfg.addr, err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(err error) (net.Conn, *bufio.Reader, wire.Limits, error) {
		c.Close()
		return nil, nil, wire.Limits{}, fmt.Errorf("refstore: handshake with %s: %w", cfg.addr, err)
	}
	if _, err := c.Write(wire.AppendHello(nil)); err != nil {
		return fail(err)
	}
	br := bufio.NewReaderSize(c, 256<<10)
	f, _, err := wire.ReadFrame(br, 1<<16, nil)
	if err != nil {
		return fail(err)
	}
	if f.Type == wire.TError {
		return fail(wire.DecodeError(f.Body))
	}
	if f.Type != wire.THelloOK {
		return fail(fmt.Errorf("got frame type %d, want hello-ok (is %s a refstore server?)", f.Type, cfg.addr))
	}
	_, lim, err := wire.DecodeHelloOK(f.Body)
	if err != nil {
		return fail(err)
	}
	if !stop() {
		return fail(ctx.Err())
	}
	c.SetDeadline(time.Time{})
	return c, br, lim, nil
}

func newPconn(c net.Conn, br *bufio.Reader, lim wire.Limits, addr string) *pconn {
	p := &pconn{c: c, addr: addr, limits: lim, pending: map[uint32]pendingCall{},
		dead: make(chan struct{}), kick: make(chan struct{}, 1)}
	go p.readLoop(br)
	go p.writeLoop()
	return p
}

func (p *pconn) broken() bool {
	select {
	case <-p.dead:
		return true
	default:
		return false
	}
}

// fail marks the connection dead and fails every pending request.
func (p *pconn) fail(err error) {
	p.mu.Lock()
	if p.err != nil {
		p.mu.Unlock()
		return
	}
	p.err = err
	close(p.dead)
	pend := p.pending
	p.pending = nil
	p.mu.Unlock()
	p.c.Close()
	for _, pc := range pend {
		pc.end(wire.Frame{}, err)
	}
}

func (p *pconn) readLoop(br *bufio.Reader) {
	var buf []byte
	for {
		f, nb, err := wire.ReadFrame(br, p.limits.MaxFrame+1<<20, buf)
		buf = nb
		if err != nil {
			p.fail(fmt.Errorf("refstore: connection to %s lost: %w", p.addr, err))
			return
		}
		p.mu.Lock()
		pc, ok := p.pending[f.ReqID]
		delete(p.pending, f.ReqID)
		p.mu.Unlock()
		if !ok {
			if f.Type == wire.TError && f.ReqID == 0 {
				p.fail(fmt.Errorf("refstore: server %s closed the connection: %w", p.addr, wire.DecodeError(f.Body)))
				return
			}
			continue // an answer to a request whose ctx ended
		}
		pc.end(f, nil) // answerers copy what they keep; buf is reused
	}
}

func (p *pconn) writeLoop() {
	var spare []byte
	for {
		select {
		case <-p.kick:
		case <-p.dead:
			return
		}
		runtime.Gosched() // let already-runnable callers add their frames (see pconn)
		p.wmu.Lock()
		buf := p.wbuf
		p.wbuf, spare = spare[:0], nil
		p.kicked = false
		if p.room != nil {
			close(p.room)
			p.room = nil
		}
		p.wmu.Unlock()
		if _, err := p.c.Write(buf); err != nil {
			p.fail(fmt.Errorf("refstore: write to %s: %w", p.addr, err))
			return
		}
		if cap(buf) <= 1<<20 { // keep a normal buffer for reuse, drop a huge one
			spare = buf[:0]
		}
	}
}

// call sends the frame build appends to dst for reqID and answers a exactly
// once with the answer, the connection's failure, or ctx's error.
func (p *pconn) call(ctx context.Context, build func(dst []byte, id uint32) []byte, a answerer) {
	if err := ctx.Err(); err != nil {
		a.answer(wire.Frame{}, err)
		return
	}
	p.mu.Lock()
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		a.answer(wire.Frame{}, err)
		return
	}
	p.nextID++
	if p.nextID == 0 {
		p.nextID = 1
	}
	id := p.nextID
	pc := pendingCall{a: a}
	if ctx.Done() != nil { // registered under p.mu: the reader cannot take the entry before stop is in it
		pc.stop = context.AfterFunc(ctx, func() {
			p.mu.Lock()
			mine, ok := p.pending[id]
			delete(p.pending, id)
			p.mu.Unlock()
			if ok {
				mine.a.answer(wire.Frame{}, ctx.Err())
			}
		})
	}
	p.pending[id] = pc
	p.mu.Unlock()
	p.enqueue(ctx, id, build)
}

// enqueue appends one frame to the write buffer and wakes the writer if it
// is not already woken. It gives up (the pending entry then ends through
// ctx or the connection's failure) when ctx ends or the connection dies
// while the buffer is full.
func (p *pconn) enqueue(ctx context.Context, id uint32, build func(dst []byte, id uint32) []byte) {
	p.wmu.Lock()
	for len(p.wbuf) >= maxQueued {
		if p.room == nil {
			p.room = make(chan struct{})
		}
		room := p.room
		p.wmu.Unlock()
		select {
		case <-room:
		case <-p.dead:
			return
		case <-ctx.Done():
			return
		}
		p.wmu.Lock()
	}
	p.wbuf = build(p.wbuf, id)
	wake := !p.kicked
	p.kicked = true
	p.wmu.Unlock()
	if wake {
		p.kick <- struct{}{} // never blocks: kicked guards the one slot
	}
}

// errClosed is returned by every method after Close.
var errClosed = errors.New("refstore: driver closed")
