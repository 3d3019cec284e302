package engine

import (
	"errors"
	"fmt"
	"io"

	"github.com/evbench/evbench/drivers/refstore/record"
)

// Reader reads committed records in position order with large sequential
// reads, verifying every CRC. It is used for catch-up and live tailing alike
// (live is just catch-up that found nothing new and waited on Changed), so
// there is no hand-over to get wrong. A Reader is not safe for concurrent
// use; open one per subscriber.
type Reader struct {
	l      *Log
	pos    uint64
	seg    *segment
	segIdx int
	off    int64
	buf    []byte
}

// NewReader positions a reader at from (at most Head).
func (l *Log) NewReader(from uint64) (*Reader, error) {
	if h := l.Head(); from > h {
		return nil, fmt.Errorf("refstore: read from position %d: beyond the head %d", from, h)
	}
	seg, i := l.segFor(from)
	pos, off := l.seekOffset(seg, from)
	r := &Reader{l: l, pos: pos, seg: seg, segIdx: i, off: off}
	for r.pos < from { // skip forward from the sparse index entry
		raw, n, err := r.Read(nil, 1<<20)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("refstore: read from position %d: log ends at %d", from, r.pos)
		}
		if r.pos > from { // overshot: re-read precisely
			r.pos -= uint64(n)
			r.off -= int64(len(raw))
			for r.pos < from {
				k, p, err := record.Verify(raw)
				if err != nil || p != r.pos {
					return nil, fmt.Errorf("refstore: seek to %d in %s: %v", from, r.seg.path, err)
				}
				raw = raw[k:]
				r.off += int64(k)
				r.pos++
			}
		}
	}
	return r, nil
}

// Position is the next position Read returns.
func (r *Reader) Position() uint64 { return r.pos }

// Read returns the raw bytes of whole, verified records from Position on,
// about maxBytes of them (more when one record is larger), and how many
// records that is. It returns 0 records when it reached the committed head;
// wait on Log.Changed and call again. The bytes alias dst's storage when dst
// has room, else an internal buffer valid until the next Read.
func (r *Reader) Read(dst []byte, maxBytes int) ([]byte, int, error) {
	for {
		end := r.seg.size.Load()
		if r.off >= end {
			if !r.seg.sealed.Load() {
				return nil, 0, nil
			}
			if end = r.seg.size.Load(); r.off >= end {
				next := r.l.segAt(r.segIdx + 1)
				if next == nil {
					return nil, 0, nil
				}
				r.seg, r.segIdx, r.off = next, r.segIdx+1, segHeaderSize
				continue
			}
		}
		n := min(int64(maxBytes), end-r.off)
		buf := dst
		if int64(cap(buf)) < n {
			if int64(cap(r.buf)) < n {
				r.buf = make([]byte, n)
			}
			buf = r.buf
		}
		buf = buf[:n]
		if _, err := r.seg.f.ReadAt(buf, r.off); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("refstore: read segment %s at %d: %w", r.seg.path, r.off, err)
		}
		used, count := 0, 0
		for used < len(buf) {
			k, p, err := record.Verify(buf[used:])
			if errors.Is(err, record.ErrShort) && count == 0 {
				// One record larger than maxBytes: read exactly it.
				if len(buf) < record.PrefixSize {
					return nil, 0, fmt.Errorf("refstore: segment %s at offset %d: record runs past the committed end", r.seg.path, r.off)
				}
				body := int(buf[0]) | int(buf[1])<<8 | int(buf[2])<<16 | int(buf[3])<<24
				if body+record.PrefixSize > int(end-r.off) {
					return nil, 0, fmt.Errorf("refstore: segment %s at offset %d: record runs past the committed end", r.seg.path, r.off)
				}
				maxBytes = body + record.PrefixSize
				buf = nil
				break
			}
			if errors.Is(err, record.ErrShort) {
				break
			}
			if err == nil && p != r.pos+uint64(count) {
				err = fmt.Errorf("position %d, want %d", p, r.pos+uint64(count))
			}
			if err != nil {
				return nil, 0, fmt.Errorf("refstore: segment %s is corrupt at offset %d: %w", r.seg.path, r.off+int64(used), err)
			}
			used += k
			count++
		}
		if buf == nil {
			continue
		}
		r.off += int64(used)
		r.pos += uint64(count)
		return buf[:used], count, nil
	}
}
