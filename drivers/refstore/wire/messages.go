package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/evbench/evbench/drivers/refstore/engine"
)

// AppendHello encodes the client's handshake.
func AppendHello(dst []byte) []byte {
	dst, s := Begin(dst, THello, 0)
	dst = append(dst, Magic...)
	dst = binary.LittleEndian.AppendUint16(dst, Version)
	return End(dst, s)
}

// DecodeHello returns the client's protocol version.
func DecodeHello(body []byte) (uint16, error) {
	d := decoder{b: body}
	if m := d.take(4); d.err == nil && string(m) != Magic {
		return 0, fmt.Errorf("%w: handshake magic %q, want %q (not a refstore client?)", ErrMalformed, m, Magic)
	}
	v := d.u16()
	return v, d.done()
}

// Limits are what the server accepts, sent in THelloOK.
type Limits struct {
	MaxFrame int
	MaxBatch int
	// Version is the protocol agreed in the handshake (set by
	// DecodeHelloOK; AppendHelloOKVersion takes it separately).
	Version uint16
}

// AppendHelloOK encodes the server's handshake answer for a client of the
// current Version.
func AppendHelloOK(dst []byte, l Limits) []byte { return AppendHelloOKVersion(dst, Version, l) }

// AppendHelloOKVersion encodes the handshake answer agreeing on version v
// (the client's, when the server accepts it).
func AppendHelloOKVersion(dst []byte, v uint16, l Limits) []byte {
	dst, s := Begin(dst, THelloOK, 0)
	dst = binary.LittleEndian.AppendUint16(dst, v)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(l.MaxFrame))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(l.MaxBatch))
	return End(dst, s)
}

// DecodeHelloOK returns the server's version and limits.
func DecodeHelloOK(body []byte) (uint16, Limits, error) {
	d := decoder{b: body}
	v := d.u16()
	l := Limits{MaxFrame: int(d.u32()), MaxBatch: int(d.u32()), Version: v}
	return v, l, d.done()
}

// AppendAppend encodes an append request.
func AppendAppend(dst []byte, reqID uint32, expected int64, evs []engine.Event) []byte {
	dst, s := BeginAppend(dst, reqID, expected, len(evs))
	for i := range evs {
		e := &evs[i]
		dst = AppendEvent(dst, e.ID, e.Seq, e.CreatedAt, e.Stream, e.Type, e.Payload)
	}
	return End(dst, s)
}

// BeginAppend starts an append request of n events; add each with
// AppendEvent, then call End. It lets a client encode its own event type
// without converting it to engine.Event first.
func BeginAppend(dst []byte, reqID uint32, expected int64, n int) ([]byte, int) {
	dst, s := Begin(dst, TAppend, reqID)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(expected))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	return dst, s
}

// AppendEvent adds one event to an append request begun with BeginAppend.
func AppendEvent(dst []byte, id [16]byte, seq uint64, createdAt int64, stream, typ string, payload []byte) []byte {
	le := binary.LittleEndian
	dst = append(dst, id[:]...)
	dst = le.AppendUint64(dst, seq)
	dst = le.AppendUint64(dst, uint64(createdAt))
	dst = le.AppendUint16(dst, uint16(len(stream)))
	dst = append(dst, stream...)
	dst = le.AppendUint16(dst, uint16(len(typ)))
	dst = append(dst, typ...)
	dst = le.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// DecodeAppend parses an append body. Payloads alias body.
func DecodeAppend(body []byte, maxBatch int) (engine.AppendRequest, error) {
	req, err := decodeAppend(body, maxBatch, nil, false)
	return req, err
}

// DecodeAppendInto is DecodeAppend for a server: the events go into evs
// when it is large enough (else a new slice), and stream and type strings
// alias body as the payloads do, so a one-event append allocates nothing.
// body must never be modified afterwards (the strings would change).
func DecodeAppendInto(body []byte, maxBatch int, evs []engine.Event) (engine.AppendRequest, error) {
	return decodeAppend(body, maxBatch, evs, true)
}

func decodeAppend(body []byte, maxBatch int, evs []engine.Event, alias bool) (engine.AppendRequest, error) {
	d := decoder{b: body}
	req := engine.AppendRequest{Expected: int64(d.u64())}
	n := int(d.u32())
	if d.err != nil {
		return req, d.err
	}
	if n > maxBatch {
		return req, fmt.Errorf("%w: batch of %d events, the limit is %d", ErrTooLarge, n, maxBatch)
	}
	if n*38 > len(d.b) { // 38 = smallest encoded event
		return req, fmt.Errorf("%w: %d events cannot fit in %d bytes", ErrMalformed, n, len(d.b))
	}
	if cap(evs) >= n {
		req.Events = evs[:n]
	} else {
		req.Events = make([]engine.Event, n)
	}
	str := func(b []byte) string {
		if alias && len(b) > 0 {
			return unsafe.String(&b[0], len(b))
		}
		return string(b)
	}
	for i := range req.Events {
		e := &req.Events[i]
		copy(e.ID[:], d.take(16))
		e.Seq = d.u64()
		e.CreatedAt = int64(d.u64())
		e.Stream = str(d.take(int(d.u16())))
		e.Type = str(d.take(int(d.u16())))
		e.Payload = d.take(int(d.u32()))
	}
	return req, d.done()
}

// AppendPositions encodes an append answer.
func AppendPositions(dst []byte, reqID uint32, pos []uint64) []byte {
	dst, s := Begin(dst, TAppendOK, reqID)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(pos)))
	for _, p := range pos {
		dst = binary.LittleEndian.AppendUint64(dst, p)
	}
	return End(dst, s)
}

// DecodePositions parses an append answer.
func DecodePositions(body []byte) ([]uint64, error) {
	d := decoder{b: body}
	n := int(d.u32())
	if d.err == nil && n*8 != len(d.b) {
		return nil, fmt.Errorf("%w: %d positions in %d bytes", ErrMalformed, n, len(d.b))
	}
	pos := make([]uint64, n)
	for i := range pos {
		pos[i] = d.u64()
	}
	return pos, d.done()
}

// CheckPositions validates an append answer and returns how many positions
// it holds; read them with PositionAt. Together they let a client decode
// into its own type without an intermediate slice.
func CheckPositions(body []byte) (int, error) {
	d := decoder{b: body}
	n := int(d.u32())
	if d.err == nil && n*8 != len(d.b) {
		return 0, fmt.Errorf("%w: %d positions in %d bytes", ErrMalformed, n, len(d.b))
	}
	return n, d.err
}

// PositionAt is position i of an answer CheckPositions accepted.
func PositionAt(body []byte, i int) uint64 {
	return binary.LittleEndian.Uint64(body[4+8*i:])
}

// AppendU64 encodes a frame whose body is one u64 (THeadOK, TSubscribe).
func AppendU64(dst []byte, typ byte, reqID uint32, v uint64) []byte {
	dst, s := Begin(dst, typ, reqID)
	dst = binary.LittleEndian.AppendUint64(dst, v)
	return End(dst, s)
}

// DecodeU64 parses a one-u64 body.
func DecodeU64(body []byte) (uint64, error) {
	d := decoder{b: body}
	v := d.u64()
	return v, d.done()
}

// AppendEmpty encodes a frame with no body (THead).
func AppendEmpty(dst []byte, typ byte, reqID uint32) []byte {
	dst, s := Begin(dst, typ, reqID)
	return End(dst, s)
}

// RemoteError is an error frame from the server.
type RemoteError struct {
	Code    uint16
	Message string
}

func (e *RemoteError) Error() string { return e.Message }

// Is lets errors.Is(err, engine.ErrConflict) work across the wire.
func (e *RemoteError) Is(target error) bool {
	return e.Code == CodeConflict && target == engine.ErrConflict
}

// Conflict parses a conflict error's text (engine.ConflictError's format)
// back into its fields; ok is false for any other error or text.
func (e *RemoteError) Conflict() (c engine.ConflictError, ok bool) {
	if e.Code != CodeConflict {
		return c, false
	}
	prefix := engine.ErrConflict.Error() + ": stream "
	if len(e.Message) <= len(prefix) || e.Message[:len(prefix)] != prefix {
		return c, false
	}
	n, err := fmt.Sscanf(e.Message[len(prefix):], "%q: expected version %d, actual %d", &c.Stream, &c.Expected, &c.Actual)
	return c, err == nil && n == 3
}

// AppendError encodes an error frame.
func AppendError(dst []byte, reqID uint32, code uint16, msg string) []byte {
	dst, s := Begin(dst, TError, reqID)
	dst = binary.LittleEndian.AppendUint16(dst, code)
	dst = append(dst, msg...)
	return End(dst, s)
}

// DecodeError parses an error frame.
func DecodeError(body []byte) error {
	d := decoder{b: body}
	code := d.u16()
	if d.err != nil {
		return d.err
	}
	return &RemoteError{Code: code, Message: string(d.b)}
}

// CodeFor maps an engine error to a wire code.
func CodeFor(err error) uint16 {
	switch {
	case errors.Is(err, engine.ErrConflict):
		return CodeConflict
	case errors.Is(err, ErrTooLarge):
		return CodeTooLarge
	case errors.Is(err, ErrMalformed):
		return CodeMalformed
	}
	return CodeUnavailable
}

// AppendEventsHeader begins a TEvents frame; append the raw records, then
// call End. n is the record count.
func AppendEventsHeader(dst []byte, reqID uint32, n int) ([]byte, int) {
	dst, s := Begin(dst, TEvents, reqID)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	return dst, s
}

// DecodeEventsHeader splits a TEvents body into its count and raw records.
func DecodeEventsHeader(body []byte) (int, []byte, error) {
	d := decoder{b: body}
	n := int(d.u32())
	return n, d.b, d.err
}
