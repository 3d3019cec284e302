package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/evbench/evbench/drivers/refstore/record"
)

// ReadStream is a decoded TReadStream request.
type ReadStream struct {
	Stream      string
	FromVersion uint64
	Max         int
}

// AppendReadStream encodes a read-by-stream request. The caller keeps the
// stream id within record.MaxStream bytes.
func AppendReadStream(dst []byte, reqID uint32, stream string, fromVersion uint64, max int) []byte {
	dst, s := Begin(dst, TReadStream, reqID)
	le := binary.LittleEndian
	dst = le.AppendUint64(dst, fromVersion)
	dst = le.AppendUint32(dst, uint32(max))
	dst = le.AppendUint16(dst, uint16(len(stream)))
	dst = append(dst, stream...)
	return End(dst, s)
}

// DecodeReadStream parses a read-by-stream request; max must be 1 to
// maxBatch.
func DecodeReadStream(body []byte, maxBatch int) (ReadStream, error) {
	d := decoder{b: body}
	rs := ReadStream{FromVersion: d.u64(), Max: int(d.u32())}
	rs.Stream = string(d.take(int(d.u16())))
	if err := d.done(); err != nil {
		return rs, err
	}
	if rs.Max < 1 || rs.Max > maxBatch {
		return rs, fmt.Errorf("%w: read stream %q: max %d events, want 1 to %d", ErrTooLarge, rs.Stream, rs.Max, maxBatch)
	}
	return rs, nil
}

// StreamEventsHeader is the size of a TStreamEvents frame before its records
// (length prefix included).
const StreamEventsHeader = 4 + FrameHeader + 1 + 4

// PutStreamEventsHeader fills the first StreamEventsHeader bytes of frame,
// whose records follow them, so the server can read records straight into
// the frame.
func PutStreamEventsHeader(frame []byte, reqID uint32, flags byte, n int) {
	le := binary.LittleEndian
	le.PutUint32(frame[0:], uint32(len(frame)-4))
	frame[4] = TStreamEvents
	le.PutUint32(frame[5:], reqID)
	frame[9] = flags
	le.PutUint32(frame[10:], uint32(n))
}

// DecodeStreamEvents splits a TStreamEvents body into its flags, count and
// raw records, checking that the records are exactly n whole, CRC-valid
// ones.
func DecodeStreamEvents(body []byte) (byte, int, []byte, error) {
	d := decoder{b: body}
	flags := d.u8()
	n := int(d.u32())
	if d.err != nil {
		return 0, 0, nil, d.err
	}
	raw, count := d.b, 0
	for b := raw; len(b) > 0; count++ {
		k, _, err := record.Verify(b)
		if err != nil {
			return 0, 0, nil, fmt.Errorf("%w: stream events record %d: %v", ErrMalformed, count, err)
		}
		b = b[k:]
	}
	if count != n {
		return 0, 0, nil, fmt.Errorf("%w: stream events frame says %d records, has %d", ErrMalformed, n, count)
	}
	return flags, n, raw, nil
}
