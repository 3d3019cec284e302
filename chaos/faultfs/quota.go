package faultfs

import (
	"io/fs"
	"path/filepath"
	"syscall"
)

// SetQuota makes writes and fallocates that would grow the data under the
// mount beyond bytes fail with ENOSPC; 0 removes the quota. The data is the
// apparent size (st_size) of the regular files under backing, each inode
// counted once. SetQuota rescans backing, so Used is exact right after it.
func (f *FS) SetQuota(bytes int64) {
	used, err := scanUsed(f.backing)
	f.quotaMu.Lock()
	defer f.quotaMu.Unlock()
	if err == nil {
		f.used = used
	}
	f.quota = max(bytes, 0)
}

// Used returns the bytes the quota counts now: it rescans backing (a walk
// of the data dir, about 4 ms per thousand files here), so
// SetQuota(Used()+free) leaves exactly free bytes. Between rescans (Used,
// SetQuota, PowerCut) the count follows the mount's writes, truncates,
// fallocates, unlinks and renames; a file unlinked while open keeps
// counting until the next rescan.
func (f *FS) Used() int64 {
	used, err := scanUsed(f.backing)
	f.quotaMu.Lock()
	defer f.quotaMu.Unlock()
	if err == nil {
		f.used = used
	}
	return f.used
}

// reserve accounts for growth bytes, or refuses with ENOSPC when they do not
// fit under the quota. Shrinking (growth < 0) is always allowed.
func (f *FS) reserve(growth int64) syscall.Errno {
	if growth == 0 {
		return 0
	}
	f.quotaMu.Lock()
	defer f.quotaMu.Unlock()
	if growth > 0 && f.quota > 0 && f.used+growth > f.quota {
		f.faultMu.Lock()
		f.faults.enospcs++
		f.faultMu.Unlock()
		return syscall.ENOSPC
	}
	f.used += growth
	return 0
}

// adjustUsed records a size change that is never refused.
func (f *FS) adjustUsed(delta int64) {
	if delta == 0 {
		return
	}
	f.quotaMu.Lock()
	f.used += delta
	f.quotaMu.Unlock()
}

// scanUsed sums the apparent size of the regular files under dir.
func scanUsed(dir string) (int64, error) {
	seen := map[fileKey]bool{}
	var total int64
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished or unreadable: not counted
		}
		if !e.Type().IsRegular() {
			return nil
		}
		var st syscall.Stat_t
		if syscall.Lstat(p, &st) != nil {
			return nil
		}
		k := fileKey{uint64(st.Dev), st.Ino}
		if !seen[k] {
			seen[k] = true
			total += st.Size
		}
		return nil
	})
	return total, err
}
