package server

import (
	"errors"
	"fmt"

	"github.com/evbench/evbench/drivers/refstore/wire"
)

// readStream answers a TReadStream frame in the background (a long scan
// must not hold up the appends pipelined behind it) and returns false when
// the frame was malformed and the connection must close. One answer per
// connection is in progress or queued at a time (rsTok); the answer holds
// at most ReadBatchBytes of records (plus one record when a single one is
// larger) and says FlagCut when it stopped there.
func (cn *conn) readStream(f wire.Frame) bool {
	s := cn.s
	if cn.version < 2 {
		cn.send(wire.AppendError(nil, f.ReqID, wire.CodeBadRequest, fmt.Sprintf("refstore: read stream needs protocol 2, the connection speaks %d", cn.version)))
		return true
	}
	rs, err := wire.DecodeReadStream(f.Body, s.cfg.MaxBatch)
	if err != nil {
		cn.send(wire.AppendError(nil, f.ReqID, wire.CodeFor(err), "refstore: "+err.Error()))
		return !errors.Is(err, wire.ErrMalformed)
	}
	cn.rsTok <- struct{}{}
	cn.sem <- struct{}{}
	cn.wg.Add(1)
	id := f.ReqID
	limit := min(s.cfg.ReadBatchBytes, s.cfg.MaxFrame-wire.StreamEventsHeader)
	go func() {
		defer cn.wg.Done()
		frame := make([]byte, wire.StreamEventsHeader, wire.StreamEventsHeader+4096)
		res, err := s.log.ScanStream(rs.Stream, rs.FromVersion, rs.Max, limit, func(raw []byte) {
			frame = append(frame, raw...)
		})
		if err != nil {
			s.logf("refstore: read stream %q for %s: %v", rs.Stream, cn.c.RemoteAddr(), err)
			<-cn.rsTok // an error frame does not hold the token
			cn.put(wire.AppendError(nil, id, wire.CodeUnavailable, err.Error()), false)
			return
		}
		var flags byte
		if res.Cut {
			flags = wire.FlagCut
		}
		wire.PutStreamEventsHeader(frame, id, flags, res.Count)
		cn.put(frame, true) // the writer releases rsTok once it is written
	}()
	return true
}
