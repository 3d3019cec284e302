package faultfs

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestGapsAndAddSpan(t *testing.T) {
	saved := []span{{10, 20}, {30, 40}}
	for _, tc := range []struct {
		off, end int64
		want     []span
	}{
		{0, 5, []span{{0, 5}}},
		{0, 50, []span{{0, 10}, {20, 30}, {40, 50}}},
		{12, 18, nil},
		{15, 35, []span{{20, 30}}},
		{40, 45, []span{{40, 45}}},
	} {
		if got := gaps(saved, tc.off, tc.end); !slices.Equal(got, tc.want) {
			t.Errorf("gaps(%d,%d) = %v, want %v", tc.off, tc.end, got, tc.want)
		}
	}
	s := addSpan(slices.Clone(saved), span{20, 30})
	if !slices.Equal(s, []span{{10, 40}}) {
		t.Errorf("addSpan merge = %v", s)
	}
	s = addSpan(slices.Clone(saved), span{0, 5})
	if !slices.Equal(s, []span{{0, 5}, {10, 20}, {30, 40}}) {
		t.Errorf("addSpan front = %v", s)
	}
}

// TestUndoLogRandom drives the undo log directly on a plain file: random
// writes and truncates, then a rollback must give back the synced bytes.
func TestUndoLogRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := filepath.Join(t.TempDir(), "f")
	for round := range 200 {
		orig := make([]byte, rng.IntN(3000))
		for i := range orig {
			orig[i] = byte(rng.UintN(256))
		}
		if err := os.WriteFile(p, orig, 0o644); err != nil {
			t.Fatal(err)
		}
		fd, err := unix.Open(p, unix.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		d := &dirtyFile{fd: fd, name: p, origSize: int64(len(orig))}
		for range 1 + rng.IntN(20) {
			var st unix.Stat_t
			unix.Fstat(fd, &st)
			if rng.IntN(4) == 0 {
				size := rng.Int64N(4000)
				if size < st.Size {
					if err := d.capture(size, st.Size); err != nil {
						t.Fatal(err)
					}
				}
				unix.Ftruncate(fd, size)
				continue
			}
			off := rng.Int64N(4000)
			buf := make([]byte, 1+rng.IntN(600))
			for i := range buf {
				buf[i] = byte(rng.UintN(256))
			}
			if err := d.capture(off, off+int64(len(buf))); err != nil {
				t.Fatal(err)
			}
			unix.Pwrite(fd, buf, off)
		}
		if err := d.rollback(); err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		if got, _ := os.ReadFile(p); !bytes.Equal(got, orig) {
			t.Fatalf("round %d: rollback gave %d bytes, want the original %d", round, len(got), len(orig))
		}
	}
}

// Settle makes what was written durable: a later cut keeps it and loses
// only what came after.
func TestSettleMakesWritesDurable(t *testing.T) {
	f, _ := mountT(t)
	p := filepath.Join(f.Mountpoint(), "settle")
	if err := os.WriteFile(p, []byte("setup"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.Settle()
	fh, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt([]byte(" traffic"), 5); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	if files, _ := f.Dirty(); files != 1 {
		t.Fatalf("%d dirty files after Settle and one write, want 1", files)
	}
	if _, err := f.PowerCut(false); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "setup" {
		t.Fatalf("after the cut %q, %v; want the settled %q", got, err, "setup")
	}
}
