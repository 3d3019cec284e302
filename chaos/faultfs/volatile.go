package faultfs

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// fileKey names a backing inode, so hard links and renames share one undo log.
type fileKey struct{ dev, ino uint64 }

type span struct{ off, end int64 }

type undoRec struct {
	off  int64
	data []byte
}

// dirtyFile is the undo log of one backing file written since its last
// fsync. Each byte of [0, origSize) is saved at most once, the first time it
// is overwritten (or cut off by a truncate), so the log holds exactly the
// synced content of every range it covers; bytes past origSize need no
// saving, the rollback truncates them away.
type dirtyFile struct {
	mu       sync.Mutex
	fd       int    // our own O_RDWR descriptor on the backing inode
	name     string // backing path when first dirtied, for logs
	origSize int64
	saved    []span // sorted, disjoint, merged
	undo     []undoRec
	written  int64 // bytes written since the last fsync
	dropped  bool  // fsynced or rolled back: look the key up again

	lastSeq  uint64 // sequence number of this file's last write
	lastOff  int64
	lastData []byte
}

// PowerCutReport says what a PowerCut discarded.
type PowerCutReport struct {
	// Files is the number of files rolled back (written or truncated since
	// their last fsync).
	Files int
	// BytesDiscarded counts the bytes of discarded write requests, less the
	// torn prefix that was kept.
	BytesDiscarded int64
	// FilesRemoved counts files created since their directory's last fsync
	// and removed (only with Options.VolatileCreates).
	FilesRemoved int
	// Torn is true when the last unsynced write was kept in part.
	Torn bool
	// TornFile, TornOffset and TornKept locate the kept prefix.
	TornFile   string
	TornOffset int64
	TornKept   int
	// Unmount, Rollback and Remount time the three steps.
	Unmount, Rollback, Remount time.Duration
}

// getDirty returns the file's undo log, created if needed, locked. fd is any
// descriptor on the backing inode; the log dups it (dupOK: it is O_RDWR
// without O_DIRECT) or reopens the inode read-write.
func (f *FS) getDirty(key fileKey, fd int, dupOK bool, name string) (*dirtyFile, error) {
	for {
		f.dirtyMu.Lock()
		d := f.dirty[key]
		if d == nil {
			var own int
			var err error
			if dupOK {
				own, err = unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
			} else {
				own, err = unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDWR|unix.O_CLOEXEC, 0)
			}
			if err != nil {
				f.dirtyMu.Unlock()
				return nil, fmt.Errorf("reopen %s: %w", name, err)
			}
			var st unix.Stat_t
			if err := unix.Fstat(own, &st); err != nil {
				unix.Close(own)
				f.dirtyMu.Unlock()
				return nil, fmt.Errorf("stat %s: %w", name, err)
			}
			d = &dirtyFile{fd: own, name: name, origSize: st.Size}
			f.dirty[key] = d
		}
		f.dirtyMu.Unlock()
		d.mu.Lock()
		if !d.dropped {
			return d, nil
		}
		d.mu.Unlock()
	}
}

// lookupDirty returns the file's undo log locked, or nil when it is clean.
func (f *FS) lookupDirty(key fileKey) *dirtyFile {
	for {
		f.dirtyMu.Lock()
		d := f.dirty[key]
		f.dirtyMu.Unlock()
		if d == nil {
			return nil
		}
		d.mu.Lock()
		if !d.dropped {
			return d
		}
		d.mu.Unlock()
	}
}

// synced drops the log of a file just fsynced; d is locked and stays so.
func (f *FS) synced(key fileKey, d *dirtyFile) {
	f.dirtyMu.Lock()
	if f.dirty[key] == d {
		delete(f.dirty, key)
	}
	f.dirtyMu.Unlock()
	d.dropped = true
	unix.Close(d.fd)
	d.undo, d.saved, d.lastData = nil, nil, nil
}

// capture saves the synced bytes of [off, end) ∩ [0, origSize) not saved yet.
// d is locked.
func (d *dirtyFile) capture(off, end int64) error {
	end = min(end, d.origSize)
	if off >= end {
		return nil
	}
	for _, g := range gaps(d.saved, off, end) {
		buf := make([]byte, g.end-g.off)
		n, err := unix.Pread(d.fd, buf, g.off)
		if err != nil {
			return fmt.Errorf("save %s [%d,%d): %w", d.name, g.off, g.end, err)
		}
		// A short read means the file is shorter than origSize here, which
		// only a truncate can do, and that truncate saved these bytes: not
		// reached. Keep zeros, as a sparse extension would read.
		_ = n
		d.undo = append(d.undo, undoRec{off: g.off, data: buf})
		d.saved = addSpan(d.saved, g)
	}
	return nil
}

// rollback restores the file as of its last fsync: truncate to the synced
// size, then put the saved bytes back (they are disjoint, so order does not
// matter).
func (d *dirtyFile) rollback() error {
	if err := unix.Ftruncate(d.fd, d.origSize); err != nil {
		return fmt.Errorf("truncate %s: %w", d.name, err)
	}
	for _, u := range d.undo {
		if _, err := unix.Pwrite(d.fd, u.data, u.off); err != nil {
			return fmt.Errorf("restore %s at %d: %w", d.name, u.off, err)
		}
	}
	return nil
}

// gaps returns the parts of [off, end) that saved does not cover.
func gaps(saved []span, off, end int64) []span {
	var out []span
	cur := off
	i, _ := slices.BinarySearchFunc(saved, off, func(s span, v int64) int {
		if s.end <= v {
			return -1
		}
		return 1
	})
	for ; i < len(saved) && cur < end; i++ {
		s := saved[i]
		if s.off >= end {
			break
		}
		if s.off > cur {
			out = append(out, span{cur, s.off})
		}
		cur = max(cur, s.end)
	}
	if cur < end {
		out = append(out, span{cur, end})
	}
	return out
}

// addSpan inserts s (disjoint from saved's spans) and merges neighbours.
func addSpan(saved []span, s span) []span {
	i, _ := slices.BinarySearchFunc(saved, s.off, func(x span, v int64) int {
		if x.off < v {
			return -1
		}
		return 1
	})
	saved = slices.Insert(saved, i, s)
	if i+1 < len(saved) && saved[i].end == saved[i+1].off {
		saved[i].end = saved[i+1].end
		saved = slices.Delete(saved, i+1, i+2)
	}
	if i > 0 && saved[i-1].end == saved[i].off {
		saved[i-1].end = saved[i].end
		saved = slices.Delete(saved, i, i+1)
	}
	return saved
}

// PowerCut simulates losing power: it unmounts (lazily when busy), rolls
// every backing file written since its last fsync back to its synced
// content and size, optionally keeps a random strict prefix of the last
// unsynced write (tear), and mounts again, so no kernel cache of the
// discarded bytes survives. The caller must have killed every process using
// the mount first. Faults set by SetSlow, SetErrors and SetQuota stay.
func (f *FS) PowerCut(tear bool) (PowerCutReport, error) {
	var rep PowerCutReport
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return rep, errClosed
	}
	t0 := time.Now()
	if err := f.unmountLocked(); err != nil {
		return rep, err
	}
	t1 := time.Now()
	f.cutMu.Lock() // wait for requests still in flight on a detached mount
	err := f.rollbackLocked(tear, &rep)
	if rerr := f.removeNewFiles(&rep); rerr != nil && err == nil {
		err = rerr
	}
	f.cutMu.Unlock()
	if used, serr := scanUsed(f.backing); serr == nil {
		f.quotaMu.Lock()
		f.used = used
		f.quotaMu.Unlock()
	}
	t2 := time.Now()
	merr := f.mountLocked()
	rep.Unmount, rep.Rollback, rep.Remount = t1.Sub(t0), t2.Sub(t1), time.Since(t2)
	f.logf("faultfs: power cut: %d files rolled back, %d bytes discarded, %d new files removed, torn=%v (unmount %v, rollback %v, remount %v)",
		rep.Files, rep.BytesDiscarded, rep.FilesRemoved, rep.Torn, rep.Unmount, rep.Rollback, rep.Remount)
	if err != nil {
		return rep, fmt.Errorf("faultfs: power cut: %w", err)
	}
	return rep, merr
}

func (f *FS) rollbackLocked(tear bool, rep *PowerCutReport) error {
	f.dirtyMu.Lock()
	files := f.dirty
	f.dirty = map[fileKey]*dirtyFile{}
	f.dirtyMu.Unlock()

	var last *dirtyFile
	for _, d := range files {
		if d.lastData != nil && (last == nil || d.lastSeq > last.lastSeq) {
			last = d
		}
	}
	var firstErr error
	for _, d := range files {
		d.mu.Lock()
		rep.Files++
		rep.BytesDiscarded += d.written
		if err := d.rollback(); err != nil && firstErr == nil {
			firstErr = err
		}
		if tear && d == last && len(d.lastData) >= 2 {
			k := 1 + rand.IntN(len(d.lastData)-1) // 1..len-1: torn, never whole
			if _, err := unix.Pwrite(d.fd, d.lastData[:k], d.lastOff); err != nil && firstErr == nil {
				firstErr = fmt.Errorf("tear %s: %w", d.name, err)
			} else {
				rep.Torn, rep.TornFile, rep.TornOffset, rep.TornKept = true, d.name, d.lastOff, k
				rep.BytesDiscarded -= int64(k)
			}
		}
		unix.Fsync(d.fd) // the rolled-back state is what "the disk" holds
		d.dropped = true
		unix.Close(d.fd)
		d.mu.Unlock()
	}
	return firstErr
}

// dropAllDirty forgets every undo log (Close: unsynced writes are kept).
func (f *FS) dropAllDirty() {
	f.dirtyMu.Lock()
	files := f.dirty
	f.dirty = map[fileKey]*dirtyFile{}
	f.dirtyMu.Unlock()
	for _, d := range files {
		d.mu.Lock()
		d.dropped = true
		unix.Close(d.fd)
		d.mu.Unlock()
	}
}

// Dirty reports how many files hold unsynced writes and how many bytes their
// undo logs keep in memory.
func (f *FS) Dirty() (files int, undoBytes int64) {
	f.dirtyMu.Lock()
	ds := make([]*dirtyFile, 0, len(f.dirty))
	for _, d := range f.dirty {
		ds = append(ds, d)
	}
	f.dirtyMu.Unlock()
	for _, d := range ds {
		d.mu.Lock()
		for _, u := range d.undo {
			undoBytes += int64(len(u.data))
		}
		d.mu.Unlock()
	}
	return len(ds), undoBytes
}

// Settle makes everything written so far durable, as a kernel's writeback
// would have for a store that had been running a while: the next power
// cut loses only what is written after it. The runner settles a managed
// store once its setup is done (a stream, a schema, a first segment
// created a second before the load), so a cut measures what the store
// loses of its traffic, not of its configuration.
func (f *FS) Settle() {
	f.dropAllDirty()
	f.createdMu.Lock()
	clear(f.newFiles)
	f.createdMu.Unlock()
}
