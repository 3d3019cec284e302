package engine

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"path/filepath"

	"github.com/evbench/evbench/drivers/refstore/vfs"
)

func (l *Log) readCheckpoint() (*checkpoint, error) {
	data, err := vfs.ReadFile(l.fs, filepath.Join(l.dir, checkpointFile))
	if err != nil {
		return nil, err
	}
	return decodeCheckpoint(data)
}

// loadFromCheckpoint opens the segments a checkpoint covers without scanning
// them (after checking their sizes and the bytes right before the covered
// position), rebuilds the dedupe window from the log, and scans only what
// follows the covered position. Any mismatch returns an error and Open
// falls back to a full scan.
func (l *Log) loadFromCheckpoint(ck *checkpoint, bases []uint64) error {
	n := len(ck.segs)
	if len(bases) < n {
		return fmt.Errorf("it lists %d segments, the dir has %d", n, len(bases))
	}
	for i, cs := range ck.segs {
		if bases[i] != cs.base {
			return fmt.Errorf("segment %d is %s in the dir, %s in the checkpoint", i, segName(bases[i]), segName(cs.base))
		}
		last := i == n-1
		s, size, err := l.openSegment(filepath.Join(l.dir, segName(cs.base)), cs.base, false)
		if err != nil {
			return err
		}
		l.segs = append(l.segs, s)
		s.index = cs.index
		if !last {
			if size != cs.size {
				return fmt.Errorf("sealed segment %s is %d bytes, the checkpoint says %d", s.path, size, cs.size)
			}
			s.writeOff = size
			s.size.Store(size)
			s.sealed.Store(true)
			continue
		}
		if ck.off < segHeaderSize || size < ck.off || ck.tailLen > ck.off-segHeaderSize || cs.base > ck.pos {
			return fmt.Errorf("covered position %d at %s offset %d is outside the segment (%d bytes)", ck.pos, s.path, ck.off, size)
		}
		tail := make([]byte, ck.tailLen)
		if _, err := s.f.ReadAt(tail, ck.off-ck.tailLen); err != nil {
			return fmt.Errorf("read %s: %w", s.path, err)
		}
		if crc32.Checksum(tail, castagnoli) != ck.tailCRC {
			return fmt.Errorf("the %d bytes before offset %d of %s do not match it", ck.tailLen, ck.off, s.path)
		}
		s.writeOff = ck.off
		s.size.Store(ck.off)
	}
	l.next = ck.pos
	l.committed.Store(ck.pos)
	for _, st := range ck.streams {
		l.streams.set(st.id, st.next, st.first, st.last)
	}
	if err := l.rebuildDedupe(ck.pos); err != nil {
		return err
	}
	l.report.Checkpoint = ck.pos
	// Scan on from the covered position: the rest of its segment, then any
	// later ones.
	ps := l.segs[n-1]
	ps.index = ps.index[:0:0]
	for _, e := range ck.segs[n-1].index {
		if e.pos < ck.pos {
			ps.index = append(ps.index, e)
		}
	}
	size, err := ps.f.Size()
	if err != nil {
		return fmt.Errorf("stat %s: %w", ps.path, err)
	}
	if err := l.scanSegment(ps, size, ck.off, len(bases) == n); err != nil {
		return err
	}
	return l.scanSegments(bases, n)
}

// rebuildDedupe reads the event IDs of positions [l.dedupeFrom, to) from the
// checkpointed segments, verifying their CRCs.
func (l *Log) rebuildDedupe(to uint64) error {
	if l.dedupeFrom >= to {
		return nil
	}
	r, err := l.NewReader(l.dedupeFrom)
	if err != nil {
		return err
	}
	buf := make([]byte, 4<<20)
	for r.Position() < to {
		raw, k, err := r.Read(buf, len(buf))
		if err != nil {
			return err
		}
		if k == 0 {
			return fmt.Errorf("log ends at position %d, before the covered %d", r.Position(), to)
		}
		for len(raw) > 0 {
			m := int(binary.LittleEndian.Uint32(raw)) + 8
			var id [16]byte
			copy(id[:], raw[32:48])
			l.dedupe.put(id, binary.LittleEndian.Uint64(raw[8:]))
			raw = raw[m:]
		}
	}
	return nil
}
