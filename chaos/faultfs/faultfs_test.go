package faultfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mountT mounts a fresh backing dir; it skips without FUSE unless CI=true.
func mountT(t *testing.T) (*FS, string) {
	t.Helper()
	return mountOptsT(t, Options{})
}

func mountOptsT(t *testing.T, opts Options) (*FS, string) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("FUSE required on CI: %v", err)
		}
		t.Skipf("no FUSE here: %v", err)
	}
	dir := t.TempDir()
	back, mnt := filepath.Join(dir, "back"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(back, 0o755); err != nil {
		t.Fatal(err)
	}
	opts.Logf = t.Logf
	f, err := Mount(back, mnt, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f, back
}

func writeFile(t *testing.T, path string, off int64, data []byte, sync bool) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := fh.Sync(); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPowerCutKeepsOnlySynced(t *testing.T) {
	f, back := mountT(t)
	mnt := f.Mountpoint()
	a, b, c := filepath.Join(mnt, "a"), filepath.Join(mnt, "b"), filepath.Join(mnt, "c")

	writeFile(t, a, 0, []byte("synced-a"), true)
	writeFile(t, a, 6, []byte("XXXXXXXX unsynced tail"), false) // overwrites and extends
	writeFile(t, b, 0, []byte("never synced"), false)

	// fdatasync counts as a sync.
	fh, err := os.OpenFile(c, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteAt([]byte("datasynced"), 0)
	if err := unix.Fdatasync(int(fh.Fd())); err != nil {
		t.Fatal(err)
	}
	fh.WriteAt([]byte("!!"), 10)
	fh.Close()

	// The test fires: the unsynced bytes are in the backing files (a
	// process kill on ext4 would keep them) and visible through the mount
	// (so the kernel caches them too).
	if got := string(readFile(t, filepath.Join(back, "a"))); got != "synced"+"XXXXXXXX unsynced tail" {
		t.Fatalf("backing before cut = %q", got)
	}
	if got := string(readFile(t, b)); got != "never synced" {
		t.Fatalf("mount before cut = %q", got)
	}

	rep, err := f.PowerCut(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report %+v", rep)
	for path, want := range map[string]string{a: "synced-a", b: "", c: "datasynced"} {
		if got := string(readFile(t, path)); got != want {
			t.Errorf("%s after cut = %q, want %q", filepath.Base(path), got, want)
		}
	}
	if rep.Files != 3 || rep.BytesDiscarded != int64(len("XXXXXXXX unsynced tail")+len("never synced")+2) || rep.Torn {
		t.Errorf("report = %+v", rep)
	}
	// Nothing is dirty after the cut, and a second cut discards nothing.
	if rep, err := f.PowerCut(false); err != nil || rep.Files != 0 {
		t.Errorf("second cut = %+v, %v", rep, err)
	}
}

func TestPowerCutTear(t *testing.T) {
	f, _ := mountT(t)
	p := filepath.Join(f.Mountpoint(), "wal")
	synced := bytes.Repeat([]byte("A"), 4096)
	torn := bytes.Repeat([]byte("B"), 4096)
	writeFile(t, p, 0, synced, true)
	writeFile(t, p, 4096, []byte("lost"), false)
	writeFile(t, p, 4096, torn, false) // the last unsynced write

	rep, err := f.PowerCut(true)
	if err != nil {
		t.Fatal(err)
	}
	got := readFile(t, p)
	if !rep.Torn || len(got) <= 4096 || len(got) >= 8192 || len(got) != 4096+rep.TornKept {
		t.Fatalf("len = %d, report %+v", len(got), rep)
	}
	if !bytes.Equal(got[:4096], synced) || !bytes.Equal(got[4096:], torn[:len(got)-4096]) {
		t.Fatalf("content is not synced + a prefix of the last write")
	}
}

func TestTruncateUndone(t *testing.T) {
	f, _ := mountT(t)
	mnt := f.Mountpoint()
	data := bytes.Repeat([]byte("0123456789abcdef"), 512) // 8 KiB
	for _, name := range []string{"path", "fd", "grow", "otrunc"} {
		writeFile(t, filepath.Join(mnt, name), 0, data, true)
	}
	if err := os.Truncate(filepath.Join(mnt, "path"), 100); err != nil { // by path
		t.Fatal(err)
	}
	fh, err := os.OpenFile(filepath.Join(mnt, "fd"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := fh.Truncate(10); err != nil { // by descriptor
		t.Fatal(err)
	}
	fh.WriteAt([]byte("zz"), 5000) // regrow with a hole
	fh.Close()
	if err := os.Truncate(filepath.Join(mnt, "grow"), 1<<20); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(mnt, "otrunc"), 0, nil, false)
	if err := os.WriteFile(filepath.Join(mnt, "otrunc"), []byte("new"), 0o644); err != nil { // O_TRUNC
		t.Fatal(err)
	}
	if _, err := f.PowerCut(false); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"path", "fd", "grow", "otrunc"} {
		if got := readFile(t, filepath.Join(mnt, name)); !bytes.Equal(got, data) {
			t.Errorf("%s: %d bytes after cut, want the synced %d", name, len(got), len(data))
		}
	}
}

func TestRenamedAndUnlinkedFiles(t *testing.T) {
	f, _ := mountT(t)
	mnt := f.Mountpoint()
	writeFile(t, filepath.Join(mnt, "x"), 0, []byte("synced"), true)
	writeFile(t, filepath.Join(mnt, "x"), 0, []byte("SYNCED+more"), false)
	if err := os.Rename(filepath.Join(mnt, "x"), filepath.Join(mnt, "y")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(mnt, "gone"), 0, []byte("data"), false)
	if err := os.Remove(filepath.Join(mnt, "gone")); err != nil {
		t.Fatal(err)
	}
	rep, err := f.PowerCut(false)
	if err != nil {
		t.Fatal(err)
	}
	// Directory operations are durable at once: y exists, x and gone do not.
	if got := string(readFile(t, filepath.Join(mnt, "y"))); got != "synced" {
		t.Errorf("y = %q", got)
	}
	if _, err := os.Stat(filepath.Join(mnt, "gone")); !os.IsNotExist(err) {
		t.Errorf("gone: %v", err)
	}
	if rep.Files != 2 {
		t.Errorf("report %+v", rep)
	}
}

func TestErrors(t *testing.T) {
	f, _ := mountT(t)
	fh, err := os.OpenFile(filepath.Join(f.Mountpoint(), "f"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	fh.Write([]byte("x"))
	count := func(n int, op func() error) (fails int) {
		for range n {
			if err := op(); errors.Is(err, syscall.EIO) {
				fails++
			} else if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
		}
		return fails
	}
	fsync := func() error { return fh.Sync() }
	write := func() error { _, err := fh.WriteAt([]byte("y"), 0); return err }
	for _, tc := range []struct {
		op       string
		call     func() error
		tox      float64
		n        int
		min, max int
	}{
		{"fsync", fsync, 1, 20, 20, 20},
		{"fsync", fsync, 0, 50, 0, 0},
		{"fsync", fsync, 0.5, 200, 60, 140},
		{"write", write, 1, 20, 20, 20},
		{"write", write, 0, 50, 0, 0},
		{"write", write, 0.3, 200, 30, 90},
	} {
		f.SetErrors(Errors{Op: tc.op, Toxicity: tc.tox})
		if got := count(tc.n, tc.call); got < tc.min || got > tc.max {
			t.Errorf("%s toxicity %v: %d/%d failed, want %d..%d", tc.op, tc.tox, got, tc.n, tc.min, tc.max)
		}
	}
	f.SetErrors(Errors{Op: "fsync", Toxicity: 1})
	f.Clear()
	if err := fh.Sync(); err != nil {
		t.Errorf("after Clear: %v", err)
	}
}

func TestQuotaENOSPC(t *testing.T) {
	f, _ := mountT(t)
	p := filepath.Join(f.Mountpoint(), "f")
	writeFile(t, p, 0, make([]byte, 4096), true)
	f.SetQuota(4096 + 10000)
	if got := f.Used(); got != 4096 {
		t.Fatalf("Used = %d, want 4096", got)
	}
	fh, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteAt(make([]byte, 8192), 4096); err != nil {
		t.Fatalf("within quota: %v", err)
	}
	if _, err := fh.WriteAt(make([]byte, 4096), 12288); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("beyond quota: %v, want ENOSPC", err)
	}
	if _, err := fh.WriteAt(make([]byte, 4096), 0); err != nil {
		t.Fatalf("overwrite (no growth): %v", err)
	}
	if got := f.Used(); got != 12288 {
		t.Errorf("Used = %d, want 12288", got)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if got := f.Used(); got != 0 {
		t.Errorf("Used after unlink = %d, want 0", got)
	}
	f.SetQuota(0)
	writeFile(t, filepath.Join(f.Mountpoint(), "g"), 0, make([]byte, 20000), false)
}

func TestSlow(t *testing.T) {
	f, _ := mountT(t)
	fh, err := os.OpenFile(filepath.Join(f.Mountpoint(), "f"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	timeIt := func(fn func()) time.Duration { t0 := time.Now(); fn(); return time.Since(t0) }

	f.SetSlow(Slow{FsyncLatency: 50 * time.Millisecond})
	if d := timeIt(func() { fh.Sync() }); d < 50*time.Millisecond {
		t.Errorf("fsync took %v, want >= 50ms", d)
	}
	f.SetSlow(Slow{WriteLatency: 20 * time.Millisecond})
	if d := timeIt(func() { fh.WriteAt([]byte("x"), 0) }); d < 20*time.Millisecond {
		t.Errorf("write took %v, want >= 20ms", d)
	}
	f.SetSlow(Slow{Bandwidth: 2 << 20}) // 512 KiB at 2 MiB/s: 250 ms
	buf := make([]byte, 64<<10)
	if d := timeIt(func() {
		for i := range 8 {
			fh.WriteAt(buf, int64(i)*int64(len(buf)))
		}
	}); d < 240*time.Millisecond || d > 2*time.Second {
		t.Errorf("512 KiB at 2 MiB/s took %v, want ~250ms", d)
	}
	f.SetSlow(Slow{IOPS: 100}) // 20 fsyncs: 200 ms
	if d := timeIt(func() {
		for range 20 {
			fh.Sync()
		}
	}); d < 190*time.Millisecond {
		t.Errorf("20 fsyncs at 100 IOPS took %v, want >= 200ms", d)
	}
	f.Clear()
	if d := timeIt(func() { fh.Sync() }); d > 40*time.Millisecond {
		t.Errorf("fsync after Clear took %v", d)
	}
}

func TestCloseUnmounts(t *testing.T) {
	f, _ := mountT(t)
	mnt := f.Mountpoint()
	if ok, err := IsMounted(mnt); err != nil || !ok {
		t.Fatalf("IsMounted before Close = %v, %v", ok, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if ok, err := IsMounted(mnt); err != nil || ok {
		t.Fatalf("IsMounted after Close = %v, %v", ok, err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := f.PowerCut(false); err == nil {
		t.Error("PowerCut after Close succeeded")
	}
}

func TestCloseBusyDetaches(t *testing.T) {
	f, _ := mountT(t)
	mnt := f.Mountpoint()
	fh, err := os.Create(filepath.Join(mnt, "held"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := IsMounted(mnt); ok {
		t.Fatal("still mounted after Close with an open file")
	}
	if _, err := fh.Write([]byte("x")); err == nil {
		t.Error("write on a detached mount succeeded")
	}
	fh.Close()
}

func TestPowerCutRemountTime(t *testing.T) {
	f, _ := mountT(t)
	writeFile(t, filepath.Join(f.Mountpoint(), "f"), 0, []byte("x"), false)
	rep, err := f.PowerCut(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("unmount %v, rollback %v, remount %v", rep.Unmount, rep.Rollback, rep.Remount)
	if total := rep.Unmount + rep.Rollback + rep.Remount; total > 2*time.Second {
		t.Errorf("power cut took %v", total)
	}
}

// TestConcurrentWritersPowerCut: writers on their own files, fsyncing now
// and then; after the cut each file holds exactly what it held at its last
// fsync.
func TestConcurrentWritersPowerCut(t *testing.T) {
	f, _ := mountT(t)
	const writers, rounds = 4, 38 // the last 3 rounds stay unsynced
	synced := make([][]byte, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fh, err := os.Create(filepath.Join(f.Mountpoint(), "w"+strconv.Itoa(w)))
			if err != nil {
				t.Error(err)
				return
			}
			defer fh.Close()
			var content []byte
			for i := range rounds {
				rec := bytes.Repeat([]byte{byte('a' + i%26)}, 1000+i*37)
				off := int64(len(content))
				if i%3 == 2 { // overwrite the middle too
					off /= 2
				}
				if _, err := fh.WriteAt(rec, off); err != nil {
					t.Error(err)
					return
				}
				if end := int(off) + len(rec); end > len(content) {
					content = append(content, make([]byte, end-len(content))...)
				}
				copy(content[off:], rec)
				if i%5 == 4 {
					if err := fh.Sync(); err != nil {
						t.Error(err)
						return
					}
					synced[w] = slices.Clone(content)
				}
			}
		}()
	}
	wg.Wait()
	rep, err := f.PowerCut(false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != writers {
		t.Errorf("report %+v, want %d files rolled back", rep, writers)
	}
	for w := range writers {
		got := readFile(t, filepath.Join(f.Mountpoint(), "w"+strconv.Itoa(w)))
		if !bytes.Equal(got, synced[w]) {
			t.Errorf("writer %d: %d bytes after cut, want the %d synced", w, len(got), len(synced[w]))
		}
	}
}

func TestVolatileCreates(t *testing.T) {
	f, _ := mountOptsT(t, Options{VolatileCreates: true})
	mnt := f.Mountpoint()
	at := func(name string) string { return filepath.Join(mnt, name) }
	syncDir := func(name string) {
		t.Helper()
		d, err := os.Open(at(name))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(at("d"), 0o755); err != nil { // directories: durable at once
		t.Fatal(err)
	}
	writeFile(t, at("kept"), 0, []byte("k"), true)
	writeFile(t, at("d/x"), 0, []byte("x"), true)
	if err := os.Rename(at("d/x"), at("y")); err != nil {
		t.Fatal(err)
	}
	syncDir(".") // commits kept and y
	writeFile(t, at("z"), 0, []byte("z"), true)
	if err := os.Rename(at("z"), at("d/z")); err != nil {
		t.Fatal(err)
	}
	syncDir(".")                                   // not d: d/z stays volatile
	writeFile(t, at("lost"), 0, []byte("l"), true) // file fsynced, directory not
	writeFile(t, at("unlinked"), 0, []byte("u"), false)
	os.Remove(at("unlinked"))

	rep, err := f.PowerCut(false)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"d": true, "kept": true, "y": true, "lost": false, "d/z": false, "unlinked": false} {
		_, err := os.Stat(at(name))
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", name, got, want)
		}
	}
	if rep.FilesRemoved != 2 {
		t.Errorf("report %+v, want 2 files removed", rep)
	}
}

func TestForceUnmount(t *testing.T) {
	f, _ := mountT(t)
	if err := ForceUnmount(f.Mountpoint()); err != nil {
		t.Fatal(err)
	}
	if ok, _ := IsMounted(f.Mountpoint()); ok {
		t.Fatal("still mounted")
	}
	if err := ForceUnmount(f.Mountpoint()); err != nil { // not mounted: fine
		t.Fatal(err)
	}
	if err := f.Close(); err != nil { // after a forced unmount
		t.Fatal(err)
	}
}
