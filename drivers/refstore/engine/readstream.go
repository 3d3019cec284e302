package engine

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/evbench/evbench/drivers/refstore/record"
)

// ReadStream returns up to max committed events of stream, in version
// order, starting at fromVersion. An unknown stream, or a fromVersion at or
// past the stream's end, gives an empty result and no error. Only
// fdatasync-acknowledged events are returned (the scan stops at Head).
// Payloads are copies the caller may keep.
//
// Cost: there is no per-event stream index (it would grow with the log and
// break the memory budget). Each stream keeps, in memory, the positions of
// its first and last events (16 bytes per stream); the read seeks with the
// sparse index to first+fromVersion (no earlier position can hold that
// version, positions being gapless) and scans the committed log
// sequentially, verifying CRCs, until it has max events or passes the
// stream's last event. So a read costs the log bytes between those bounds:
// O(1) seeks for a stream written contiguously, up to the whole log for a
// stream whose events are spread over all of it. It is meant for
// verification and occasional reads, not a hot path.
func (l *Log) ReadStream(stream string, fromVersion uint64, max int) ([]record.Record, error) {
	if max <= 0 {
		return nil, fmt.Errorf("refstore: read stream %q: max is %d, want at least 1", stream, max)
	}
	var out []record.Record
	_, err := l.scanStream(stream, fromVersion, max, 0, func(raw []byte) {
		r, _, err := record.Decode(raw)
		if err == nil { // scanStream verified it
			r.Payload = append([]byte(nil), r.Payload...)
			out = append(out, r)
		}
	})
	return out, err
}

// StreamScanned is what ScanStream reports besides the records.
type StreamScanned struct {
	// Count is how many records were passed to fn.
	Count int
	// Cut is true when the scan stopped at maxBytes with more of the stream
	// possibly left: read on from the last version + 1.
	Cut bool
}

// ScanStream is ReadStream for the server: it passes each matching record's
// raw, CRC-verified bytes to fn (valid only during the call) and stops
// before the total would pass maxBytes (0: no limit; the first record is
// always passed so one large record cannot stall a reader).
func (l *Log) ScanStream(stream string, fromVersion uint64, max, maxBytes int, fn func(raw []byte)) (StreamScanned, error) {
	if max <= 0 {
		return StreamScanned{}, fmt.Errorf("refstore: read stream %q: max is %d, want at least 1", stream, max)
	}
	return l.scanStream(stream, fromVersion, max, maxBytes, fn)
}

var scanBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func (l *Log) scanStream(stream string, fromVersion uint64, max, maxBytes int, fn func(raw []byte)) (StreamScanned, error) {
	var res StreamScanned
	next, first, last, ok := l.streams.bounds(stream)
	if !ok || fromVersion >= next {
		return res, nil
	}
	head := l.Head() // bounds may include written, not yet synced events: stop at head
	start := first + fromVersion
	if start < first || start >= head { // overflow, or nothing committed there yet
		return res, nil
	}
	end := min(last+1, head)
	r, err := l.NewReader(start)
	if err != nil {
		return res, fmt.Errorf("refstore: read stream %q: %w", stream, err)
	}
	bp := scanBufs.Get().(*[]byte)
	defer scanBufs.Put(bp)
	le := binary.LittleEndian
	bytes := 0
	for r.Position() < end {
		raw, n, err := r.Read(*bp, len(*bp))
		if err != nil {
			return res, fmt.Errorf("refstore: read stream %q: %w", stream, err)
		}
		if n == 0 {
			return res, nil // head reached
		}
		for ; n > 0; n-- {
			k := int(le.Uint32(raw)) + record.PrefixSize // verified by Read
			rec := raw[:k]
			raw = raw[k:]
			if le.Uint64(rec[8:]) >= end {
				return res, nil
			}
			sl := int(le.Uint16(rec[64:]))
			if string(rec[record.HeaderSize:record.HeaderSize+sl]) != stream || le.Uint64(rec[16:]) < fromVersion {
				continue
			}
			if maxBytes > 0 && res.Count > 0 && bytes+k > maxBytes {
				res.Cut = true
				return res, nil
			}
			fn(rec)
			bytes += k
			res.Count++
			if res.Count == max {
				return res, nil
			}
		}
	}
	return res, nil
}
