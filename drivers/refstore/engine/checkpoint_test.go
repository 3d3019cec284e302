package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recovered is the state recovery rebuilds, for comparing two opens.
type recovered struct {
	head    uint64
	streams map[string][3]uint64 // next version, first and last position
	ids     int
	index   int
}

func stateOf(l *Log) recovered {
	r := recovered{head: l.Head(), streams: map[string][3]uint64{}, ids: len(l.dedupe.young) + len(l.dedupe.old)}
	l.streams.each(func(id string, next, first, last uint64) { r.streams[id] = [3]uint64{next, first, last} })
	for _, s := range l.segs {
		r.index += len(s.index)
	}
	return r
}

func sameState(t *testing.T, what string, a, b recovered) {
	t.Helper()
	if a.head != b.head || a.ids != b.ids || a.index != b.index || len(a.streams) != len(b.streams) {
		t.Fatalf("%s: head %d/%d ids %d/%d index %d/%d streams %d/%d", what, a.head, b.head, a.ids, b.ids, a.index, b.index, len(a.streams), len(b.streams))
	}
	for s, v := range a.streams {
		if b.streams[s] != v {
			t.Fatalf("%s: stream %s next/first/last %v vs %v", what, s, v, b.streams[s])
		}
	}
}

// fullScan opens dir without its checkpoint and returns the state.
func fullScan(t *testing.T, dir string, o Options) recovered {
	t.Helper()
	os.Remove(filepath.Join(dir, checkpointFile))
	l := mustOpen(t, dir, o)
	defer l.Close()
	if l.Recovery().Checkpoint != 0 {
		t.Fatal("full scan used a checkpoint")
	}
	return stateOf(l)
}

func TestCheckpointSkipsScan(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 16 << 10, IndexEvery: 16, DedupeWindow: 200}
	l := mustOpen(t, dir, o)
	appendN(t, l, 0, 700)
	l.Close()

	l = mustOpen(t, dir, o)
	rep := l.Recovery()
	if rep.Checkpoint != 700 || rep.Scanned != 0 {
		t.Fatalf("checkpoint %d scanned %d, want 700 and 0 (notes %v)", rep.Checkpoint, rep.Scanned, rep.Notes)
	}
	got := stateOf(l)
	// The rebuilt dedupe window still answers a retry with the original position.
	p, err := l.Append(context.Background(), AppendRequest{Expected: ExpectAny, Events: []Event{ev(699, "s0")}})
	if err != nil || p[0] != 699 || l.Head() != 700 {
		t.Fatalf("retry after checkpoint open: %v %v head %d", p, err, l.Head())
	}
	// Stream versions came from the checkpoint: exact expected version works.
	if _, err := l.Append(context.Background(), AppendRequest{Expected: int64(got.streams["s1"][0]) - 1, Events: []Event{ev(700, "s1")}}); err != nil {
		t.Fatalf("exact expected version after checkpoint open: %v", err)
	}
	checkRecords(t, readAll(t, l, 0), 0, 701)
	l.Close()
	l = mustOpen(t, dir, o)
	got = stateOf(l)
	l.Close()
	sameState(t, "checkpoint vs full scan", got, fullScan(t, dir, o))
}

// TestCheckpointThenTail: an older checkpoint (as after a crash) is used and
// only the log after it is scanned, across segment rolls.
func TestCheckpointThenTail(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 16 << 10, IndexEvery: 16, DedupeWindow: 200}
	l := mustOpen(t, dir, o)
	appendN(t, l, 0, 300)
	l.Close()
	old, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, o)
	appendN(t, l, 300, 500)
	l.Close()
	if err := os.WriteFile(filepath.Join(dir, checkpointFile), old, 0o644); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, o)
	rep := l.Recovery()
	if rep.Checkpoint != 300 || rep.Scanned != 500 {
		t.Fatalf("checkpoint %d scanned %d, want 300 and 500 (notes %v)", rep.Checkpoint, rep.Scanned, rep.Notes)
	}
	got := stateOf(l)
	appendN(t, l, 800, 5)
	checkRecords(t, readAll(t, l, 0), 0, 805)
	l.Close()
	os.WriteFile(filepath.Join(dir, checkpointFile), old, 0o644)
	l = mustOpen(t, dir, o)
	got = stateOf(l)
	l.Close()
	sameState(t, "old checkpoint + tail vs full scan", got, fullScan(t, dir, o))
}

// TestCheckpointBadFallsBack: a corrupt checkpoint, one from a longer log,
// or one whose segments changed is noted and the log is scanned instead.
func TestCheckpointBadFallsBack(t *testing.T) {
	o := Options{SegmentSize: 16 << 10, IndexEvery: 16}
	build := func(n int) string {
		dir := t.TempDir()
		l := mustOpen(t, dir, o)
		appendN(t, l, 0, n)
		l.Close()
		return dir
	}
	longer, _ := os.ReadFile(filepath.Join(build(400), checkpointFile))
	cases := []struct {
		name   string
		damage func(dir string)
	}{
		{"flipped byte", func(dir string) {
			p := filepath.Join(dir, checkpointFile)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			os.WriteFile(p, b, 0o644)
		}},
		{"truncated", func(dir string) {
			p := filepath.Join(dir, checkpointFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-9], 0o644)
		}},
		{"from a longer log", func(dir string) {
			os.WriteFile(filepath.Join(dir, checkpointFile), longer, 0o644)
		}},
		{"tail rewritten", func(dir string) {
			p := lastSegment(t, dir)
			f, _ := os.OpenFile(p, os.O_RDWR, 0)
			st, _ := f.Stat()
			// Cut the last segment inside its records: the tail check fails
			// and the full scan truncates the torn record.
			buf := make([]byte, st.Size())
			n, _ := f.ReadAt(buf, 0)
			end := len(strings.TrimRight(string(buf[:n]), "\x00"))
			f.Truncate(int64(end - 3))
			f.Close()
			// A torn record was never acknowledged: the watermark is below it.
			setWatermark(t, dir, 0)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := build(250)
			c.damage(dir)
			l := mustOpen(t, dir, o)
			rep := l.Recovery()
			notes := strings.Join(rep.Notes, "; ")
			if rep.Checkpoint != 0 || !strings.Contains(notes, "checkpoint not used") {
				t.Fatalf("checkpoint %d used; notes %q", rep.Checkpoint, notes)
			}
			want := 250
			if c.name == "tail rewritten" {
				want = 249
			}
			checkRecords(t, readAll(t, l, 0), 0, want)
			appendN(t, l, want, 3)
			l.Close()
		})
	}
}
