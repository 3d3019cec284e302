// Package vfs is the file layer refstore's engine reaches its files through,
// after SQLite's test VFS and RocksDB's FaultInjectionTestFS: OS is the real
// one (the default), Mem is an in-memory one that injects EIO on writes and
// syncs and simulates power loss (see Mem for exactly what it models).
package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File is an open file. Offsets are absolute; there is no file position.
type File interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	Truncate(size int64) error
	// Allocate reserves space up to size bytes (the file size included), like
	// fallocate(2) mode 0; a file system without it does nothing.
	Allocate(size int64) error
	// Sync is fsync(2): data and metadata.
	Sync() error
	// Datasync is fdatasync(2): data and the metadata needed to read it.
	Datasync() error
	Size() (int64, error)
	Close() error
}

// DirEntry is one name in a directory.
type DirEntry struct {
	Name    string
	Regular bool // a regular file (not a directory, link or device)
}

// FS is a file system. Names are paths as the os package takes them.
type FS interface {
	MkdirAll(dir string) error
	// OpenFile takes the os.O_* flags RDONLY, WRONLY, RDWR, CREATE, EXCL and
	// TRUNC; errors satisfy errors.Is(err, os.ErrNotExist / os.ErrExist).
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	ReadDir(dir string) ([]DirEntry, error)
	Rename(oldname, newname string) error
	Remove(name string) error
	// SyncDir fsyncs a directory: creations, renames and removals in it
	// are durable once it returns.
	SyncDir(dir string) error
	// Lock takes an exclusive, non-blocking lock on the (existing) file
	// name, held until the returned closer is closed.
	Lock(name string) (io.Closer, error)
}

// ReadFile reads a whole file.
func ReadFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, err := f.Size()
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	m, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:m], nil
}

// WriteFileAtomic replaces dir/name with data durably and atomically: it
// writes dir/name.tmp, fsyncs it, renames it over dir/name and fsyncs dir,
// so after a crash the file holds either its old or its new content, never
// a mix or nothing (given a file system that renames atomically).
func WriteFileAtomic(fsys FS, dir, name string, data []byte) error {
	path := filepath.Join(dir, name)
	tmp := path + ".tmp"
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, path)
	}
	if err != nil {
		fsys.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("write %s: sync dir: %w", path, err)
	}
	return nil
}
