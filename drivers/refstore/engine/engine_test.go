package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/evbench/evbench/drivers/refstore/record"
)

func ev(i int, stream string) Event {
	var id [16]byte
	copy(id[:], fmt.Sprintf("id-%013d", i))
	return Event{ID: id, Stream: stream, Seq: uint64(i), Type: "T", Payload: []byte(fmt.Sprintf("payload-%d", i)), CreatedAt: int64(i)}
}

func mustOpen(t *testing.T, dir string, o Options) *Log {
	t.Helper()
	l, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func appendN(t *testing.T, l *Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		pos, err := l.Append(context.Background(), AppendRequest{Expected: ExpectAny, Events: []Event{ev(i, fmt.Sprintf("s%d", i%3))}})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if pos[0] != uint64(i) {
			t.Fatalf("append %d got position %d", i, pos[0])
		}
	}
}

// readAll returns every committed record.
func readAll(t *testing.T, l *Log, from uint64) []record.Record {
	t.Helper()
	r, err := l.NewReader(from)
	if err != nil {
		t.Fatal(err)
	}
	var out []record.Record
	for {
		raw, n, err := r.Read(nil, 4096)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return out
		}
		for len(raw) > 0 {
			rec, k, err := record.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			rec.Payload = append([]byte(nil), rec.Payload...)
			out = append(out, rec)
			raw = raw[k:]
		}
	}
}

func checkRecords(t *testing.T, recs []record.Record, from, n int) {
	t.Helper()
	if len(recs) != n {
		t.Fatalf("got %d records, want %d", len(recs), n)
	}
	for i, r := range recs {
		want := ev(from+i, "")
		if r.Position != uint64(from+i) || r.ID != want.ID || string(r.Payload) != string(want.Payload) || r.Seq != want.Seq {
			t.Fatalf("record %d: got pos %d seq %d payload %q", i, r.Position, r.Seq, r.Payload)
		}
	}
}

func TestAppendReadReopenAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 2048, IndexEvery: 4}
	l := mustOpen(t, dir, o)
	appendN(t, l, 0, 100)
	checkRecords(t, readAll(t, l, 0), 0, 100)
	checkRecords(t, readAll(t, l, 37), 37, 63)
	if len(l.segs) < 3 {
		t.Fatalf("want several segments, got %d", len(l.segs))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal("second close:", err)
	}
	l = mustOpen(t, dir, o)
	defer l.Close()
	if l.Head() != 100 {
		t.Fatalf("head after reopen %d", l.Head())
	}
	appendN(t, l, 100, 10)
	checkRecords(t, readAll(t, l, 0), 0, 110)
	checkRecords(t, readAll(t, l, 110), 0, 0)
	if _, err := l.NewReader(111); err == nil {
		t.Fatal("reader beyond head: want error")
	}
}

func TestIdempotentAndConcurrency(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	defer l.Close()
	ctx := context.Background()
	a := []Event{ev(1, "order-1"), ev(2, "order-1")}
	p1, err := l.Append(ctx, AppendRequest{Expected: ExpectNoStream, Events: a})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := l.Append(ctx, AppendRequest{Expected: ExpectNoStream, Events: a})
	if err != nil || p2[0] != p1[0] || p2[1] != p1[1] || l.Head() != 2 {
		t.Fatalf("retry: %v %v head %d", p2, err, l.Head())
	}
	cases := []struct {
		exp  int64
		ok   bool
		name string
	}{
		{ExpectNoStream, false, "no_stream on existing"},
		{0, false, "stale version"},
		{1, true, "exact"},
		{2, true, "exact next"},
		{ExpectAny, true, "any"},
	}
	for i, c := range cases {
		_, err := l.Append(ctx, AppendRequest{Expected: c.exp, Events: []Event{ev(10+i, "order-1")}})
		if c.ok != (err == nil) || (!c.ok && !errors.Is(err, ErrConflict)) {
			t.Errorf("%s: err=%v", c.name, err)
		}
	}
	if _, err := l.Append(ctx, AppendRequest{Expected: 0, Events: []Event{ev(50, "a"), ev(51, "b")}}); err == nil {
		t.Error("expected version across streams: want error")
	}
	if _, err := l.Append(ctx, AppendRequest{Expected: ExpectAny}); err == nil {
		t.Error("empty batch: want error")
	}
}

func TestConcurrentAppendsGroupCommit(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{SegmentSize: 64 << 10})
	defer l.Close()
	var wg sync.WaitGroup
	const writers, each = 8, 200
	seen := make([]bool, writers*each)
	var mu sync.Mutex
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				p, err := l.Append(context.Background(), AppendRequest{Expected: ExpectAny, Events: []Event{ev(w*each+i, "s")}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[p[0]] = true
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	for i, s := range seen {
		if !s {
			t.Fatalf("position %d never returned", i)
		}
	}
	if n := len(readAll(t, l, 0)); n != writers*each {
		t.Fatalf("read %d", n)
	}
}

func TestDiskFullKeepsServing(t *testing.T) {
	full := false
	o := Options{writeHook: func(off int64, n int) error {
		if full {
			return syscall.ENOSPC
		}
		return nil
	}}
	l := mustOpen(t, t.TempDir(), o)
	defer l.Close()
	appendN(t, l, 0, 5)
	full = true // the committer reads it only after the appends above completed
	_, err := l.Append(context.Background(), AppendRequest{Expected: ExpectAny, Events: []Event{ev(5, "s")}})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("want ENOSPC, got %v", err)
	}
	checkRecords(t, readAll(t, l, 0), 0, 5)
	l.opts.writeHook = nil
	appendN(t, l, 5, 2) // positions continue without a hole
	checkRecords(t, readAll(t, l, 0), 0, 7)
}

func lastSegment(t *testing.T, dir string) string {
	ents, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	return ents[len(ents)-1]
}

// TestTornTailEveryOffset cuts or corrupts the final record at every byte
// offset and proves recovery keeps all earlier records and keeps appending.
func TestTornTailEveryOffset(t *testing.T) {
	base := t.TempDir()
	o := Options{SegmentSize: 4096}
	l := mustOpen(t, base, o)
	appendN(t, l, 0, 10)
	seg := l.current()
	end := seg.writeOff
	lastLen := int64(ev(9, "s0").recordSize())
	l.Close()
	orig, err := os.ReadFile(lastSegment(t, base))
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"truncate", "corrupt"} {
		for k := int64(0); k < lastLen; k++ {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, formatFile), []byte("refstore-log-format 1\n"), 0o644)
			data := append([]byte(nil), orig...)
			if mode == "truncate" {
				data = data[:end-lastLen+k]
			} else {
				data[end-lastLen+k] ^= 0x5a
			}
			os.WriteFile(filepath.Join(dir, filepath.Base(lastSegment(t, base))), data, 0o644)
			l, err := Open(dir, o)
			if err != nil {
				t.Fatalf("%s at %d: open: %v", mode, k, err)
			}
			if l.Head() != 9 {
				t.Fatalf("%s at %d: head %d, want 9", mode, k, l.Head())
			}
			if k > 0 && l.Recovery().TruncatedBytes == 0 {
				t.Fatalf("%s at %d: truncation not reported", mode, k)
			}
			appendN(t, l, 9, 2)
			checkRecords(t, readAll(t, l, 0), 0, 11)
			l.Close()
		}
	}
}

func (e Event) recordSize() int {
	return record.HeaderSize + len(e.Stream) + len(e.Type) + len(e.Payload)
}

func TestBadDirectories(t *testing.T) {
	mk := func(t *testing.T) string {
		dir := t.TempDir()
		l := mustOpen(t, dir, Options{SegmentSize: 1024})
		appendN(t, l, 0, 40)
		l.Close()
		return dir
	}
	cases := []struct {
		name   string
		break_ func(t *testing.T, dir string)
		want   string
	}{
		{"newer format", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, formatFile), []byte("refstore-log-format 9\n"), 0o644)
		}, "newer refstore"},
		{"missing middle segment", func(t *testing.T, dir string) {
			segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
			os.Remove(segs[1])
		}, "segment missing between"},
		{"corrupt middle of a segment", func(t *testing.T, dir string) {
			segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
			f, _ := os.OpenFile(segs[0], os.O_RDWR, 0)
			f.WriteAt([]byte{0xff}, segHeaderSize+30)
			f.Close()
		}, "is corrupt at offset 16"},
		{"corrupt middle of the last segment", func(t *testing.T, dir string) {
			seg := lastSegment(t, dir)
			f, _ := os.OpenFile(seg, os.O_RDWR, 0)
			f.WriteAt([]byte{0xff}, segHeaderSize+30)
			f.Close()
		}, "valid records follow"},
		{"no format file", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, formatFile))
		}, "no FORMAT file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := mk(t)
			c.break_(t, dir)
			_, err := Open(dir, Options{SegmentSize: 1024})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
	t.Run("foreign file ignored", func(t *testing.T) {
		dir := mk(t)
		os.WriteFile(filepath.Join(dir, "README.txt"), []byte("hi"), 0o644)
		l, err := Open(dir, Options{SegmentSize: 1024})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if len(l.Recovery().Notes) != 1 || l.Head() != 40 {
			t.Fatalf("notes %v head %d", l.Recovery().Notes, l.Head())
		}
	})
	t.Run("locked by another log", func(t *testing.T) {
		dir := mk(t)
		l := mustOpen(t, dir, Options{})
		defer l.Close()
		if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestCloseFailsQueuedAppends(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	l.Close()
	if _, err := l.Append(context.Background(), AppendRequest{Expected: ExpectAny, Events: []Event{ev(1, "s")}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v", err)
	}
}

// setWatermark rewrites the durable watermark, as a crash before the torn
// or lost records were acknowledged would have left it.
func setWatermark(t *testing.T, dir string, pos uint64) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, watermarkFile), encodeWatermark(pos), 0o644); err != nil {
		t.Fatal(err)
	}
}
