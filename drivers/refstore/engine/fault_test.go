package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers/refstore/record"
	"github.com/evbench/evbench/drivers/refstore/vfs"
)

// memOpts is Options on an in-memory fault file system with no timed
// watermark writes (their fsyncs would take injected faults meant for the
// commit path).
func memOpts(m *vfs.Mem, o Options) Options {
	o.FS = m
	if o.WatermarkInterval == 0 {
		o.WatermarkInterval = time.Hour
	}
	return o
}

func appendOne(l *Log, i int) chan error {
	res := make(chan error, 1)
	go func() {
		_, err := l.Append(context.Background(), AppendRequest{Expected: ExpectAny, Events: []Event{ev(i, "s")}})
		res <- err
	}()
	return res
}

// TestOverlappingSyncFailureAcksNothing: two overlapping fdatasyncs of one
// descriptor; the first fails with EIO (the fault layer drops the dirty
// pages, as Linux does, and reports it once), the second then succeeds.
// Neither group may be acknowledged: the second sync's success says
// nothing about the pages the first one's writeback lost. Afterwards the
// log is read-only: appends fail, reads go on.
func TestOverlappingSyncFailureAcksNothing(t *testing.T) {
	m := vfs.NewMem(1)
	var armed atomic.Bool
	aFailed, releaseA, bDone := make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
	l := mustOpen(t, "/d", memOpts(m, Options{SyncConcurrency: 2, afterSyncHook: func(err error) {
		if !armed.Load() {
			return
		}
		if err != nil {
			close(aFailed)
			<-releaseA
			return
		}
		select {
		case bDone <- struct{}{}:
		default:
		}
	}}))
	defer l.Close()
	var once sync.Once
	release := func() { once.Do(func() { close(releaseA) }) }
	defer release() // before Close, which waits for sync A
	appendN(t, l, 0, 1)
	armed.Store(true)
	m.FailSyncs(1, 0)
	r1 := appendOne(l, 1)
	<-aFailed // sync A returned EIO and is held before the syncer sees it
	r2 := appendOne(l, 2)
	select {
	case <-bDone:
	case <-time.After(5 * time.Second):
		t.Fatal("second sync never ran")
	}
	select {
	case err := <-r1:
		t.Fatalf("group 1 answered (%v) before the failed sync was seen", err)
	case err := <-r2:
		t.Fatalf("group 2 answered (%v) by a sync that overlapped a failed one", err)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	for i, r := range []chan error{r1, r2} {
		if err := <-r; err == nil {
			t.Fatalf("group %d acknowledged after a failed fdatasync", i+1)
		}
	}
	if err := <-appendOne(l, 3); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("append after a failed sync: %v, want read-only", err)
	}
	if h := l.Head(); h != 1 {
		t.Fatalf("head %d, want 1", h)
	}
	checkRecords(t, readAll(t, l, 0), 0, 1)
}

// TestSyncFailureEveryPathReadOnly: an injected fsync error on the commit
// path, while rolling a segment, or while creating the next one makes the
// log read-only: the append fails, so does every later one (even though the
// fault layer, like Linux, reports the error once), reads go on.
func TestSyncFailureEveryPathReadOnly(t *testing.T) {
	for _, c := range []struct {
		name string
		nth  int64 // which sync from the moment the segment is full
		roll bool
	}{{"commit", 1, false}, {"roll", 1, true}, {"sealed", 2, true}, {"new segment", 3, true}} {
		t.Run(c.name, func(t *testing.T) {
			m := vfs.NewMem(1)
			l := mustOpen(t, "/d", memOpts(m, Options{SegmentSize: 2048}))
			defer l.Close()
			n := 1
			appendN(t, l, 0, 1)
			for c.roll && l.current().writeOff < 2048 {
				appendN(t, l, n, 1)
				n++
			}
			m.FailSyncs(c.nth, 0)
			if err := <-appendOne(l, n); err == nil {
				t.Fatalf("append with a failed sync (#%d) acknowledged", c.nth)
			}
			m.FailSyncs(0, 0)
			if err := <-appendOne(l, n+1); err == nil || !strings.Contains(err.Error(), "read-only") {
				t.Fatalf("append after the failed sync: %v, want read-only", err)
			}
			checkRecords(t, readAll(t, l, 0), 0, n)
		})
	}
}

// recordOffsets returns the offset of every record in a segment file.
func recordOffsets(t *testing.T, data []byte) []int64 {
	t.Helper()
	var offs []int64
	for off := int64(segHeaderSize); off < int64(len(data)); {
		n, _, err := record.Verify(data[off:])
		if err != nil {
			break
		}
		offs = append(offs, off)
		off += int64(n)
	}
	return offs
}

// TestWatermarkHole: a bad record followed by valid ones in the last
// segment is an unacknowledged tail when it lies at or beyond the durable
// watermark (cut, and the log opens at the hole), corruption below it
// (refused, as before watermarks); a log ending before the watermark has
// lost acknowledged data (refused).
func TestWatermarkHole(t *testing.T) {
	base := t.TempDir()
	o := Options{SegmentSize: 1 << 20}
	l := mustOpen(t, base, o)
	appendN(t, l, 0, 20)
	l.Close()
	seg := lastSegment(t, base)
	orig, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(t, orig)
	if len(offs) != 20 {
		t.Fatalf("%d records", len(offs))
	}
	for _, c := range []struct {
		name    string
		wm      uint64
		cut     bool // cut the log at position 15 instead of a hole there
		refused string
	}{
		{"hole beyond the watermark", 12, false, ""},
		{"hole at the watermark", 15, false, ""},
		{"hole below the watermark", 16, false, "valid records follow"},
		{"hole with no watermark", 0, false, "valid records follow"},
		{"ends before the watermark", 20, true, "acknowledged data is missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			data := append([]byte(nil), orig...)
			if c.cut {
				data = data[:offs[15]]
			} else {
				clear(data[offs[15]:offs[16]]) // lost write: a hole of zeros
			}
			os.WriteFile(filepath.Join(dir, formatFile), []byte("refstore-log-format 1\n"), 0o644)
			os.WriteFile(filepath.Join(dir, filepath.Base(seg)), data, 0o644)
			if c.name != "hole with no watermark" {
				setWatermark(t, dir, c.wm)
			}
			l, err := Open(dir, o)
			if c.refused != "" {
				if err == nil || !strings.Contains(err.Error(), c.refused) {
					t.Fatalf("open: %v, want refused (%s)", err, c.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if h := l.Head(); h != 15 {
				t.Fatalf("head %d, want 15 (cut at the hole)", h)
			}
			if notes := strings.Join(l.Recovery().Notes, "; "); !strings.Contains(notes, "unacknowledged tail") {
				t.Fatalf("notes %q", notes)
			}
			appendN(t, l, 15, 2)
			checkRecords(t, readAll(t, l, 0), 0, 17)
		})
	}
}

// TestMetadataSurvivesPowerCut: cutting the power at every mutating call of
// a first Open (FORMAT, DURABLE, the first segment) and of a segment roll
// (checkpoint, watermark) always leaves a directory that opens, with every
// acknowledged event. A FORMAT written in place (not temp file, fsync,
// rename, dir fsync) would be empty after some of these cuts.
func TestMetadataSurvivesPowerCut(t *testing.T) {
	for n := int64(1); ; n++ {
		m := vfs.NewMem(uint64(n))
		m.CutAfter(n)
		l, err := Open("/d", memOpts(m, Options{SegmentSize: 1024}))
		acked := 0
		if err == nil {
			for i := 0; i < 12; i++ {
				if err := <-appendOne(l, i); err != nil {
					break
				}
				acked++
			}
			l.Close()
		}
		cut := m.IsCut()
		m.Restart()
		l, err = Open("/d", memOpts(m, Options{SegmentSize: 1024}))
		if err != nil {
			t.Fatalf("cut at call %d: reopen: %v", n, err)
		}
		if h := l.Head(); h < uint64(acked) {
			t.Fatalf("cut at call %d: head %d, %d were acknowledged", n, h, acked)
		}
		l.Close()
		if !cut {
			return // the whole run fit before the cut
		}
	}
}

// TestRecoverySyncsBeforeWatermark: after a process crash, recovery reads
// records that may be only in the page cache; it must make them durable
// before the watermark covers them, or a power cut right after the restart
// would leave a log ending before its watermark (refused, data lost).
func TestRecoverySyncsBeforeWatermark(t *testing.T) {
	m := vfs.NewMem(1)
	o := memOpts(m, Options{Sync: SyncNone})
	l := mustOpen(t, "/d", o)
	appendN(t, l, 0, 10) // acknowledged, never synced
	m.Crash()
	l.Close() // the dead process's handles only fail now
	l = mustOpen(t, "/d", o)
	if h := l.Head(); h != 10 {
		t.Fatalf("head %d after the crash, want 10 (page cache)", h)
	}
	if err := l.storeWatermark(l.durable.Load()); err != nil {
		t.Fatal(err)
	}
	m.CutNow()
	l.Close()
	m.Restart()
	l, err := Open("/d", o)
	if err != nil {
		t.Fatalf("open after the power cut: %v", err)
	}
	defer l.Close()
	if h := l.Head(); h != 10 {
		t.Fatalf("head %d, want 10", h)
	}
}
