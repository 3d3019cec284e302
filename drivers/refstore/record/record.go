// Package record is the refstore log record codec. The same bytes are written
// to segment files and shipped to subscribers, so the server never re-encodes
// on replay and every reader verifies the CRC32C itself.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Layout (little endian):
//
//	0  u32 body length (bytes after this 8-byte prefix)
//	4  u32 CRC32C (Castagnoli) of the body
//	8  u64 global position
//	16 u64 stream version (0-based)
//	24 i64 store timestamp (unix ns)
//	32 [16]byte event id
//	48 u64 harness sequence
//	56 i64 created at (unix ns)
//	64 u16 stream length, 66 u16 type length, 68 u32 payload length
//	72 stream, type, payload
const (
	// PrefixSize is the length+CRC prefix.
	PrefixSize = 8
	// HeaderSize is the fixed part of a record, prefix included.
	HeaderSize = 72
	fixedBody  = HeaderSize - PrefixSize
	// MaxStream and MaxType bound the variable strings (u16 lengths).
	MaxStream = 1<<16 - 1
	MaxType   = 1<<16 - 1
	// MaxRecord bounds a whole record so a corrupt length cannot make a
	// reader allocate gigabytes.
	MaxRecord = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors returned by Verify and Decode. A reader at the end of a
// preallocated segment sees ErrZero; a cut record ErrShort; anything else
// that does not check out ErrCorrupt.
var (
	ErrShort   = errors.New("record: incomplete")
	ErrZero    = errors.New("record: zero length (end of data)")
	ErrCorrupt = errors.New("record: corrupt")
)

// Record is one stored event.
type Record struct {
	Position      uint64
	StreamVersion uint64
	Timestamp     int64
	ID            [16]byte
	Seq           uint64
	CreatedAt     int64
	Stream        string
	Type          string
	Payload       []byte
}

// Size is the encoded size of r.
func (r *Record) Size() int { return HeaderSize + len(r.Stream) + len(r.Type) + len(r.Payload) }

// Check reports a record that cannot be encoded, naming the field.
func (r *Record) Check() error {
	switch {
	case len(r.Stream) > MaxStream:
		return fmt.Errorf("record: stream id is %d bytes, the limit is %d", len(r.Stream), MaxStream)
	case len(r.Type) > MaxType:
		return fmt.Errorf("record: type is %d bytes, the limit is %d", len(r.Type), MaxType)
	case r.Size() > MaxRecord:
		return fmt.Errorf("record: %d bytes, the limit is %d (shrink the payload)", r.Size(), MaxRecord)
	}
	return nil
}

// Append encodes r onto dst. The caller has called Check.
func Append(dst []byte, r *Record) []byte {
	start := len(dst)
	n := r.Size()
	dst = grow(dst, n)
	b := dst[start : start+n]
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(n-PrefixSize))
	le.PutUint64(b[8:], r.Position)
	le.PutUint64(b[16:], r.StreamVersion)
	le.PutUint64(b[24:], uint64(r.Timestamp))
	copy(b[32:48], r.ID[:])
	le.PutUint64(b[48:], r.Seq)
	le.PutUint64(b[56:], uint64(r.CreatedAt))
	le.PutUint16(b[64:], uint16(len(r.Stream)))
	le.PutUint16(b[66:], uint16(len(r.Type)))
	le.PutUint32(b[68:], uint32(len(r.Payload)))
	o := HeaderSize
	o += copy(b[o:], r.Stream)
	o += copy(b[o:], r.Type)
	copy(b[o:], r.Payload)
	le.PutUint32(b[4:], crc32.Checksum(b[PrefixSize:], castagnoli))
	return dst
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, 2*cap(b)+n)
	copy(nb, b)
	return nb
}

// Verify checks the record at the start of b without allocating and returns
// its encoded size and position.
func Verify(b []byte) (n int, pos uint64, err error) {
	if len(b) < PrefixSize {
		if allZero(b) {
			return 0, 0, ErrZero
		}
		return 0, 0, ErrShort
	}
	le := binary.LittleEndian
	body := int(le.Uint32(b))
	if body == 0 && le.Uint32(b[4:]) == 0 {
		return 0, 0, ErrZero
	}
	if body < fixedBody || body > MaxRecord-PrefixSize {
		return 0, 0, fmt.Errorf("%w: length %d out of range", ErrCorrupt, body)
	}
	n = PrefixSize + body
	if len(b) < n {
		return 0, 0, ErrShort
	}
	if got, want := crc32.Checksum(b[PrefixSize:n], castagnoli), le.Uint32(b[4:]); got != want {
		return 0, 0, fmt.Errorf("%w: crc32c %08x, stored %08x", ErrCorrupt, got, want)
	}
	sl, tl, pl := int(le.Uint16(b[64:])), int(le.Uint16(b[66:])), int(le.Uint32(b[68:]))
	if HeaderSize+sl+tl+pl != n {
		return 0, 0, fmt.Errorf("%w: field lengths %d+%d+%d do not add up to %d", ErrCorrupt, sl, tl, pl, n)
	}
	return n, le.Uint64(b[8:]), nil
}

// Decode verifies and decodes the record at the start of b. Payload aliases
// b; Stream and Type are copies.
func Decode(b []byte) (Record, int, error) {
	n, pos, err := Verify(b)
	if err != nil {
		return Record{}, 0, err
	}
	le := binary.LittleEndian
	r := Record{
		Position:      pos,
		StreamVersion: le.Uint64(b[16:]),
		Timestamp:     int64(le.Uint64(b[24:])),
		Seq:           le.Uint64(b[48:]),
		CreatedAt:     int64(le.Uint64(b[56:])),
	}
	copy(r.ID[:], b[32:48])
	sl, tl := int(le.Uint16(b[64:])), int(le.Uint16(b[66:]))
	o := HeaderSize
	r.Stream = string(b[o : o+sl])
	o += sl
	r.Type = string(b[o : o+tl])
	o += tl
	r.Payload = b[o:n:n]
	return r, n, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
