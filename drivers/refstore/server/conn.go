package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers/refstore/wire"
)

type conn struct {
	s       *Server
	c       net.Conn
	version uint16        // protocol version agreed in the handshake
	out     chan []byte   // responses; capacity MaxInFlight+1 so the committer never blocks
	sem     chan struct{} // one slot per pending request
	// rsTok is held by the one read-by-stream answer a connection may have
	// in progress or queued (the writer releases it once written), so a
	// client that never reads holds one answer of server memory, no more.
	rsTok chan struct{}
	wg    sync.WaitGroup
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
	cn := &conn{s: s, c: c, version: v, out: make(chan []byte, s.cfg.MaxInFlight+1), sem: make(chan struct{}, s.cfg.MaxInFlight),
		rsTok: make(chan struct{}, 1)}
	writerDone := make(chan struct{})
	go cn.writer(writerDone)
	sub := cn.readLoop(br)
	cn.wg.Wait() // every pending append answered into out
	close(cn.out)
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
	for {
		f, _, err := wire.ReadFrame(br, s.cfg.MaxFrame, nil)
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
			req, err := wire.DecodeAppend(f.Body, s.cfg.MaxBatch)
			if err != nil {
				cn.send(wire.AppendError(nil, f.ReqID, wire.CodeFor(err), "refstore: append: "+err.Error()))
				if errors.Is(err, wire.ErrMalformed) {
					return nil
				}
				continue
			}
			cn.sem <- struct{}{}
			cn.wg.Add(1)
			id := f.ReqID
			s.log.AppendAsync(req, func(pos []uint64, err error) {
				if err != nil {
					cn.out <- wire.AppendError(nil, id, wire.CodeFor(err), err.Error())
				} else {
					cn.out <- wire.AppendPositions(nil, id, pos)
				}
				cn.wg.Done()
			})
		case wire.THead:
			cn.sem <- struct{}{}
			cn.out <- wire.AppendU64(nil, wire.THeadOK, f.ReqID, s.log.Head())
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
			return func() { cn.subscribe(br, f.ReqID, from) }
		default:
			cn.send(wire.AppendError(nil, f.ReqID, wire.CodeBadRequest, fmt.Sprintf("refstore: unknown frame type %d", f.Type)))
		}
	}
}

// send queues a response that is not tied to a pending request slot.
func (cn *conn) send(b []byte) {
	cn.sem <- struct{}{}
	cn.out <- b
}

// writer coalesces responses into few syscalls: it flushes only when no
// more responses are queued.
func (cn *conn) writer(done chan struct{}) {
	defer close(done)
	bw := bufio.NewWriterSize(cn.c, 64<<10)
	broken := false
	for b := range cn.out {
		if !broken {
			if _, err := bw.Write(b); err != nil {
				broken = true
				cn.c.Close()
			} else if len(cn.out) == 0 {
				if err := bw.Flush(); err != nil {
					broken = true
					cn.c.Close()
				}
			}
		}
		if len(b) > 4 && b[4] == wire.TStreamEvents {
			<-cn.rsTok
		}
		<-cn.sem
	}
	if !broken {
		bw.Flush()
	}
}
