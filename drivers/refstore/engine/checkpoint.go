package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/evbench/evbench/drivers/refstore/vfs"
)

// A checkpoint lets Open skip scanning the log it covers. It holds the
// per-stream versions and the sparse index as of a committed position P,
// where P starts (segment base + offset), the exact sizes of the sealed
// segments before that one, and a CRC32C of up to 4 KiB of log right before
// P, all under one trailing CRC32C. Open trusts it only if all of that
// matches the directory; otherwise it notes why and scans the whole log.
// It is written at segment rolls (in the background) and at Close, always
// covering only fdatasynced data, via a temp file, fsync and rename.
const (
	checkpointFile  = "CHECKPOINT"
	checkpointTmp   = "CHECKPOINT.tmp"
	checkpointMagic = "RCKP"
	checkpointVer   = 2 // 2: streams carry first/last positions
	tailCheckLen    = 4096
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type ckSegment struct {
	base  uint64
	size  int64 // exact size of a sealed segment; ignored for the last
	index []indexEntry
}

type checkpoint struct {
	pos     uint64 // every position before it is covered
	off     int64  // where pos starts in the last listed segment
	tailCRC uint32 // CRC32C of the tailLen bytes before off in that segment
	tailLen int64
	segs    []ckSegment // every segment up to the one holding pos
	streams []ckStream
}

type ckStream struct {
	id                string
	next, first, last uint64
}

// encodeCheckpoint snapshots the log's state at position pos (= l.next, with
// the committer stopped or calling); the caller guarantees that everything
// before pos is durable and starts in the last of segs before off.
func (l *Log) encodeCheckpoint(pos uint64, off int64) ([]byte, error) {
	l.mu.Lock()
	segs := append([]*segment(nil), l.segs...)
	l.mu.Unlock()
	last := segs[len(segs)-1]
	tailLen := min(off-segHeaderSize, tailCheckLen)
	tail := make([]byte, tailLen)
	if _, err := last.f.ReadAt(tail, off-tailLen); err != nil {
		return nil, fmt.Errorf("refstore: checkpoint: read %s: %w", last.path, err)
	}
	le := binary.LittleEndian
	b := make([]byte, 0, 64+l.streams.len()*48)
	b = append(b, checkpointMagic...)
	b = le.AppendUint32(b, checkpointVer)
	b = le.AppendUint64(b, pos)
	b = le.AppendUint64(b, uint64(off))
	b = le.AppendUint32(b, crc32.Checksum(tail, castagnoli))
	b = le.AppendUint64(b, uint64(tailLen))
	b = le.AppendUint32(b, uint32(len(segs)))
	l.mu.Lock()
	for _, s := range segs {
		b = le.AppendUint64(b, s.base)
		b = le.AppendUint64(b, uint64(s.size.Load())) // exact for sealed ones
		b = le.AppendUint32(b, uint32(len(s.index)))
		for _, e := range s.index {
			b = le.AppendUint64(b, e.pos)
			b = le.AppendUint64(b, uint64(e.off))
		}
	}
	l.mu.Unlock()
	b = le.AppendUint64(b, uint64(l.streams.len()))
	l.streams.each(func(id string, next, first, last uint64) {
		b = le.AppendUint16(b, uint16(len(id)))
		b = append(b, id...)
		b = le.AppendUint64(b, next)
		b = le.AppendUint64(b, first)
		b = le.AppendUint64(b, last)
	})
	return le.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

var errCheckpoint = errors.New("bad checkpoint")

// decodeCheckpoint parses and CRC-checks a checkpoint file's bytes.
func decodeCheckpoint(b []byte) (*checkpoint, error) {
	le := binary.LittleEndian
	if len(b) < 44 || string(b[:4]) != checkpointMagic {
		return nil, fmt.Errorf("%w: no magic", errCheckpoint)
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != le.Uint32(b[len(b)-4:]) {
		return nil, fmt.Errorf("%w: CRC mismatch", errCheckpoint)
	}
	if v := le.Uint32(b[4:]); v != checkpointVer {
		return nil, fmt.Errorf("%w: version %d, want %d", errCheckpoint, v, checkpointVer)
	}
	ck := &checkpoint{pos: le.Uint64(b[8:]), off: int64(le.Uint64(b[16:])), tailCRC: le.Uint32(b[24:]), tailLen: int64(le.Uint64(b[28:]))}
	p := body[36:]
	short := fmt.Errorf("%w: truncated", errCheckpoint)
	need := func(n int) bool { return len(p) >= n }
	if !need(4) {
		return nil, short
	}
	nseg := le.Uint32(p)
	p = p[4:]
	for i := uint32(0); i < nseg; i++ {
		if !need(20) {
			return nil, short
		}
		s := ckSegment{base: le.Uint64(p), size: int64(le.Uint64(p[8:]))}
		n := int(le.Uint32(p[16:]))
		p = p[20:]
		if !need(16 * n) {
			return nil, short
		}
		s.index = make([]indexEntry, n)
		for j := range s.index {
			s.index[j] = indexEntry{pos: le.Uint64(p), off: int64(le.Uint64(p[8:]))}
			p = p[16:]
		}
		ck.segs = append(ck.segs, s)
	}
	if !need(8) || len(ck.segs) == 0 {
		return nil, short
	}
	nst := le.Uint64(p)
	p = p[8:]
	if nst > uint64(len(p))/26 {
		return nil, short
	}
	ck.streams = make([]ckStream, 0, nst)
	for i := uint64(0); i < nst; i++ {
		if !need(2) {
			return nil, short
		}
		n := int(le.Uint16(p))
		if !need(2 + n + 24) {
			return nil, short
		}
		q := p[2+n:]
		ck.streams = append(ck.streams, ckStream{id: string(p[2 : 2+n]), next: le.Uint64(q), first: le.Uint64(q[8:]), last: le.Uint64(q[16:])})
		p = p[2+n+24:]
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errCheckpoint, len(p))
	}
	return ck, nil
}

// writeCheckpoint replaces the checkpoint file atomically and durably.
func writeCheckpoint(fsys vfs.FS, dir string, data []byte) error {
	if err := vfs.WriteFileAtomic(fsys, dir, checkpointFile, data); err != nil {
		return fmt.Errorf("refstore: checkpoint: %w", err)
	}
	return nil
}

// checkpointAsync writes data in the background unless a newer checkpoint
// already went out; Close waits for it.
func (l *Log) checkpointAsync(pos uint64, data []byte) {
	l.ckWG.Add(1)
	go func() {
		defer l.ckWG.Done()
		l.ckMu.Lock()
		defer l.ckMu.Unlock()
		if pos <= l.ckPos {
			return
		}
		if err := writeCheckpoint(l.fs, l.dir, data); err != nil {
			l.opts.logf("%v", err)
			return
		}
		l.ckPos = pos
		if err := l.storeWatermark(pos); err != nil {
			l.opts.logf("%v", err)
		}
	}()
}

// checkpointOnClose writes a checkpoint covering the whole log, when every
// written record is committed (not after a failure).
func (l *Log) checkpointOnClose() error {
	l.ckWG.Wait()
	if l.failure() != nil || l.committed.Load() != l.next {
		return nil
	}
	last := l.current()
	data, err := l.encodeCheckpoint(l.next, last.size.Load())
	if err != nil {
		return err
	}
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	if l.next < l.ckPos {
		return nil
	}
	if err := writeCheckpoint(l.fs, l.dir, data); err != nil {
		return err
	}
	l.ckPos = l.next
	return nil
}
