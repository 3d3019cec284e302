package faultfs

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// BenchmarkWriteFsync appends 4 KiB and fsyncs, through faultfs (no faults
// set), through a plain go-fuse loopback and on the raw backing disk: the
// mount's overhead on a store's commit path.
func BenchmarkWriteFsync(b *testing.B) {
	if err := Available(); err != nil {
		b.Skipf("no FUSE here: %v", err)
	}
	dir := b.TempDir()
	back, mnt := filepath.Join(dir, "back"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(back, 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := Mount(back, mnt, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	// A plain go-fuse loopback, to tell FUSE's cost from faultfs's.
	plainBack, plainMnt := filepath.Join(dir, "plainback"), filepath.Join(dir, "plainmnt")
	os.Mkdir(plainBack, 0o755)
	os.Mkdir(plainMnt, 0o755)
	root, err := fs.NewLoopbackRoot(plainBack)
	if err != nil {
		b.Fatal(err)
	}
	oneSec := time.Second // as faultfs
	srv, err := fs.Mount(plainMnt, root, &fs.Options{EntryTimeout: &oneSec, AttrTimeout: &oneSec,
		MountOptions: fuse.MountOptions{DirectMount: true}})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Unmount()
	for _, tc := range []struct{ name, dir string }{{"faultfs", mnt}, {"loopback", plainMnt}, {"raw", back}} {
		b.Run(tc.name, func(b *testing.B) {
			fh, err := os.Create(filepath.Join(tc.dir, "bench-"+tc.name))
			if err != nil {
				b.Fatal(err)
			}
			defer fh.Close()
			buf := make([]byte, 4096)
			b.SetBytes(int64(len(buf)))
			var off int64
			for b.Loop() {
				if _, err := fh.WriteAt(buf, off); err != nil {
					b.Fatal(err)
				}
				if err := fh.Sync(); err != nil {
					b.Fatal(err)
				}
				off += int64(len(buf))
			}
		})
	}
}
