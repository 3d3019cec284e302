package faultfs

import (
	"context"
	"path/filepath"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"
)

// newFile is a file created since its directory's last fsync (only tracked
// with Options.VolatileCreates).
type newFile struct {
	path string // backing path now (follows renames made through the mount)
	dir  string // backing path of the directory that must be fsynced
}

// created records a file just created at path (under FS.createdMu).
func (f *FS) created(path string) {
	if !f.opts.VolatileCreates {
		return
	}
	var st unix.Stat_t
	if unix.Lstat(path, &st) != nil {
		return
	}
	f.createdMu.Lock()
	f.newFiles[fileKey{uint64(st.Dev), st.Ino}] = newFile{path: path, dir: filepath.Dir(path)}
	f.createdMu.Unlock()
}

// renamed follows a rename of src (inode key) to dst (inode other before
// it): a new file moves with its name; a new file replaced at dst is gone;
// with exchange, other moves to src.
func (f *FS) renamed(key, other fileKey, src, dst string, exchange bool) {
	if !f.opts.VolatileCreates {
		return
	}
	f.createdMu.Lock()
	defer f.createdMu.Unlock()
	move := func(k fileKey, to string) {
		if nf, ok := f.newFiles[k]; ok {
			nf.path, nf.dir = to, filepath.Dir(to)
			f.newFiles[k] = nf
		}
	}
	if exchange {
		move(key, dst)
		move(other, src)
		return
	}
	if other != key && f.newFiles[other].path == dst {
		delete(f.newFiles, other)
	}
	move(key, dst)
}

// removed forgets a new file unlinked at path.
func (f *FS) removed(key fileKey, path string) {
	if !f.opts.VolatileCreates {
		return
	}
	f.createdMu.Lock()
	if f.newFiles[key].path == path {
		delete(f.newFiles, key)
	}
	f.createdMu.Unlock()
}

// dirSynced makes the creations in dir durable.
func (f *FS) dirSynced(dir string) {
	if !f.opts.VolatileCreates {
		return
	}
	f.createdMu.Lock()
	for k, nf := range f.newFiles {
		if nf.dir == dir {
			delete(f.newFiles, k)
		}
	}
	f.createdMu.Unlock()
}

// removeNewFiles unlinks, at a power cut, the files whose creation was never
// made durable; a path now naming another inode is left alone.
func (f *FS) removeNewFiles(rep *PowerCutReport) error {
	f.createdMu.Lock()
	files := f.newFiles
	f.newFiles = map[fileKey]newFile{}
	f.createdMu.Unlock()
	var firstErr error
	for k, nf := range files {
		var st unix.Stat_t
		if unix.Lstat(nf.path, &st) != nil || (fileKey{uint64(st.Dev), st.Ino}) != k {
			continue
		}
		if err := unix.Unlink(nf.path); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		rep.FilesRemoved++
	}
	return firstErr
}

func lstatKey(p string) fileKey {
	var st unix.Stat_t
	if unix.Lstat(p, &st) != nil {
		return fileKey{}
	}
	return fileKey{uint64(st.Dev), st.Ino}
}

// loopDir is the method set of go-fuse's loopback directory handle.
type loopDir interface {
	fs.FileReleasedirer
	fs.FileSeekdirer
	fs.FileFsyncdirer
	fs.FileReaddirenter
	fs.FileIoctler
}

// dirHandle is an open directory whose fsync goes through the fsync faults
// and commits the creations in it.
type dirHandle struct {
	loopDir
	n *node
}

var _ fs.NodeOpendirHandler = (*node)(nil)

func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, ff, errno := n.LoopbackNode.OpendirHandle(ctx, flags)
	if errno != 0 {
		return fh, ff, errno
	}
	if ld, ok := fh.(loopDir); ok {
		return &dirHandle{loopDir: ld, n: n}, ff, 0
	}
	return fh, ff, 0
}

func (d *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	release, errno := d.n.m.enter()
	if errno != 0 {
		return errno
	}
	defer release()
	f := d.n.m.fs
	if errno := f.beforeFsync(ctx); errno != 0 {
		return errno
	}
	if errno := d.loopDir.Fsyncdir(ctx, flags); errno != 0 {
		return errno
	}
	f.dirSynced(d.n.backingPath())
	return 0
}
