// Package wire is the refstore TCP protocol: length-prefixed frames with a
// request id (so appends pipeline on one connection), a versioned handshake,
// and hard limits that reject oversize or malformed input with an error
// frame instead of trusting it.
//
// Frame: u32 length (of everything after it) | u8 type | u32 request id | body.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Protocol constants.
const (
	Magic = "RFST"
	// Version is the protocol this build speaks: 2 added TReadStream. A
	// server accepts hellos from MinVersion to Version, so older clients
	// keep working; a client reads the server's version from THelloOK.
	Version = 2
	// MinVersion is the oldest client protocol a server still accepts.
	MinVersion = 1
	// FrameHeader is the fixed bytes after the length prefix.
	FrameHeader = 5
	// DefaultMaxFrame is the largest frame either side accepts by default.
	DefaultMaxFrame = 16 << 20
	// DefaultMaxBatch is the most events one append frame may carry.
	DefaultMaxBatch = 10000
)

// Frame types.
const (
	THello     byte = 1 // client: magic, u16 version
	THelloOK   byte = 2 // server: u16 version, u32 max frame, u32 max batch
	TAppend    byte = 3 // client: i64 expected, u32 n, events
	TAppendOK  byte = 4 // server: u32 n, u64 positions
	TError     byte = 5 // server: u16 code, message
	THead      byte = 6 // client: empty
	THeadOK    byte = 7 // server: u64 next position
	TSubscribe byte = 8 // client: u64 from; the connection then only streams
	TEvents    byte = 9 // server: u32 n, raw log records (see package record)
	// TReadStream (version 2) reads one stream: u64 from version, u32 max
	// events, u16 stream length, stream.
	TReadStream byte = 10
	// TStreamEvents answers it: u8 flags (FlagCut), u32 n, raw log records.
	TStreamEvents byte = 11
)

// Error codes carried by TError.
const (
	CodeMalformed   uint16 = 1 // the frame could not be parsed; the connection closes
	CodeTooLarge    uint16 = 2 // frame or batch over the limit
	CodeConflict    uint16 = 3 // wrong expected version
	CodeUnavailable uint16 = 4 // the store could not do it (I/O error, closed)
	CodeVersion     uint16 = 5 // handshake version mismatch
	CodeBadRequest  uint16 = 6 // well-formed but invalid (empty batch, unknown type)
)

// FlagCut in TStreamEvents says the server stopped at its frame size limit
// with more of the stream possibly left: ask again from the last version + 1.
const FlagCut byte = 1

// Frame is one decoded frame; Body aliases the reader's buffer.
type Frame struct {
	Type  byte
	ReqID uint32
	Body  []byte
}

// Errors from ReadFrame.
var (
	ErrTooLarge  = errors.New("wire: frame too large")
	ErrMalformed = errors.New("wire: malformed frame")
)

// ReadFrame reads one frame into buf (grown as needed, returned for reuse).
// A frame over maxFrame is refused before its body is read.
func ReadFrame(r io.Reader, maxFrame int, buf []byte) (Frame, []byte, error) {
	var hdr [4 + FrameHeader]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return Frame{}, buf, err
	}
	n := int(binary.LittleEndian.Uint32(hdr[:4]))
	if n < FrameHeader {
		return Frame{}, buf, fmt.Errorf("%w: length %d is below the %d-byte header", ErrMalformed, n, FrameHeader)
	}
	if n > maxFrame {
		return Frame{}, buf, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, n, maxFrame)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, buf, err
	}
	return Frame{Type: buf[0], ReqID: binary.LittleEndian.Uint32(buf[1:]), Body: buf[FrameHeader:]}, buf, nil
}

// Begin starts a frame on dst; finish it with End after appending the body.
func Begin(dst []byte, typ byte, reqID uint32) ([]byte, int) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, typ, 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(dst[start+5:], reqID)
	return dst, start
}

// End writes the length prefix of the frame begun at start.
func End(dst []byte, start int) []byte {
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// decoder reads little-endian fields, remembering the first short read.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = fmt.Errorf("%w: body ends early (want %d more bytes, have %d)", ErrMalformed, n, len(d.b))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() byte {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if b := d.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(d.b))
	}
	return d.err
}
