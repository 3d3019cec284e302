// Package faultfs is a FUSE file system that injects storage faults under a
// managed store's data directory: slow or throttled I/O, EIO, ENOSPC, and
// power loss.
//
// A store's data dir is a mount point (Mountpoint) served by this process;
// the bytes live in a plain backing directory on the real disk (Backing).
// The file system is go-fuse's loopback (github.com/hanwen/go-fuse/v2/fs)
// with its nodes and file handles wrapped: reads, lookups and directory
// listings pass straight through; writes, fsyncs, truncates, fallocates,
// creates, unlinks and renames go through the fault layer first. Mounting
// uses mount(2) directly (no fusermount), so it needs root or CAP_SYS_ADMIN
// and /dev/fuse: Available says whether that holds and what to do if not.
//
// # Faults
//
// SetSlow adds a fixed latency to every fsync and to every write request, and
// caps the write bandwidth (bytes/s) and the IOPS (write requests plus
// fsyncs) over the whole mount; the caps share one timeline per kind, so
// concurrent writers split the budget. SetErrors fails writes or fsyncs with
// EIO with a per-call probability; an fsync that fails leaves its file's
// writes volatile (a later power cut still discards them). SetQuota refuses,
// with ENOSPC, a write or fallocate that would grow the apparent size of the
// regular files under the mount beyond the quota; writes inside a file's
// current size always succeed, a refused write writes nothing, and a
// truncate that grows a file is counted but never refused (it is sparse).
// Clear turns all of these off. Latencies honour FUSE interrupts: a killed
// process does not keep a request sleeping.
//
// # Power loss
//
// Every write not yet covered by an fsync or fdatasync of its file is
// volatile, however the file was closed. Before a write (or a shrinking
// truncate, a hole punch, a collapse) changes bytes of a file that existed
// at its last fsync, the old bytes of the range are saved, once per range
// per sync interval, in that file's undo log with the file's size as of the
// last fsync. An fsync drops the log (it is then durable). PowerCut rolls
// every logged file back: truncate to the synced size, write the saved
// bytes back. With tear, the last unsynced write of all is then re-applied
// in part: a random strict prefix of it (1..n-1 bytes), as a write torn by
// the power failure; the rest of that file's unsynced writes are still
// lost. The undo logs live in memory and hold our own descriptor on each
// dirty inode, so renames and unlinks do not lose track of a file; memory
// grows with the bytes overwritten since the last fsync (Dirty reports it),
// appends cost nothing to save.
//
// Metadata is durable at once by default: creates, mkdirs, renames,
// unlinks, links and symlinks are never undone, so after a cut a file
// created but never fsynced exists, empty (its data is rolled back). With
// Options.VolatileCreates, a regular file created since the last fsync of
// its directory is removed by PowerCut (strict POSIX; ext4 usually keeps
// it, since its journal commits every few seconds and on any fsync); a
// rename moves that obligation to the new directory. Even then renames and
// unlinks of older files, mkdir, link and symlink stay durable at once.
// Other limits: mode, owner, times and xattrs are never rolled back; writes
// made to the backing directory behind the mount's back are not logged; the
// model is per file and exact (no reordering across files, no lost fsyncs).
//
// PowerCut unmounts, rolls back on the backing directory, then mounts again,
// so nothing the kernel cached about the mount (pages, attributes, dentries)
// survives: the restarted store sees only what a disk would hold. Measured
// on Linux 6.18: reads after a rollback without a remount also saw the
// rolled-back bytes (the kernel revalidates on open and on mtime change),
// but that depends on attribute timeouts and mtime granularity, while the
// remount is certain and costs 1-10 ms. Files are also opened with direct
// I/O (FOPEN_DIRECT_IO): with the kernel's page cache, a store reading a
// file it is appending to read stale zero pages now and then (concurrent
// READ and WRITE requests; see directIO in node.go). So reads always come
// from the backing file, and shared mmap of data files is not possible;
// none of the managed stores maps them. The caller
// must kill every process using the mount before PowerCut; if the mount is
// still busy it is detached lazily, and requests still arriving on the old
// mount fail with EIO, so they cannot touch the rolled-back files.
//
// Close unmounts (lazily when busy) and is idempotent. A process that dies
// without Close leaves a dead mount ("transport endpoint is not connected"):
// ForceUnmount clears it, and Mount refuses a mount point that is already
// mounted.
//
// # Cost
//
// One 4 KiB write plus fsync (BenchmarkWriteFsync, medians of 6 runs on the
// shared 2-core development machine): 0.87 ms through faultfs, 0.72 ms
// through a plain go-fuse loopback, 0.58 ms on the raw disk, so about 1.5x
// the raw disk, most of it FUSE's own round trips. A PowerCut takes a few
// milliseconds plus the rollback (restoring 60 MB over 808 files took 1.9 s).
package faultfs
