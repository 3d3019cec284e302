package faultfs

import (
	"context"
	"math"
	"path/filepath"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// node is a loopback node whose opens hand out fault-injecting handles and
// whose truncates, unlinks and renames feed the undo logs and the quota.
type node struct {
	*fs.LoopbackNode
	m *mount
}

var (
	_ fs.NodeWrapChilder = (*node)(nil)
	_ fs.NodeOpener      = (*node)(nil)
	_ fs.NodeCreater     = (*node)(nil)
	_ fs.NodeTmpfiler    = (*node)(nil)
	_ fs.NodeSetattrer   = (*node)(nil)
	_ fs.NodeUnlinker    = (*node)(nil)
	_ fs.NodeRenamer     = (*node)(nil)
)

// WrapChild makes every node of the tree a *node of the same mount.
func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), m: n.m}
}

// enter admits a request that may change the backing files: it holds
// FS.cutMu shared until release, and refuses requests on a dead mount.
func (m *mount) enter() (release func(), errno syscall.Errno) {
	m.fs.cutMu.RLock()
	if m.dead.Load() {
		m.fs.cutMu.RUnlock()
		return nil, syscall.EIO
	}
	return m.fs.cutMu.RUnlock, 0
}

// directIO opens every file without the kernel's page cache. With the
// cache, a store reading a segment while it appends to it (refstore's
// subscriptions) read stale zero pages now and then: go-fuse serves READ
// and WRITE requests concurrently, and a READ answered with the old bytes
// could land in the cache after the WRITE. Seen here as "segment corrupt
// at offset N: zero length" in every refstore run on the mount, gone with
// direct I/O. It also means nothing of a file survives a power cut in a
// kernel cache. Shared mmap is not possible then; none of the managed
// stores maps its data files.
const directIO = fuse.FOPEN_DIRECT_IO

func (n *node) backingPath() string {
	return filepath.Join(n.RootData.Path, n.EmbeddedInode().Path(nil))
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	release, errno := n.m.enter()
	if errno != 0 {
		return nil, 0, errno
	}
	defer release()
	fh, ff, errno := n.LoopbackNode.Open(ctx, flags&^syscall.O_TRUNC)
	if errno != 0 {
		return nil, 0, errno
	}
	h, errno := n.m.wrap(fh, n.backingPath(), flags)
	return h, ff | directIO, errno
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	release, errno := n.m.enter()
	if errno != 0 {
		return nil, nil, 0, errno
	}
	defer release()
	path := filepath.Join(n.backingPath(), name)
	existed := lstatKey(path) != fileKey{}
	ino, fh, ff, errno := n.LoopbackNode.Create(ctx, name, flags&^syscall.O_TRUNC, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	if !existed {
		n.m.fs.created(path)
	}
	h, errno := n.m.wrap(fh, path, flags)
	return ino, h, ff | directIO, errno
}

func (n *node) Tmpfile(ctx context.Context, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	release, errno := n.m.enter()
	if errno != 0 {
		return nil, nil, 0, errno
	}
	defer release()
	ino, fh, ff, errno := n.LoopbackNode.Tmpfile(ctx, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	h, errno := n.m.wrap(fh, filepath.Join(n.backingPath(), "(tmpfile)"), flags&^syscall.O_TRUNC)
	return ino, h, ff, errno
}

// Setattr routes a size change through the undo log and the quota; the rest
// (mode, owner, times) goes to the loopback.
func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if sz, ok := in.GetSize(); ok {
		release, errno := n.m.enter()
		if errno != 0 {
			return errno
		}
		if h, ok := fh.(*file); ok {
			errno = n.m.fs.truncate(h.fd, h.dupOK, h.key, h.name, int64(sz))
		} else {
			p := n.backingPath()
			fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
			if err != nil {
				release()
				return fs.ToErrno(err)
			}
			var key fileKey
			if key, errno = keyOf(fd); errno == 0 {
				errno = n.m.fs.truncate(fd, true, key, p, int64(sz))
			}
			unix.Close(fd)
		}
		release()
		if errno != 0 {
			return errno
		}
		in2 := *in
		in2.Valid &^= fuse.FATTR_SIZE
		in = &in2
	}
	return n.LoopbackNode.Setattr(ctx, fh, in, out)
}

// Unlink is durable at once; it releases the quota of a last link.
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	release, errno := n.m.enter()
	if errno != 0 {
		return errno
	}
	defer release()
	path := filepath.Join(n.backingPath(), name)
	freed, key := lastLinkSize(path), lstatKey(path)
	errno = n.LoopbackNode.Unlink(ctx, name)
	if errno == 0 {
		n.m.fs.adjustUsed(-freed)
		n.m.fs.removed(key, path)
	}
	return errno
}

// Rename is durable at once; it releases the quota of a replaced last link.
func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	release, errno := n.m.enter()
	if errno != 0 {
		return errno
	}
	defer release()
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	src, dst := filepath.Join(n.backingPath(), name), filepath.Join(np.backingPath(), newName)
	exchange := flags&unix.RENAME_EXCHANGE != 0
	var freed int64
	if !exchange {
		freed = lastLinkSize(dst)
	}
	key, other := lstatKey(src), lstatKey(dst)
	errno = n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
	if errno == 0 {
		n.m.fs.adjustUsed(-freed)
		n.m.fs.renamed(key, other, src, dst, exchange)
	}
	return errno
}

// lastLinkSize is the size a removal of p frees: its size when p is the last
// link of a regular file, else 0.
func lastLinkSize(p string) int64 {
	var st unix.Stat_t
	if unix.Lstat(p, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 {
		return 0
	}
	return st.Size
}

func keyOf(fd int) (fileKey, syscall.Errno) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fileKey{}, fs.ToErrno(err)
	}
	return fileKey{uint64(st.Dev), st.Ino}, 0
}

// fsyncFdatasync is FUSE_FSYNC_FDATASYNC: the fsync is an fdatasync.
const fsyncFdatasync = 1 << 0

// file is an open file: a loopback handle whose writes, fsyncs and
// fallocates go through the faults and the undo log.
type file struct {
	*fs.LoopbackFile
	m    *mount
	fd   int // the loopback's descriptor, owned by it
	key  fileKey
	name string
	// dupOK: the descriptor reads and writes without O_DIRECT, so the undo
	// log can dup it rather than reopen the file.
	dupOK bool
}

var (
	_ fs.FileWriter    = (*file)(nil)
	_ fs.FileWritever  = (*file)(nil)
	_ fs.FileFsyncer   = (*file)(nil)
	_ fs.FileAllocater = (*file)(nil)
)

// wrap turns a loopback handle opened with flags into a *file, and applies
// an O_TRUNC the open was stripped of through the undo log.
func (m *mount) wrap(fh fs.FileHandle, name string, flags uint32) (fs.FileHandle, syscall.Errno) {
	lf, ok := fh.(*fs.LoopbackFile)
	if !ok {
		return fh, 0
	}
	fd, ok := lf.PassthroughFd()
	if !ok {
		lf.Release(context.Background())
		return nil, syscall.EBADF
	}
	key, errno := keyOf(fd)
	if errno != 0 {
		lf.Release(context.Background())
		return nil, errno
	}
	h := &file{LoopbackFile: lf, m: m, fd: fd, key: key, name: name,
		dupOK: flags&syscall.O_ACCMODE == syscall.O_RDWR && flags&syscall.O_DIRECT == 0}
	if flags&syscall.O_TRUNC != 0 {
		if errno := m.fs.truncate(fd, h.dupOK, key, name, 0); errno != 0 {
			lf.Release(context.Background())
			return nil, errno
		}
	}
	return h, 0
}

// PassthroughFd refuses kernel passthrough, which would send writes to the
// backing file without asking us.
func (h *file) PassthroughFd() (int, bool) { return -1, false }

func (h *file) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	release, errno := h.m.enter()
	if errno != 0 {
		return 0, errno
	}
	defer release()
	return h.m.fs.write(ctx, h, data, off)
}

func (h *file) Writev(ctx context.Context, iov [][]byte, off int64) (uint32, syscall.Errno) {
	var n int
	for _, b := range iov {
		n += len(b)
	}
	data := make([]byte, 0, n)
	for _, b := range iov {
		data = append(data, b...)
	}
	return h.Write(ctx, data, off)
}

func (h *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	release, errno := h.m.enter()
	if errno != 0 {
		return errno
	}
	defer release()
	f := h.m.fs
	if errno := f.beforeFsync(ctx); errno != 0 {
		return errno
	}
	d := f.lookupDirty(h.key) // held across the real fsync: no write slips in
	var err error
	if flags&fsyncFdatasync != 0 {
		err = unix.Fdatasync(h.fd)
	} else {
		err = unix.Fsync(h.fd)
	}
	if d != nil {
		if err == nil {
			f.synced(h.key, d)
		}
		d.mu.Unlock()
	}
	return fs.ToErrno(err)
}

func (h *file) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	release, errno := h.m.enter()
	if errno != 0 {
		return errno
	}
	defer release()
	f := h.m.fs
	d, err := f.getDirty(h.key, h.fd, h.dupOK, h.name)
	if err != nil {
		f.logf("faultfs: %v", err)
		return syscall.EIO
	}
	defer d.mu.Unlock()
	before, errno := sizeOf(h.fd)
	if errno != 0 {
		return errno
	}
	start, end := int64(off), int64(off+size)
	var growth int64
	if mode&unix.FALLOC_FL_KEEP_SIZE == 0 {
		growth = max(0, end-before)
	}
	if errno := f.reserve(growth); errno != 0 {
		return errno
	}
	switch {
	case mode&(unix.FALLOC_FL_COLLAPSE_RANGE|unix.FALLOC_FL_INSERT_RANGE) != 0:
		err = d.capture(start, math.MaxInt64) // shifts everything after off
	case mode&(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_ZERO_RANGE) != 0:
		err = d.capture(start, end)
	}
	if err != nil {
		f.reserve(-growth)
		f.logf("faultfs: %v", err)
		return syscall.EIO
	}
	errno = h.LoopbackFile.Allocate(ctx, off, size, mode)
	after, _ := sizeOf(h.fd)
	f.adjustUsed(after - before - growth)
	return errno
}

func sizeOf(fd int) (int64, syscall.Errno) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fs.ToErrno(err)
	}
	return st.Size, 0
}

// write is one FUSE WRITE: faults, quota, undo capture, then the data.
func (f *FS) write(ctx context.Context, h *file, data []byte, off int64) (uint32, syscall.Errno) {
	if errno := f.beforeWrite(ctx, len(data)); errno != 0 {
		return 0, errno
	}
	if len(data) == 0 {
		return 0, 0
	}
	d, err := f.getDirty(h.key, h.fd, h.dupOK, h.name)
	if err != nil {
		f.logf("faultfs: %v", err)
		return 0, syscall.EIO
	}
	defer d.mu.Unlock()
	before, errno := sizeOf(h.fd)
	if errno != 0 {
		return 0, errno
	}
	end := off + int64(len(data))
	growth := max(0, end-before)
	if errno := f.reserve(growth); errno != 0 {
		return 0, errno
	}
	if err := d.capture(off, end); err != nil {
		f.reserve(-growth)
		f.logf("faultfs: %v", err)
		return 0, syscall.EIO
	}
	n, err := unix.Pwrite(h.fd, data, off)
	n = max(n, 0)
	f.adjustUsed(max(0, off+int64(n)-before) - growth)
	if n > 0 {
		d.written += int64(n)
		f.dirtyMu.Lock()
		f.seq++
		d.lastSeq = f.seq
		f.dirtyMu.Unlock()
		d.lastOff = off
		d.lastData = append(d.lastData[:0], data[:n]...)
	}
	return uint32(n), fs.ToErrno(err)
}

// truncate sets a file's size through the undo log; growth is counted by the
// quota but never refused (it is sparse).
func (f *FS) truncate(fd int, dupOK bool, key fileKey, name string, size int64) syscall.Errno {
	d, err := f.getDirty(key, fd, dupOK, name)
	if err != nil {
		f.logf("faultfs: %v", err)
		return syscall.EIO
	}
	defer d.mu.Unlock()
	before, errno := sizeOf(fd)
	if errno != 0 {
		return errno
	}
	if size < before {
		if err := d.capture(size, before); err != nil {
			f.logf("faultfs: %v", err)
			return syscall.EIO
		}
	}
	if err := unix.Ftruncate(fd, size); err != nil {
		return fs.ToErrno(err)
	}
	f.adjustUsed(size - before)
	return 0
}
