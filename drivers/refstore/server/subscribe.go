package server

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/evbench/evbench/drivers/refstore/wire"
)

const eventsHeader = 4 + wire.FrameHeader + 4

// subscribe streams committed records from `from` on. Each frame is read
// straight from the segment into the send buffer (no re-encoding), and the
// blocking write is the backpressure: a slow client holds one frame of
// server memory, no more.
func (cn *conn) subscribe(br *bufio.Reader, reqID uint32, from uint64) {
	s := cn.s
	r, err := s.log.NewReader(from)
	if err != nil {
		cn.c.Write(wire.AppendError(nil, reqID, wire.CodeBadRequest, err.Error()))
		return
	}
	gone := make(chan struct{})
	go func() { // the client sends nothing more; a read returning means it left
		io.Copy(io.Discard, br)
		close(gone)
	}()
	buf := make([]byte, eventsHeader+s.cfg.ReadBatchBytes)
	for {
		changed := s.log.Changed()
		raw, n, err := r.Read(buf[eventsHeader:eventsHeader], s.cfg.ReadBatchBytes)
		if err != nil {
			s.logf("refstore: subscription from %s: %v", cn.c.RemoteAddr(), err)
			cn.c.Write(wire.AppendError(nil, reqID, wire.CodeUnavailable, err.Error()))
			return
		}
		if n == 0 {
			select {
			case <-changed:
				continue
			case <-gone:
				return
			case <-s.done:
				return
			}
		}
		frame := buf
		if len(raw) > s.cfg.ReadBatchBytes { // one oversized record landed in the reader's own buffer
			frame = make([]byte, eventsHeader+len(raw))
			copy(frame[eventsHeader:], raw)
		}
		frame = frame[:eventsHeader+len(raw)]
		binary.LittleEndian.PutUint32(frame[0:], uint32(len(frame)-4))
		frame[4] = wire.TEvents
		binary.LittleEndian.PutUint32(frame[5:], reqID)
		binary.LittleEndian.PutUint32(frame[9:], uint32(n))
		if _, err := cn.c.Write(frame); err != nil {
			select {
			case <-gone:
			default:
				s.logf("refstore: subscription to %s: %v", cn.c.RemoteAddr(), fmt.Errorf("write: %w", err))
			}
			return
		}
	}
}
