package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/evbench/evbench/drivers/refstore/vfs"
)

// Segment files are named by their first global position so that a gap (a
// missing segment) is visible from the names alone.
const (
	segPrefix     = "seg-"
	segSuffix     = ".log"
	segHeaderSize = 16
	segMagic      = "RSEG"
)

type indexEntry struct {
	pos uint64
	off int64
}

// segment is one log file. size is the committed byte length readers may
// read up to; it only grows, and is final once sealed is set.
type segment struct {
	base   uint64
	path   string
	f      vfs.File
	size   atomic.Int64
	sealed atomic.Bool
	index  []indexEntry // sparse; guarded by Log.mu

	writeOff int64 // committer-owned: where the next group goes
	zeroedTo int64 // committer-owned: zero-written (extent-converted) up to here
}

func segName(base uint64) string { return fmt.Sprintf("%s%020d%s", segPrefix, base, segSuffix) }

// parseSegName returns the base position of a segment file name.
func parseSegName(name string) (uint64, bool) {
	if !strings.HasPrefix(name, segPrefix) || !strings.HasSuffix(name, segSuffix) {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segPrefix), segSuffix), 10, 64)
	return n, err == nil
}

func segHeader(base uint64) []byte {
	h := make([]byte, segHeaderSize)
	copy(h, segMagic)
	binary.LittleEndian.PutUint32(h[4:], formatVersion)
	binary.LittleEndian.PutUint64(h[8:], base)
	return h
}

// createSegment makes a new preallocated segment and syncs it and the dir,
// so that a crash never leaves a named segment without its header.
func createSegment(fsys vfs.FS, dir string, base uint64, prealloc int64) (*segment, error) {
	path := filepath.Join(dir, segName(base))
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("refstore: create segment %s: %w", path, err)
	}
	fail := func(err error) (*segment, error) {
		f.Close()
		fsys.Remove(path)
		return nil, err
	}
	if _, err := f.WriteAt(segHeader(base), 0); err != nil {
		return fail(fmt.Errorf("refstore: write segment header %s: %w", path, err))
	}
	if err := preallocate(f, prealloc); err != nil {
		return fail(fmt.Errorf("refstore: preallocate segment %s: %w", path, err))
	}
	if err := f.Sync(); err != nil {
		return fail(syncErr(fmt.Errorf("refstore: sync segment %s: %w", path, err)))
	}
	if err := syncDir(fsys, dir); err != nil {
		return fail(err)
	}
	s := &segment{base: base, path: path, f: f, writeOff: segHeaderSize}
	s.size.Store(segHeaderSize)
	return s, nil
}

// preallocate reserves size bytes (file size included) so fdatasync after a
// write need not also commit a size change; it falls back to nothing on
// filesystems without fallocate.
func preallocate(f vfs.File, size int64) error { return f.Allocate(size) }

func syncDir(fsys vfs.FS, dir string) error {
	if err := fsys.SyncDir(dir); err != nil {
		return syncErr(fmt.Errorf("refstore: sync dir %s: %w", dir, err))
	}
	return nil
}

func datasync(f vfs.File) error { return f.Datasync() }

// errSyncFailed marks a failed fsync/fdatasync: after one, nothing written
// since the last good sync can be trusted (the kernel may have dropped the
// dirty pages and reports that once), so the log turns read-only.
var errSyncFailed = errors.New("sync failed")

type syncError struct{ err error }

func (e syncError) Error() string   { return e.err.Error() }
func (e syncError) Unwrap() []error { return []error{e.err, errSyncFailed} }
func syncErr(err error) error       { return syncError{err} }
func isSyncErr(err error) bool      { return errors.Is(err, errSyncFailed) }
