package vfs

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
)

// ErrPowerCut is what every call returns once the power is cut, until
// Restart; errors.Is(err, syscall.EIO) also holds.
var ErrPowerCut = fmt.Errorf("vfs: power cut: %w", syscall.EIO)

// ErrStale is returned by a file handle opened before the last Restart.
var ErrStale = errors.New("vfs: file handle from before a power cut")

// Mem is an in-memory file system for fault and power-loss tests.
//
// What it models:
//   - Page cache vs disk: every file has the content a reader sees and the
//     content on "disk". WriteAt and Truncate change only the
//     former and are remembered as unsynced operations; Sync or Datasync
//     of the file (any handle) applies them to the disk copy (fsync and
//     fdatasync are treated alike).
//   - Names: creations, renames and removals change only the live
//     directory; SyncDir of the parent makes the directory's whole current
//     set of names durable (one flat level per directory; MkdirAll'd
//     directories themselves are always durable). A file whose name was
//     never covered by a SyncDir disappears at a power cut even if its data
//     was synced (stricter than ext4 usually is, as POSIX allows).
//   - Power loss: CutAfter(n) cuts the power at the n-th mutating call
//     (WriteAt, Truncate, Allocate, Sync, Datasync, SyncDir, Rename, Remove,
//     a creating OpenFile), CutNow at once; from then on every call fails
//     with ErrPowerCut. Restart then rolls the disk back as power loss
//     would: names to the last SyncDir, each file to its last sync, with
//     SetTear each unsynced operation independently dropped, applied, or
//     (writes) torn at a random byte,, in their original order — so
//     writeback may reorder writes and keep a later one without an
//     earlier one. Handles from before fail with ErrStale; locks are freed.
//   - Process crash: Crash/CrashAfter(n) kill the handles and free the
//     locks but keep the page cache, synced or not.
//   - EIO: FailWrites/FailSyncs fail the n-th call or each with a
//     probability. A failed sync behaves as Linux does after a writeback
//     error: the dirty data is dropped from the durable path (the pages
//     are marked clean, so the reader still sees them until a power cut)
//     and the error is reported once: the next sync succeeds.
//
// Not modelled: sector/page granularity (a write is the unit), sync of one
// file making another's data durable, ENOSPC, latency, mmap, directories
// deeper than their own flat listing, metadata-only fsync differences.
type Mem struct {
	mu    sync.Mutex
	dirs  map[string]bool
	live  map[string]*inode // path -> inode, what callers see
	disk  map[string]*inode // path -> inode, as of the last SyncDir
	locks map[string]bool
	gen   int // Restart count; handles carry the one they were opened in

	cut       bool
	countOn   bool
	crashOn   bool // the countdown crashes the process instead of the power
	countdown int64
	calls     int64 // mutating calls so far
	tear      bool
	rng       *rand.Rand

	writeFault, syncFault fault
}

type fault struct {
	nth   int64   // fail the nth call (1-based) of its kind; 0: off
	prob  float64 // and/or each call with this probability
	calls int64
}

func (f *fault) hit(rng *rand.Rand) bool {
	f.calls++
	return (f.nth > 0 && f.calls == f.nth) || (f.prob > 0 && rng.Float64() < f.prob)
}

type opKind int

const (
	opWrite opKind = iota
	opTruncate
)

type op struct {
	kind opKind
	off  int64 // write offset, or the size for truncate/allocate
	data []byte
}

type inode struct {
	data  []byte // what readers see
	disk  []byte // durable content
	dirty []op   // applied to data, not yet to disk
}

func apply(b []byte, o op) []byte {
	switch o.kind {
	case opWrite:
		end := o.off + int64(len(o.data))
		if int64(len(b)) < end {
			b = grow(b, end)
		}
		copy(b[o.off:], o.data)
	case opTruncate:
		if o.off <= int64(len(b)) {
			b = b[:o.off]
		} else {
			b = grow(b, o.off)
		}
	}
	return b
}

func grow(b []byte, n int64) []byte {
	if int64(cap(b)) >= n {
		old := len(b)
		b = b[:n]
		clear(b[old:])
		return b
	}
	nb := make([]byte, n, max(n, int64(cap(b))*2))
	copy(nb, b)
	return nb
}

// NewMem returns an empty in-memory file system whose random choices
// (probabilistic faults, tearing) come from seed.
func NewMem(seed uint64) *Mem {
	return &Mem{dirs: map[string]bool{"/": true, ".": true}, live: map[string]*inode{}, disk: map[string]*inode{},
		locks: map[string]bool{}, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// CutAfter arms a power cut at the n-th mutating call from now (n >= 1);
// n <= 0 disarms it.
func (m *Mem) CutAfter(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.countOn, m.countdown, m.crashOn = n > 0, n, false
}

// CrashAfter arms a process crash (see Crash) at the n-th mutating call
// from now: that call and every later one on an old handle fail with
// ErrStale; n <= 0 disarms it.
func (m *Mem) CrashAfter(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.countOn, m.countdown, m.crashOn = n > 0, n, n > 0
}

// CutNow cuts the power.
func (m *Mem) CutNow() {
	m.mu.Lock()
	m.cut = true
	m.mu.Unlock()
}

// IsCut says whether the power is off.
func (m *Mem) IsCut() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cut
}

// Debug describes the power and countdown state (for diagnostics).
func (m *Mem) Debug() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprintf("cut=%v countOn=%v crashOn=%v countdown=%d calls=%d gen=%d", m.cut, m.countOn, m.crashOn, m.countdown, m.calls, m.gen)
}

// Calls is the number of mutating calls so far.
func (m *Mem) Calls() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// SetTear chooses what Restart does with unsynced operations: false drops
// all of them (the disk is exactly the last syncs), true keeps, drops or
// tears each at random.
func (m *Mem) SetTear(on bool) {
	m.mu.Lock()
	m.tear = on
	m.mu.Unlock()
}

// FailWrites fails the nth WriteAt from now (0: none) and each one with
// probability prob, with EIO; the write changes nothing.
func (m *Mem) FailWrites(nth int64, prob float64) {
	m.mu.Lock()
	m.writeFault = fault{nth: nth, prob: prob}
	m.mu.Unlock()
}

// FailSyncs fails the nth Sync/Datasync from now (0: none) and each one
// with probability prob, with EIO, dropping that file's dirty data from
// the durable path (see Mem).
func (m *Mem) FailSyncs(nth int64, prob float64) {
	m.mu.Lock()
	m.syncFault = fault{nth: nth, prob: prob}
	m.mu.Unlock()
}

// Restart is the machine coming back after a power cut (it cuts the power
// first if it is still on): the live state becomes what was durable, see
// Mem. Every file handle from before fails from now on.
func (m *Mem) Restart() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cut, m.countOn = false, false
	m.gen++
	m.locks = map[string]bool{}
	live := make(map[string]*inode, len(m.disk))
	done := map[*inode]bool{}
	for p, ino := range m.disk {
		live[p] = ino
		if done[ino] {
			continue
		}
		done[ino] = true
		if m.tear {
			for _, o := range ino.dirty {
				switch r := m.rng.IntN(3); {
				case r == 0:
				case r == 1 || o.kind != opWrite || len(o.data) < 2:
					ino.disk = apply(ino.disk, o)
				default:
					o.data = o.data[:1+m.rng.IntN(len(o.data)-1)]
					ino.disk = apply(ino.disk, o)
				}
			}
		}
		ino.dirty = nil
		ino.data = append(ino.data[:0:0], ino.disk...)
	}
	m.live = live
}

// Crash is the process dying without a power loss: every file handle from
// before fails with ErrStale and locks are freed, but the page cache (what
// readers see, synced or not) survives, so it may still reach the disk or
// be lost at a later power cut.
func (m *Mem) Crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	m.locks = map[string]bool{}
}

// step accounts for one mutating call; it reports ErrPowerCut when the
// power is (now) off, ErrStale when the armed crash happens now.
func (m *Mem) step() error {
	if m.cut {
		return ErrPowerCut
	}
	m.calls++
	if m.countOn {
		m.countdown--
		if m.countdown <= 0 {
			m.countOn = false
			if m.crashOn {
				m.gen++
				m.locks = map[string]bool{}
				return ErrStale
			}
			m.cut = true
			return ErrPowerCut
		}
	}
	return nil
}

func clean(name string) string { return filepath.Clean(name) }

func pathErr(op, name string, err error) error { return &os.PathError{Op: op, Path: name, Err: err} }

func (m *Mem) MkdirAll(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cut {
		return ErrPowerCut
	}
	for d := clean(dir); !m.dirs[d]; d = filepath.Dir(d) {
		m.dirs[d] = true
	}
	return nil
}

func (m *Mem) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = clean(name)
	if m.cut {
		return nil, pathErr("open", name, ErrPowerCut)
	}
	if !m.dirs[filepath.Dir(name)] {
		return nil, pathErr("open", name, os.ErrNotExist)
	}
	ino, ok := m.live[name]
	switch {
	case ok && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, pathErr("open", name, os.ErrExist)
	case !ok && flag&os.O_CREATE == 0:
		return nil, pathErr("open", name, os.ErrNotExist)
	case !ok:
		if err := m.step(); err != nil {
			return nil, pathErr("open", name, err)
		}
		ino = &inode{}
		m.live[name] = ino
	}
	if flag&os.O_TRUNC != 0 && len(ino.data) > 0 {
		if err := m.step(); err != nil {
			return nil, pathErr("open", name, err)
		}
		ino.data = ino.data[:0]
		ino.dirty = append(ino.dirty, op{kind: opTruncate})
	}
	return &memFile{m: m, ino: ino, name: name, gen: m.gen, write: flag&(os.O_WRONLY|os.O_RDWR) != 0}, nil
}

func (m *Mem) ReadDir(dir string) ([]DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir = clean(dir)
	if m.cut {
		return nil, pathErr("readdir", dir, ErrPowerCut)
	}
	if !m.dirs[dir] {
		return nil, pathErr("readdir", dir, os.ErrNotExist)
	}
	var out []DirEntry
	for p := range m.live {
		if filepath.Dir(p) == dir {
			out = append(out, DirEntry{Name: filepath.Base(p), Regular: true})
		}
	}
	for d := range m.dirs {
		if filepath.Dir(d) == dir && d != dir {
			out = append(out, DirEntry{Name: filepath.Base(d)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *Mem) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	oldname, newname = clean(oldname), clean(newname)
	if err := m.step(); err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	ino, ok := m.live[oldname]
	if !ok || !m.dirs[filepath.Dir(newname)] {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: os.ErrNotExist}
	}
	delete(m.live, oldname)
	m.live[newname] = ino
	return nil
}

func (m *Mem) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = clean(name)
	if err := m.step(); err != nil {
		return pathErr("remove", name, err)
	}
	if _, ok := m.live[name]; !ok {
		return pathErr("remove", name, os.ErrNotExist)
	}
	delete(m.live, name)
	return nil
}

func (m *Mem) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir = clean(dir)
	if err := m.step(); err != nil {
		return pathErr("fsync", dir, err)
	}
	if !m.dirs[dir] {
		return pathErr("fsync", dir, os.ErrNotExist)
	}
	for p := range m.disk {
		if filepath.Dir(p) == dir {
			delete(m.disk, p)
		}
	}
	for p, ino := range m.live {
		if filepath.Dir(p) == dir {
			m.disk[p] = ino
		}
	}
	return nil
}

type memLock struct {
	m    *Mem
	name string
	gen  int
}

func (l *memLock) Close() error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if l.gen == l.m.gen {
		delete(l.m.locks, l.name)
	}
	return nil
}

func (m *Mem) Lock(name string) (io.Closer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = clean(name)
	if m.cut {
		return nil, pathErr("flock", name, ErrPowerCut)
	}
	if _, ok := m.live[name]; !ok {
		return nil, pathErr("flock", name, os.ErrNotExist)
	}
	if m.locks[name] {
		return nil, pathErr("flock", name, syscall.EWOULDBLOCK)
	}
	m.locks[name] = true
	return &memLock{m: m, name: name, gen: m.gen}, nil
}

type memFile struct {
	m      *Mem
	ino    *inode
	name   string
	gen    int
	write  bool
	closed bool
}

// check is called with m.mu held.
func (f *memFile) check(opName string, mutating bool) error {
	if f.closed {
		return pathErr(opName, f.name, os.ErrClosed)
	}
	if f.gen != f.m.gen {
		return pathErr(opName, f.name, ErrStale)
	}
	if mutating {
		if err := f.m.step(); err != nil {
			return pathErr(opName, f.name, err)
		}
	} else if f.m.cut {
		return pathErr(opName, f.name, ErrPowerCut)
	}
	return nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if off >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) mutate(opName string, o op) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check(opName, true); err != nil {
		return err
	}
	if !f.write {
		return pathErr(opName, f.name, syscall.EBADF)
	}
	if o.kind == opWrite {
		if f.m.writeFault.hit(f.m.rng) {
			return pathErr(opName, f.name, syscall.EIO)
		}
		o.data = append([]byte(nil), o.data...)
	}
	f.ino.data = apply(f.ino.data, o)
	f.ino.dirty = append(f.ino.dirty, o)
	return nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.mutate("write", op{kind: opWrite, off: off, data: p}); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (f *memFile) Truncate(size int64) error {
	return f.mutate("truncate", op{kind: opTruncate, off: size})
}

// Allocate is a no-op, as on a file system without fallocate (it still
// counts as a mutating call): preallocated space would read as zeros anyway,
// and a 64 MiB segment need not cost 64 MiB of memory twice.
func (f *memFile) Allocate(size int64) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	return f.check("fallocate", true)
}

func (f *memFile) Sync() error { return f.sync("fsync") }

func (f *memFile) Datasync() error { return f.sync("fdatasync") }

func (f *memFile) sync(opName string) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check(opName, true); err != nil {
		return err
	}
	ino := f.ino
	if f.m.syncFault.hit(f.m.rng) {
		ino.dirty = nil // writeback failed: those pages never reach the disk
		return pathErr(opName, f.name, syscall.EIO)
	}
	for _, o := range ino.dirty {
		ino.disk = apply(ino.disk, o)
	}
	ino.dirty = nil
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("stat", false); err != nil {
		return 0, err
	}
	return int64(len(f.ino.data)), nil
}

func (f *memFile) Close() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if f.closed {
		return pathErr("close", f.name, os.ErrClosed)
	}
	f.closed = true
	return nil
}
