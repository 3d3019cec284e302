package faultfs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Options configure Mount. The zero value is a private mount with no logging.
type Options struct {
	// AllowOther lets users other than the mounting one (root) use the
	// mount; needed when the store runs as another user, e.g. postgres.
	AllowOther bool
	// Logf, if set, receives one line per notable event (mount, unmount
	// fallback, power cut). Default: silent.
	Logf func(format string, args ...any)
	// VolatileCreates makes the creation of a regular file (open with
	// O_CREAT) volatile too: PowerCut removes every file created since the
	// last fsync of its directory, strict POSIX semantics (ext4 in practice
	// often keeps them: its journal commits every few seconds and on any
	// fsync). Default false: directory operations are durable at once.
	VolatileCreates bool
}

// FS is a mounted fault file system. Its methods are safe for concurrent
// use. Always Close it: a FUSE mount outlives a crashed process.
type FS struct {
	backing, mnt string
	opts         Options

	mu     sync.Mutex // serialises mount, PowerCut and Close
	cur    *mount     // nil once closed
	closed bool

	// cutMu is held shared by every request handler and exclusively by
	// PowerCut while it rolls the backing files back.
	cutMu sync.RWMutex

	faultMu sync.Mutex
	faults  faults

	quotaMu sync.Mutex
	used    int64
	quota   int64 // 0 = none

	dirtyMu sync.Mutex
	dirty   map[fileKey]*dirtyFile
	seq     uint64 // write sequence, to find the last unsynced write

	createdMu sync.Mutex
	newFiles  map[fileKey]newFile // with VolatileCreates
}

// mount is one FUSE mount of the backing dir; PowerCut replaces it. Nodes
// and handles of a dead mount refuse every request with EIO, so a request
// still in flight on a lazily detached mount cannot touch the backing
// files after the rollback.
type mount struct {
	fs     *FS
	server *fuse.Server
	dead   atomic.Bool
}

// Mount serves backing at mountpoint (created if missing) and returns once
// the mount is live. Every byte lives in backing; processes use mountpoint.
func Mount(backing, mountpoint string, opts Options) (*FS, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	backing, err := filepath.Abs(backing)
	if err != nil {
		return nil, fmt.Errorf("faultfs: backing: %w", err)
	}
	mountpoint, err = filepath.Abs(mountpoint)
	if err != nil {
		return nil, fmt.Errorf("faultfs: mountpoint: %w", err)
	}
	if st, err := os.Stat(backing); err != nil {
		return nil, fmt.Errorf("faultfs: backing: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("faultfs: backing %s is not a directory", backing)
	}
	if err := os.MkdirAll(mountpoint, 0o755); err != nil {
		return nil, fmt.Errorf("faultfs: mountpoint: %w", err)
	}
	if mountpoint, err = filepath.EvalSymlinks(mountpoint); err != nil { // as mountinfo spells it
		return nil, fmt.Errorf("faultfs: mountpoint: %w", err)
	}
	if mounted, _ := IsMounted(mountpoint); mounted {
		return nil, fmt.Errorf("faultfs: %s is already a mount point (a leftover mount? faultfs.ForceUnmount or `umount -l %s`)", mountpoint, mountpoint)
	}
	f := &FS{backing: backing, mnt: mountpoint, opts: opts, dirty: map[fileKey]*dirtyFile{}, newFiles: map[fileKey]newFile{}}
	used, err := scanUsed(backing)
	if err != nil {
		return nil, fmt.Errorf("faultfs: scan %s: %w", backing, err)
	}
	f.used = used
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.mountLocked(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *FS) mountLocked() error {
	start := time.Now()
	root, err := fs.NewLoopbackRoot(f.backing)
	if err != nil {
		return fmt.Errorf("faultfs: %w", err)
	}
	ln := root.(*fs.LoopbackNode)
	m := &mount{fs: f}
	rn := &node{LoopbackNode: ln, m: m}
	ln.RootData.RootNode = rn
	// Every change goes through this mount and PowerCut remounts, so the
	// kernel may cache entries and attributes (go-fuse's default of 1 s).
	oneSec := time.Second
	srv, err := fs.Mount(f.mnt, rn, &fs.Options{EntryTimeout: &oneSec, AttrTimeout: &oneSec, MountOptions: fuse.MountOptions{
		DirectMount: true,
		AllowOther:  f.opts.AllowOther,
		FsName:      f.backing,
		Name:        "faultfs",
		// The kernel checks mode bits, as on a disk file system; the
		// server itself runs as root and would allow anything.
		Options: []string{"default_permissions"},
	}})
	if err != nil {
		return fmt.Errorf("faultfs: mount %s: %w", f.mnt, err)
	}
	m.server = srv
	f.cur = m
	f.logf("faultfs: mounted %s on %s in %v", f.backing, f.mnt, time.Since(start).Round(time.Microsecond))
	return nil
}

// unmountLocked unmounts the current mount: a normal unmount first, a lazy
// (MNT_DETACH) one when the mount is busy.
func (f *FS) unmountLocked() error {
	m := f.cur
	if m == nil {
		return nil
	}
	f.cur = nil
	m.dead.Store(true)
	if mounted, _ := IsMounted(f.mnt); !mounted {
		return nil // unmounted behind our back (ForceUnmount, umount -l)
	}
	err := m.server.Unmount()
	if err == nil {
		return nil
	}
	f.logf("faultfs: unmount %s failed (busy?): %v; detaching lazily", f.mnt, err)
	if derr := syscall.Unmount(f.mnt, syscall.MNT_DETACH); derr != nil {
		if mounted, _ := IsMounted(f.mnt); mounted {
			return fmt.Errorf("faultfs: unmount %s: %v; lazy unmount: %v", f.mnt, err, derr)
		}
	}
	return nil
}

// Mountpoint is the directory the store uses.
func (f *FS) Mountpoint() string { return f.mnt }

// Backing is the directory that holds the bytes.
func (f *FS) Backing() string { return f.backing }

// Close unmounts (lazily when busy) and forgets the volatile layer: unsynced
// writes stay in the backing files, as after a clean shutdown. Idempotent;
// later calls return nil.
func (f *FS) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	err := f.unmountLocked()
	f.cutMu.Lock()
	f.dropAllDirty()
	f.cutMu.Unlock()
	return err
}

func (f *FS) logf(format string, args ...any) {
	if f.opts.Logf != nil {
		f.opts.Logf(format, args...)
	}
}

// IsMounted reports whether path is a mount point, from /proc/self/mountinfo.
func IsMounted(path string) (bool, error) {
	path = filepath.Clean(path)
	fh, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMountinfo(fields[4]) == path {
			return true, nil
		}
	}
	return false, sc.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var errClosed = errors.New("faultfs: closed")

// ForceUnmount lazily unmounts whatever is mounted at mountpoint, e.g. a
// mount left behind by a process that died without Close (its server is
// gone and every access fails with "transport endpoint is not connected").
// Not mounted is not an error.
func ForceUnmount(mountpoint string) error {
	mountpoint, err := filepath.Abs(mountpoint)
	if err != nil {
		return err
	}
	if mounted, err := IsMounted(mountpoint); err != nil || !mounted {
		return err
	}
	if err := syscall.Unmount(mountpoint, syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("faultfs: lazy unmount %s: %w", mountpoint, err)
	}
	return nil
}
