package refstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/refstore/wire"
)

// pconn is one pipelined request connection: any number of requests are in
// flight, matched to answers by request id. A reader goroutine dispatches
// answers; a writer goroutine coalesces outgoing frames into few writes.
type pconn struct {
	c      net.Conn
	addr   string
	limits wire.Limits

	mu      sync.Mutex
	pending map[uint32]func(f wire.Frame, err error)
	nextID  uint32
	err     error
	dead    chan struct{}
	wq      chan []byte
}

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
	p := &pconn{c: c, addr: addr, limits: lim, pending: map[uint32]func(wire.Frame, error){},
		dead: make(chan struct{}), wq: make(chan []byte, 1024)}
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
	for _, cb := range pend {
		cb(wire.Frame{}, err)
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
		cb := p.pending[f.ReqID]
		delete(p.pending, f.ReqID)
		p.mu.Unlock()
		if cb == nil {
			if f.Type == wire.TError && f.ReqID == 0 {
				p.fail(fmt.Errorf("refstore: server %s closed the connection: %w", p.addr, wire.DecodeError(f.Body)))
				return
			}
			continue // an answer to a request whose ctx ended
		}
		cb(f, nil) // callbacks copy what they keep; buf is reused
	}
}

func (p *pconn) writeLoop() {
	bw := bufio.NewWriterSize(p.c, 64<<10)
	for {
		select {
		case b := <-p.wq:
			if _, err := bw.Write(b); err != nil {
				p.fail(fmt.Errorf("refstore: write to %s: %w", p.addr, err))
				return
			}
			if len(p.wq) == 0 {
				if err := bw.Flush(); err != nil {
					p.fail(fmt.Errorf("refstore: write to %s: %w", p.addr, err))
					return
				}
			}
		case <-p.dead:
			return
		}
	}
}

// call sends a frame built by build(reqID) and calls cb exactly once with
// the answer, the connection's failure, or ctx's error.
func (p *pconn) call(ctx context.Context, build func(id uint32) []byte, cb func(f wire.Frame, err error)) {
	if err := ctx.Err(); err != nil {
		cb(wire.Frame{}, err)
		return
	}
	p.mu.Lock()
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		cb(wire.Frame{}, err)
		return
	}
	p.nextID++
	if p.nextID == 0 {
		p.nextID = 1
	}
	id := p.nextID
	var stop func() bool
	var once sync.Once
	finish := func(f wire.Frame, err error) {
		once.Do(func() {
			if stop != nil {
				stop()
			}
			cb(f, err)
		})
	}
	p.pending[id] = finish
	if ctx.Done() != nil { // set under p.mu: the reader cannot run finish before stop is assigned
		stop = context.AfterFunc(ctx, func() {
			p.mu.Lock()
			_, mine := p.pending[id]
			delete(p.pending, id)
			p.mu.Unlock()
			if mine {
				finish(wire.Frame{}, ctx.Err())
			}
		})
	}
	p.mu.Unlock()
	select {
	case p.wq <- build(id):
	case <-p.dead:
	case <-ctx.Done():
	}
}

// errClosed is returned by every method after Close.
var errClosed = errors.New("refstore: driver closed")
