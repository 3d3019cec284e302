package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers/refstore/record"
)

// interleaved appends n events round robin over s0, s1, s2 (appendN), so
// stream s<k> version v is at position 3v+k, then a contiguous batch of 40
// events to "solo" at positions n..n+39.
func interleaved(t *testing.T, l *Log, n int) {
	t.Helper()
	appendN(t, l, 0, n)
	batch := make([]Event, 40)
	for i := range batch {
		batch[i] = ev(n+i, "solo")
	}
	if _, err := l.Append(context.Background(), AppendRequest{Expected: ExpectNoStream, Events: batch}); err != nil {
		t.Fatal(err)
	}
}

// wantStream checks recs are stream's versions from..from+count-1 with the
// positions interleaved (n events before solo) put them at.
func wantStream(t *testing.T, what string, recs []record.Record, stream string, n int, from uint64, count int) {
	t.Helper()
	if len(recs) != count {
		t.Fatalf("%s: %d records, want %d", what, len(recs), count)
	}
	for i, r := range recs {
		v := from + uint64(i)
		var pos uint64
		if stream == "solo" {
			pos = uint64(n) + v
		} else {
			var k uint64
			fmt.Sscanf(stream, "s%d", &k)
			pos = 3*v + k
		}
		if r.Stream != stream || r.StreamVersion != v || r.Position != pos || string(r.Payload) != fmt.Sprintf("payload-%d", pos) {
			t.Fatalf("%s: record %d = stream %q version %d position %d payload %q, want %q %d %d", what, i, r.Stream, r.StreamVersion, r.Position, r.Payload, stream, v, pos)
		}
	}
}

type streamCase struct {
	name   string
	stream string
	from   uint64
	max    int
	count  int // records expected
}

// streamCases assume interleaved(t, l, 300): s0..s2 have 100 events each, solo 40.
var streamCases = []streamCase{
	{"whole s1", "s1", 0, 1000, 100},
	{"s2 from the middle", "s2", 57, 1000, 43},
	{"s0 limited", "s0", 10, 5, 5},
	{"solo whole", "solo", 0, 1000, 40},
	{"solo from 39", "solo", 39, 10, 1},
	{"past the end", "s0", 100, 10, 0},
	{"far past the end", "s0", 1 << 63, 10, 0},
	{"unknown stream", "nope", 0, 10, 0},
}

func runStreamCases(t *testing.T, what string, l *Log) {
	t.Helper()
	for _, c := range streamCases {
		recs, err := l.ReadStream(c.stream, c.from, c.max)
		if err != nil {
			t.Fatalf("%s/%s: %v", what, c.name, err)
		}
		wantStream(t, what+"/"+c.name, recs, c.stream, 300, c.from, c.count)
	}
}

func TestReadStream(t *testing.T) {
	dir := t.TempDir()
	// Small segments and index stride: reads cross segments and seek.
	o := Options{SegmentSize: 8 << 10, IndexEvery: 16}
	l := mustOpen(t, dir, o)
	interleaved(t, l, 300)
	if len(l.segs) < 3 {
		t.Fatalf("want several segments, have %d", len(l.segs))
	}
	runStreamCases(t, "live", l)
	if _, err := l.ReadStream("s0", 0, 0); err == nil {
		t.Fatal("max 0: want an error")
	}
	l.Close()

	l = mustOpen(t, dir, o) // from the close-time checkpoint
	if l.Recovery().Checkpoint == 0 {
		t.Fatalf("checkpoint not used: %v", l.Recovery().Notes)
	}
	runStreamCases(t, "checkpoint", l)
	l.Close()

	os.Remove(filepath.Join(dir, checkpointFile))
	l = mustOpen(t, dir, o) // full scan
	runStreamCases(t, "full scan", l)
	// Appends after recovery extend the right chains.
	if _, err := l.Append(context.Background(), AppendRequest{Expected: 99, Events: []Event{ev(340, "s1")}}); err != nil {
		t.Fatal(err)
	}
	recs, err := l.ReadStream("s1", 99, 10)
	if err != nil || len(recs) != 2 || recs[1].StreamVersion != 100 || recs[1].Position != 340 {
		t.Fatalf("after recovery append: %v %+v", err, recs)
	}
	l.Close()
}

// TestReadStreamCheckpointThenTail: a roll-time checkpoint covers part of
// the log; streams continue after it, and new streams start after it.
func TestReadStreamCheckpointThenTail(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 8 << 10, IndexEvery: 16}
	l := mustOpen(t, dir, o)
	interleaved(t, l, 300)
	// Crash-like: keep the roll-time checkpoint, not the close-time one.
	l.ckWG.Wait()
	ck, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := os.WriteFile(filepath.Join(dir, checkpointFile), ck, 0o644); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, o)
	defer l.Close()
	rep := l.Recovery()
	if rep.Checkpoint == 0 || rep.Scanned == 0 {
		t.Fatalf("want a partial checkpoint and a scanned tail, got %+v", rep)
	}
	runStreamCases(t, "checkpoint+tail", l)
}

// TestReadStreamTornTail: a torn last record is cut at recovery and never
// returned; the stream then continues at the cut version.
func TestReadStreamTornTail(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 1 << 20}
	l := mustOpen(t, dir, o)
	appendN(t, l, 0, 30) // s0: positions 0,3,...,27 = versions 0..9
	l.Close()
	os.Remove(filepath.Join(dir, checkpointFile))
	seg := lastSegment(t, dir)
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	// Find the end of the data (preallocated zeros follow) and cut 5 bytes
	// off the last record (position 29, stream s2 version 9).
	end := len(data)
	for end > 0 && data[end-1] == 0 {
		end--
	}
	if err := os.WriteFile(seg, data[:end-5], 0o644); err != nil {
		t.Fatal(err)
	}
	setWatermark(t, dir, 29) // the torn record was never acknowledged
	l = mustOpen(t, dir, o)
	defer l.Close()
	if l.Recovery().TruncatedBytes == 0 || l.Head() != 29 {
		t.Fatalf("want a cut torn tail and head 29: %+v head %d", l.Recovery(), l.Head())
	}
	recs, err := l.ReadStream("s2", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	wantStream(t, "torn s2", recs, "s2", 0, 0, 9)
	pos, err := l.Append(context.Background(), AppendRequest{Expected: 8, Events: []Event{ev(29, "s2")}})
	if err != nil || pos[0] != 29 {
		t.Fatalf("append at the cut: %v %v", pos, err)
	}
	recs, _ = l.ReadStream("s2", 9, 100)
	wantStream(t, "s2 after the cut", recs, "s2", 0, 9, 1)
}

// TestReadStreamOnlyCommitted: an event written but not yet fdatasync'd is
// not returned.
func TestReadStreamOnlyCommitted(t *testing.T) {
	release := make(chan struct{})
	hold := make(chan struct{}, 1)
	l := mustOpen(t, t.TempDir(), Options{SyncConcurrency: 1, syncHook: func() {
		select {
		case <-hold:
			<-release
		default:
		}
	}})
	defer l.Close()
	appendN(t, l, 0, 3)
	hold <- struct{}{}
	done := make(chan error, 1)
	go func() {
		_, err := l.Append(context.Background(), AppendRequest{Expected: ExpectAny, Events: []Event{ev(3, "s0"), ev(4, "new")}})
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().Records < 5 {
		if time.Now().After(deadline) {
			t.Fatal("second group never written")
		}
		time.Sleep(time.Millisecond)
	}
	for _, s := range []string{"s0", "new"} {
		recs, err := l.ReadStream(s, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"s0": 1, "new": 0}[s]; len(recs) != want {
			t.Fatalf("stream %s before the sync: %d records, want %d", s, len(recs), want)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if recs, _ := l.ReadStream("new", 0, 10); len(recs) != 1 || recs[0].Position != 4 {
		t.Fatalf("after the sync: %+v", recs)
	}
}

func TestScanStreamCut(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	defer l.Close()
	appendN(t, l, 0, 30)
	size := ev(0, "s0").recordSize()
	var got int
	res, err := l.ScanStream("s0", 0, 100, 3*size+size/2, func(raw []byte) { got++ })
	if err != nil || res.Count != 3 || got != 3 || !res.Cut {
		t.Fatalf("byte-limited scan: %+v %v (fn called %d times)", res, err, got)
	}
	res, _ = l.ScanStream("s0", 0, 100, 1, func([]byte) {})
	if res.Count != 1 || !res.Cut {
		t.Fatalf("one record always passes: %+v", res)
	}
	res, _ = l.ScanStream("s0", 0, 100, 0, func([]byte) {})
	if res.Count != 10 || res.Cut {
		t.Fatalf("unlimited: %+v", res)
	}
}
