package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evbench/evbench/drivers/refstore/wire"
)

type conn struct {
	s       *Server
	c       net.Conn
	version uint16        // protocol version agreed in the handshake
	q       outQueue      // encoded answers for the writer; appending never blocks
	sem     chan struct{} // one slot per pending request (released once its answer is written)
	// rsTok is held by the one read-by-stream answer a connection may have
	// in progress or queued (the writer releases it once written), so a
	// client that never reads holds one answer of server memory, no more.
	rsTok chan struct{}
	wg    sync.WaitGroup

	pending atomic.Int64 // appends sent to the log and not answered yet
	pinMu   sync.Mutex
	pinCond sync.Cond
	pinned  int // bytes of the frames of those appends
}

// pin counts n frame bytes held until unpin.
func (cn *conn) pin(n int) {
	cn.pinMu.Lock()
	cn.pinned += n
	cn.pinMu.Unlock()
}

func (cn *conn) unpin(n int) {
	cn.pinMu.Lock()
	cn.pinned -= n
	cn.pinMu.Unlock()
	cn.pinCond.Signal()
}

// waitPinned blocks while the connection pins MaxConnBytes or more: the
// server reads nothing more from it until commits release frames.
func (cn *conn) waitPinned() {
	cn.pinMu.Lock()
	for cn.pinned >= cn.s.cfg.MaxConnBytes {
		cn.pinCond.Wait()
	}
	cn.pinMu.Unlock()
}

// awaitFrame waits for the next frame's first byte under the idle timeout;
// false means the connection idled out and must close.
func (cn *conn) awaitFrame(br *bufio.Reader) bool {
	idle := cn.s.cfg.IdleTimeout
	if idle < 0 {
		return true
	}
	for {
		cn.c.SetReadDeadline(time.Now().Add(idle))
		if br.Buffered() > 0 {
			return true
		}
		_, err := br.Peek(1)
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
			return true // ReadFrame reports any other error
		}
		if cn.pending.Load() == 0 {
			cn.s.logf("refstore: connection %s: idle for %v: closing it", cn.c.RemoteAddr(), idle)
			return false
		}
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	br := bufio.NewReaderSize(c, 64<<10)
	c.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	f, _, err := wire.ReadFrame(br, 64, nil)
	if err != nil {
		s.reject(c, 0, wire.CodeMalformed, fmt.Sprintf("refstore: handshake from %s: %v (want a hello frame)", c.RemoteAddr(), err))
		return
	}
	if f.Type != wire.THello {
		s.reject(c, f.ReqID, wire.CodeMalformed, fmt.Sprintf("refstore: handshake: got frame type %d, want hello (%d)", f.Type, wire.THello))
		return
	}
	v, err := wire.DecodeHello(f.Body)
	if err != nil {
		s.reject(c, 0, wire.CodeMalformed, "refstore: handshake: "+err.Error())
		return
	}
	if v < wire.MinVersion || v > wire.Version {
		s.reject(c, 0, wire.CodeVersion, fmt.Sprintf("refstore: client speaks protocol %d, this server speaks %d to %d: use matching evbench builds", v, wire.MinVersion, wire.Version))
		return
	}
	c.SetReadDeadline(time.Time{})
	// Answer with the client's version: both sides then speak it.
	if _, err := c.Write(wire.AppendHelloOKVersion(nil, v, wire.Limits{MaxFrame: s.cfg.MaxFrame, MaxBatch: s.cfg.MaxBatch})); err != nil {
		return
	}
	cn := &conn{s: s, c: c, version: v, q: newOutQueue(), sem: make(chan struct{}, s.cfg.MaxInFlight),
		rsTok: make(chan struct{}, 1)}
	cn.pinCond.L = &cn.pinMu
	writerDone := make(chan struct{})
	go cn.writer(writerDone)
	sub := cn.readLoop(br)
	cn.wg.Wait() // every pending append answered into the out queue
	cn.q.close()
	<-writerDone
	if sub != nil {
		sub()
	}
}

// reject sends one error frame and lets the caller close the connection.
func (s *Server) reject(c net.Conn, reqID uint32, code uint16, msg string) {
	s.logf("%s", msg)
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(wire.AppendError(nil, reqID, code, msg))
}

// readLoop handles request frames until the connection ends or switches to
// a subscription, which it returns to be run once the writer is done.
func (cn *conn) readLoop(br *bufio.Reader) (subscription func()) {
	s := cn.s
	// Frames are read into 64 KiB slabs, never reused: a decoded append
	// aliases its frame (payloads, stream and type strings) until the
	// commit, so each frame's bytes must stay as they are; a slab is
	// collected once no request in it is referenced.
	var slab []byte
	off := 0
	for {
		cn.waitPinned()
		if !cn.awaitFrame(br) {
			return nil
		}
		if len(slab)-off < 4<<10 {
			slab, off = make([]byte, 64<<10), 0
		}
		f, nb, err := wire.ReadFrame(br, s.cfg.MaxFrame, slab[off:off])
		if cap(nb) == len(slab)-off { // it fit in the slab (else ReadFrame allocated it)
			off += len(nb)
		}
		if err != nil {
			if errors.Is(err, wire.ErrTooLarge) || errors.Is(err, wire.ErrMalformed) {
				cn.send(wire.AppendError(nil, 0, wire.CodeFor(err), "refstore: "+err.Error()+"; closing the connection"))
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.logf("refstore: connection %s: %v", cn.c.RemoteAddr(), err)
			}
			return nil
		}
		switch f.Type {
		case wire.TAppend:
			a := appendAcks.Get().(*appendAck)
			req, err := wire.DecodeAppendInto(f.Body, s.cfg.MaxBatch, a.evs[:])
			if err != nil {
				appendAcks.Put(a)
				cn.send(wire.AppendError(nil, f.ReqID, wire.CodeFor(err), "refstore: append: "+err.Error()))
				if errors.Is(err, wire.ErrMalformed) {
					return nil
				}
				continue
			}
			cn.sem <- struct{}{}
			cn.wg.Add(1)
			cn.pending.Add(1)
			a.cn, a.id, a.pin = cn, f.ReqID, len(f.Body)+wire.FrameHeader
			cn.pin(a.pin)
			s.log.AppendTo(req, a)
		case wire.THead:
			cn.sem <- struct{}{}
			cn.q.mu.Lock()
			cn.q.buf = wire.AppendU64(cn.q.buf, wire.THeadOK, f.ReqID, s.log.Head())
			cn.q.queued(false)
		case wire.TReadStream:
			if !cn.readStream(f) {
				return nil
			}
		case wire.TSubscribe:
			from, err := wire.DecodeU64(f.Body)
			if err != nil {
				cn.send(wire.AppendError(nil, f.ReqID, wire.CodeMalformed, "refstore: subscribe: "+err.Error()))
				return nil
			}
			cn.c.SetReadDeadline(time.Time{}) // a subscriber sends nothing more
			return func() { cn.subscribe(br, f.ReqID, from) }
		default:
			cn.send(wire.AppendError(nil, f.ReqID, wire.CodeBadRequest, fmt.Sprintf("refstore: unknown frame type %d", f.Type)))
		}
	}
}

// send queues a response that is not tied to a pending request slot.
func (cn *conn) send(b []byte) {
	cn.sem <- struct{}{}
	cn.put(b, false)
}

// writer takes everything queued at once and writes it with one syscall,
// then releases the sem slots (and read-stream tokens) of what it wrote.
// After a failed write it keeps draining, so nothing waits on a slot.
func (cn *conn) writer(done chan struct{}) {
	defer close(done)
	q := &cn.q
	var spare []byte
	broken := false
	for {
		<-q.kick
		q.mu.Lock()
		buf, frames, rs, closed := q.buf, q.frames, q.rs, q.closed
		q.buf, q.frames, q.rs, q.kicked = spare[:0], 0, 0, false
		spare = nil
		q.mu.Unlock()
		if !broken && len(buf) > 0 {
			if _, err := cn.c.Write(buf); err != nil {
				broken = true
				cn.c.Close()
			}
		}
		for range rs {
			<-cn.rsTok
		}
		for range frames {
			<-cn.sem
		}
		if closed {
			return
		}
		if cap(buf) <= 1<<20 { // keep a normal buffer for reuse, drop a huge one
			spare = buf[:0]
		}
	}
}
