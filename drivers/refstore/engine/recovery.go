package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/evbench/evbench/drivers/refstore/record"
	"github.com/evbench/evbench/drivers/refstore/vfs"
)

// formatVersion is the on-disk format this build writes and reads. The
// FORMAT file holds it; a directory from a newer build is refused.
const (
	formatVersion = 1
	formatFile    = "FORMAT"
	formatPrefix  = "refstore-log-format "
)

// Open opens or creates the log in dir, recovering it: every record's CRC is
// verified, a torn tail in the last segment is truncated (and reported), and
// corruption anywhere else refuses the open with the segment and offset.
// Files that are not ours are ignored with a note in the report.
func Open(dir string, opts Options) (*Log, error) {
	opts = opts.withDefaults()
	if err := opts.FS.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("refstore: create data dir %s: %w", dir, err)
	}
	l := &Log{dir: dir, opts: opts, fs: opts.FS, wake: make(chan struct{}), streams: newStreams(),
		dedupe: newDedupe(opts.DedupeWindow), reqs: make(chan *request, 4096), stopped: make(chan struct{})}
	if err := l.openFormat(); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			for _, s := range l.segs {
				s.f.Close()
			}
			l.lock.Close()
		}
	}()
	wm, wmOK, err := l.readWatermark()
	if err != nil {
		return nil, err
	}
	l.wmLoaded, l.wmOK = wm, wmOK
	if err := l.loadSegments(); err != nil {
		return nil, err
	}
	if len(l.segs) == 0 {
		s, err := createSegment(l.fs, dir, 0, opts.SegmentSize)
		if err != nil {
			return nil, err
		}
		l.segs = append(l.segs, s)
	}
	// What recovery read may still be only in the page cache (a process
	// crash before the fdatasync of its last groups): make it durable
	// before the watermark may cover it.
	{
		last := l.segs[len(l.segs)-1]
		if err := datasync(last.f); err != nil {
			return nil, fmt.Errorf("refstore: sync segment %s after recovery: %w", last.path, err)
		}
	}
	if l.wmOK && l.next < l.wmLoaded {
		return nil, fmt.Errorf("refstore: the log ends at position %d, but positions up to %d were durable and acknowledged (%s): acknowledged data is missing; restore the directory from a backup", l.next, l.wmLoaded, watermarkFile)
	}
	if !l.wmOK {
		// A new log, or one from before watermarks: start one now.
		if err := l.storeWatermark(l.next); err != nil {
			return nil, err
		}
	}
	l.report.Segments = len(l.segs)
	l.report.Records = l.next
	l.report.Watermark = l.wmLoaded
	l.committed.Store(l.next)
	l.durable.Store(l.next)
	l.wmPos = max(l.wmPos, l.wmLoaded)
	l.wmStop, l.wmDone = make(chan struct{}), make(chan struct{})
	ok = true
	go l.watermarkLoop(l.wmStop, l.wmDone)
	go l.commitLoop()
	return l, nil
}

// openFormat checks or writes the FORMAT file and takes an exclusive lock on
// it, so two servers never write one directory.
func (l *Log) openFormat() error {
	path := filepath.Join(l.dir, formatFile)
	data, err := vfs.ReadFile(l.fs, path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		ents, _ := l.fs.ReadDir(l.dir)
		for _, e := range ents {
			if _, isSeg := parseSegName(e.Name); isSeg {
				return fmt.Errorf("refstore: data dir %s has segments but no %s file: not a refstore dir or damaged (restore %s or use an empty dir)", l.dir, formatFile, formatFile)
			}
		}
		// temp file, fsync, rename, dir fsync: a crash leaves no FORMAT or
		// a whole one, never an empty one that would refuse the next open.
		if err := vfs.WriteFileAtomic(l.fs, l.dir, formatFile, []byte(fmt.Sprintf("%s%d\n", formatPrefix, formatVersion))); err != nil {
			return fmt.Errorf("refstore: %w", err)
		}
	case err != nil:
		return fmt.Errorf("refstore: read %s: %w", path, err)
	default:
		s := strings.TrimSpace(string(data))
		if !strings.HasPrefix(s, formatPrefix) {
			return fmt.Errorf("refstore: %s: not a refstore format file (%q)", path, s)
		}
		v, err := strconv.Atoi(strings.TrimPrefix(s, formatPrefix))
		if err != nil {
			return fmt.Errorf("refstore: %s: bad version %q", path, s)
		}
		if v > formatVersion {
			return fmt.Errorf("refstore: data dir %s was written by a newer refstore (format %d; this build reads up to %d): upgrade evbench", l.dir, v, formatVersion)
		}
	}
	f, err := l.fs.Lock(path)
	if err != nil {
		return fmt.Errorf("refstore: data dir %s is in use by another process (lock %s: %v)", l.dir, path, err)
	}
	l.lock = f
	return nil
}

func (l *Log) loadSegments() error {
	ents, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("refstore: read data dir %s: %w", l.dir, err)
	}
	var bases []uint64
	for _, e := range ents {
		switch b, ok := parseSegName(e.Name); {
		case ok && e.Regular:
			bases = append(bases, b)
		case e.Name == formatFile || e.Name == checkpointFile || e.Name == watermarkFile:
		case e.Name == checkpointTmp || e.Name == formatFile+".tmp" || e.Name == watermarkFile+".tmp":
			// a metadata write that never finished
			l.fs.Remove(filepath.Join(l.dir, e.Name))
		default:
			note := fmt.Sprintf("ignored foreign file %s in data dir", e.Name)
			l.report.Notes = append(l.report.Notes, note)
			l.opts.logf("refstore: %s", note)
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	if len(bases) > 0 && bases[len(bases)-1] > uint64(l.opts.DedupeWindow) {
		// The head is at least the last base, so older IDs are outside the
		// dedupe window anyway: skip them (most of a large log's scan).
		l.dedupeFrom = bases[len(bases)-1] - uint64(l.opts.DedupeWindow)
	}
	if len(bases) > 0 {
		ck, err := l.readCheckpoint()
		if err == nil {
			if err = l.loadFromCheckpoint(ck, bases); err == nil {
				return nil
			}
		}
		if !errors.Is(err, os.ErrNotExist) {
			note := fmt.Sprintf("checkpoint not used (%v): scanning the whole log", err)
			l.report.Notes = append(l.report.Notes, note)
			l.opts.logf("refstore: %s", note)
		}
		l.resetRecovery()
	}
	return l.scanSegments(bases, 0)
}

// resetRecovery forgets what a failed checkpoint load set up.
func (l *Log) resetRecovery() {
	for _, s := range l.segs {
		s.f.Close()
	}
	l.segs, l.next = nil, 0
	l.streams = newStreams()
	l.dedupe = newDedupe(l.opts.DedupeWindow)
	l.report.Checkpoint, l.report.Scanned = 0, 0
}

// scanSegments recovers the segments bases[from:] by scanning them whole.
func (l *Log) scanSegments(bases []uint64, from int) error {
	for i := from; i < len(bases); i++ {
		b := bases[i]
		last := i == len(bases)-1
		if b != l.next {
			if i == 0 {
				return fmt.Errorf("refstore: first segment %s starts at position %d, want 0: a segment is missing", segName(b), b)
			}
			return fmt.Errorf("refstore: segment missing between %s (ends at position %d) and %s", segName(bases[i-1]), l.next, segName(b))
		}
		s, size, err := l.openSegment(filepath.Join(l.dir, segName(b)), b, last)
		if err != nil {
			return err
		}
		if s == nil { // an empty last segment whose header never made it
			continue
		}
		if err := l.scanSegment(s, size, segHeaderSize, last); err != nil {
			s.f.Close()
			return err
		}
		l.segs = append(l.segs, s)
	}
	return nil
}

// scanner reads a segment in large chunks for recovery.
type scanner struct {
	f    vfs.File
	size int64
	base int64
	data []byte
}

// at returns the bytes from off on, at least want of them unless the file
// ends first.
func (s *scanner) at(off int64, want int) ([]byte, error) {
	if off >= s.base && off+int64(want) <= s.base+int64(len(s.data)) {
		return s.data[off-s.base:], nil
	}
	n := max(want, 4<<20)
	if rem := s.size - off; int64(n) > rem {
		n = int(max(rem, 0))
	}
	if cap(s.data) < n {
		s.data = make([]byte, n)
	}
	s.data = s.data[:n]
	m, err := s.f.ReadAt(s.data, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	s.data, s.base = s.data[:m], off
	return s.data, nil
}

// openSegment opens one segment and checks its header. A last segment
// whose header never made it to disk is removed (nil segment).
func (l *Log) openSegment(path string, base uint64, last bool) (*segment, int64, error) {
	f, err := l.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("refstore: open segment %s: %w", path, err)
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("refstore: stat segment %s: %w", path, err)
	}
	hdr := make([]byte, segHeaderSize)
	if n, _ := f.ReadAt(hdr, 0); n < segHeaderSize || !bytes.Equal(hdr, segHeader(base)) {
		if last && (n < segHeaderSize || bytes.Equal(hdr[:n], segHeader(base)[:n])) {
			// Crashed while creating it: nothing was ever written there.
			f.Close()
			note := fmt.Sprintf("removed incomplete new segment %s", filepath.Base(path))
			l.report.Notes = append(l.report.Notes, note)
			l.opts.logf("refstore: %s", note)
			return nil, 0, l.fs.Remove(path)
		}
		f.Close()
		if string(hdr[:4]) == segMagic && binary.LittleEndian.Uint32(hdr[4:]) > formatVersion {
			return nil, 0, fmt.Errorf("refstore: segment %s has format %d, newer than this build (%d): upgrade evbench", path, binary.LittleEndian.Uint32(hdr[4:]), formatVersion)
		}
		return nil, 0, fmt.Errorf("refstore: segment %s: bad header %x (want magic %q, format %d, base %d)", path, hdr[:n], segMagic, formatVersion, base)
	}
	return &segment{base: base, path: path, f: f}, size, nil
}

// scanSegment verifies s's records from offset off (where position l.next
// starts) to its end, rebuilding the indexes. Only the last segment may end
// in a torn record; it is cut there and re-preallocated.
func (l *Log) scanSegment(s *segment, size, off int64, last bool) error {
	path, f := s.path, s.f
	sc := &scanner{f: f, size: size}
	var stopErr error
	for off < sc.size {
		b, err := sc.at(off, record.HeaderSize)
		if err != nil {
			return fmt.Errorf("refstore: read segment %s at offset %d: %w", path, off, err)
		}
		if len(b) >= record.PrefixSize {
			if body := int64(binary.LittleEndian.Uint32(b)); body > 0 && body < record.MaxRecord && int64(len(b)) < record.PrefixSize+body {
				if b, err = sc.at(off, int(record.PrefixSize+body)); err != nil {
					return fmt.Errorf("refstore: read segment %s at offset %d: %w", path, off, err)
				}
			}
		}
		n, pos, err := record.Verify(b)
		if err == nil && pos != l.next {
			err = fmt.Errorf("%w: position %d, want %d", record.ErrCorrupt, pos, l.next)
		}
		if err != nil {
			stopErr = err
			break
		}
		l.index(s, b[:n], off)
		l.report.Scanned++
		off += int64(n)
	}
	if stopErr != nil || off < sc.size {
		if !last {
			return fmt.Errorf("refstore: segment %s is corrupt at offset %d (position %d): %v; it is not the last segment, so this is not a torn write: restore it from a backup", path, off, l.next, stopErr)
		}
		if err := l.cutTail(s, sc, off, stopErr); err != nil {
			return err
		}
	}
	s.writeOff = off
	s.size.Store(off)
	if !last {
		s.sealed.Store(true)
	}
	return nil
}

// index adds one verified record to the in-memory indexes.
func (l *Log) index(s *segment, b []byte, off int64) {
	le := binary.LittleEndian
	pos := le.Uint64(b[8:])
	if pos%l.opts.IndexEvery == 0 {
		s.index = append(s.index, indexEntry{pos: pos, off: off})
	}
	if pos >= l.dedupeFrom {
		var id [16]byte
		copy(id[:], b[32:48])
		l.dedupe.put(id, pos)
	}
	sl := int(le.Uint16(b[64:]))
	l.streams.setBytes(b[record.HeaderSize:record.HeaderSize+sl], le.Uint64(b[16:])+1, pos, pos)
	l.next = pos + 1
}

// cutTail decides whether the bad bytes at off in the last segment are a torn
// tail (nothing valid follows: cut) or corruption with valid records after
// it (refuse).
func (l *Log) cutTail(s *segment, sc *scanner, off int64, stopErr error) error {
	end := sc.size
	// Find the last non-zero byte: preallocated space is zeros.
	buf := make([]byte, 1<<20)
	for end > off {
		start := max(off, end-int64(len(buf)))
		chunk := buf[:end-start]
		if _, err := s.f.ReadAt(chunk, start); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("refstore: read segment %s: %w", s.path, err)
		}
		i := len(chunk) - 1
		for i >= 0 && chunk[i] == 0 {
			i--
		}
		if i >= 0 {
			end = start + int64(i) + 1
			break
		}
		end = start
	}
	if end > off {
		// Is there a valid record after the bad one? Then it is corruption.
		for o := off + 1; o+record.HeaderSize <= end; o++ {
			b, err := sc.at(o, record.HeaderSize)
			if err != nil || len(b) < record.HeaderSize {
				break
			}
			p := binary.LittleEndian.Uint64(b[8:])
			if p < l.next || p > l.next+1<<20 {
				continue
			}
			if body := int(binary.LittleEndian.Uint32(b)); body < record.MaxRecord {
				b, _ = sc.at(o, record.PrefixSize+body)
			}
			if _, _, err := record.Verify(b); err == nil {
				if l.wmOK && l.next >= l.wmLoaded {
					// Beyond the durable watermark: an unacknowledged tail
					// whose earlier part a power cut lost (pipelined groups).
					note := fmt.Sprintf("cut unacknowledged tail: hole at %s offset %d (position %d, durable watermark %d), valid but unacknowledged records after it at offset %d", filepath.Base(s.path), off, l.next, l.wmLoaded, o)
					l.report.Notes = append(l.report.Notes, note)
					l.opts.logf("refstore: %s", note)
					break
				}
				return fmt.Errorf("refstore: segment %s is corrupt at offset %d (position %d): %v; valid records follow at offset %d, so this is not a torn write: restore it from a backup", s.path, off, l.next, stopErr, o)
			}
		}
		l.report.TruncatedBytes = end - off
		l.report.TruncatedAt = fmt.Sprintf("%s offset %d", filepath.Base(s.path), off)
		l.opts.logf("refstore: truncated torn tail: %d bytes at %s offset %d (%v)", end-off, filepath.Base(s.path), off, stopErr)
	}
	if err := s.f.Truncate(off); err != nil {
		return fmt.Errorf("refstore: truncate segment %s at %d: %w", s.path, off, err)
	}
	if err := preallocate(s.f, max(l.opts.SegmentSize, off)); err != nil {
		l.opts.logf("refstore: re-preallocate %s: %v", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("refstore: sync segment %s: %w", s.path, err)
	}
	return nil
}
