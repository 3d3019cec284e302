package vfs

import (
	"bytes"
	"errors"
	"os"
	"syscall"
	"testing"
)

func read(t *testing.T, m *Mem, name string) []byte {
	t.Helper()
	b, err := ReadFile(m, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func create(t *testing.T, m *Mem, name string) File {
	t.Helper()
	f, err := m.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMemPowerCutRollsBackToSync(t *testing.T) {
	m := NewMem(1)
	m.MkdirAll("/d")
	f := create(t, m, "/d/a")
	f.WriteAt([]byte("hello"), 0)
	f.Datasync()
	m.SyncDir("/d")
	f.WriteAt([]byte(" world"), 5)
	f.Truncate(3)             // unsynced truncate is volatile too
	g := create(t, m, "/d/b") // never dir-synced: gone after the cut
	g.WriteAt([]byte("x"), 0)
	g.Sync()
	if got := read(t, m, "/d/a"); string(got) != "hel" {
		t.Fatalf("before cut: %q", got)
	}
	m.CutNow()
	if _, err := f.WriteAt([]byte("z"), 0); !errors.Is(err, ErrPowerCut) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("write after cut: %v", err)
	}
	m.Restart()
	if got := read(t, m, "/d/a"); string(got) != "hello" {
		t.Fatalf("after restart: %q, want the synced hello", got)
	}
	if _, err := m.OpenFile("/d/b", os.O_RDONLY, 0); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file created without a dir sync survived: %v", err)
	}
	if _, err := f.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrStale) {
		t.Fatalf("old handle: %v", err)
	}
}

func TestMemRenameNeedsDirSync(t *testing.T) {
	m := NewMem(1)
	m.MkdirAll("/d")
	if err := WriteFileAtomic(m, "/d", "F", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	f := create(t, m, "/d/F.tmp")
	f.WriteAt([]byte("v2"), 0)
	f.Sync()
	m.Rename("/d/F.tmp", "/d/F") // no dir sync
	m.Restart()
	if got := read(t, m, "/d/F"); string(got) != "v1" {
		t.Fatalf("rename without dir sync survived: %q", got)
	}
	if err := WriteFileAtomic(m, "/d", "F", []byte("v3")); err != nil {
		t.Fatal(err)
	}
	m.Restart()
	if got := read(t, m, "/d/F"); string(got) != "v3" {
		t.Fatalf("atomic write lost: %q", got)
	}
}

func TestMemCutAfterAndTear(t *testing.T) {
	m := NewMem(7)
	m.MkdirAll("/d")
	f := create(t, m, "/d/a")
	m.SyncDir("/d")
	m.CutAfter(3)
	for i := 0; i < 5; i++ {
		_, err := f.WriteAt(bytes.Repeat([]byte{byte('a' + i)}, 100), int64(i*100))
		if (err != nil) != (i >= 2) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	m.SetTear(true)
	m.Restart()
	got := read(t, m, "/d/a")
	if len(got) > 200 {
		t.Fatalf("%d bytes survived, only 200 were written before the cut", len(got))
	}
	for i, c := range got {
		if c != 0 && c != byte('a'+i/100) {
			t.Fatalf("byte %d is %q: not from a write", i, c)
		}
	}
}

func TestMemSyncFailureDropsDirtyOnce(t *testing.T) {
	m := NewMem(1)
	m.MkdirAll("/d")
	f := create(t, m, "/d/a")
	m.SyncDir("/d")
	f.WriteAt([]byte("lost"), 0)
	m.FailSyncs(1, 0)
	if err := f.Datasync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("first sync: %v, want EIO", err)
	}
	if err := f.Datasync(); err != nil {
		t.Fatalf("second sync: %v, want success (the error is reported once)", err)
	}
	if got := read(t, m, "/d/a"); string(got) != "lost" {
		t.Fatalf("page cache: %q", got)
	}
	m.Restart()
	if got := read(t, m, "/d/a"); len(got) != 0 {
		t.Fatalf("data of a failed sync reached the disk: %q", got)
	}
	m.FailWrites(1, 0)
	f = create(t, m, "/d/a")
	if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, syscall.EIO) {
		t.Fatalf("write: %v, want EIO", err)
	}
}
