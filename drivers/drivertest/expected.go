package drivertest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/evbench/evbench/drivers"
)

// CheckExpectedVersion is the conformance check of drivers.ExpectedAppender
// (optimistic concurrency): open must return a fresh, empty store per call,
// as for Run, whose driver implements the interface. It checks that
// appends at the right version succeed and StreamVersion follows them, that
// a stale expected version is a typed conflict that writes nothing, that a
// batch moves the version by its length, and that racing writers which
// reload and retry on conflict end with one contiguous history, each event
// delivered once in version order.
func CheckExpectedVersion(t *testing.T, open func(t *testing.T) drivers.Driver) {
	tests := []struct {
		name string
		fn   func(*testing.T, drivers.ExpectedAppender, drivers.Driver)
	}{
		{"SequentialAppendsFollowVersion", testExpectedSequential},
		{"StaleVersionConflictsAndWritesNothing", testExpectedStale},
		{"BatchMovesVersionByItsLength", testExpectedBatch},
		{"RacingWritersKeepOneHistory", testExpectedRace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := open(t)
			if d == nil {
				t.Fatal("open returned a nil driver")
			}
			ea, ok := d.(drivers.ExpectedAppender)
			if !ok {
				t.Fatalf("driver %T does not implement drivers.ExpectedAppender", d)
			}
			tc.fn(t, ea, d)
		})
	}
}

// expectGen makes events of one stream with IDs unique across writers and
// attempts (a random prefix, the writer, a counter), as two commands racing
// for the same version carry different events.
type expectGen struct {
	prefix [8]byte
	n      atomic.Uint64
}

func newExpectGen() *expectGen {
	g := &expectGen{}
	if _, err := rand.Read(g.prefix[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return g
}

// event is writer w's event for stream at version seq.
func (g *expectGen) event(stream string, w int, seq uint64) drivers.Event {
	var id [16]byte
	copy(id[:8], g.prefix[:])
	i := g.n.Add(1)
	binary.BigEndian.PutUint64(id[8:], uint64(w)<<48|i)
	return drivers.Event{
		ID:        id,
		Key:       stream,
		Seq:       seq,
		Type:      "CommandHandled",
		Payload:   []byte(fmt.Sprintf(`{"writer":%d,"version":%d}`, w, seq)),
		CreatedAt: baseTime + int64(i),
	}
}

// streamName is unique per call, so stores that outlive a test never mix.
func streamName(tag string) string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s-%x", tag, b)
}

func mustVersion(t *testing.T, ea drivers.ExpectedAppender, stream string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	v, err := ea.StreamVersion(ctx, stream)
	if err != nil {
		t.Fatalf("StreamVersion(%q): %v", stream, err)
	}
	return v
}

func appendExpected(ea drivers.ExpectedAppender, stream string, expected uint64, batch []drivers.Event) ([]drivers.Position, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	return ea.AppendExpected(ctx, stream, expected, batch)
}

func testExpectedSequential(t *testing.T, ea drivers.ExpectedAppender, d drivers.Driver) {
	g, stream := newExpectGen(), streamName("seq")
	if v := mustVersion(t, ea, stream); v != 0 {
		t.Fatalf("new stream: StreamVersion = %d, want 0", v)
	}
	for v := uint64(0); v < 5; v++ {
		pos, err := appendExpected(ea, stream, v, []drivers.Event{g.event(stream, 0, v+1)})
		if err != nil {
			t.Fatalf("AppendExpected(expected %d) on a stream at %d: %v", v, v, err)
		}
		if len(pos) != 1 {
			t.Fatalf("AppendExpected of 1 event returned %d positions", len(pos))
		}
		if got := mustVersion(t, ea, stream); got != v+1 {
			t.Fatalf("after %d appends StreamVersion = %d, want %d", v+1, got, v+1)
		}
	}
	if other := mustVersion(t, ea, streamName("other")); other != 0 {
		t.Fatalf("StreamVersion of an untouched stream = %d, want 0", other)
	}
}

func testExpectedStale(t *testing.T, ea drivers.ExpectedAppender, d drivers.Driver) {
	g, stream := newExpectGen(), streamName("stale")
	for v := uint64(0); v < 3; v++ {
		if _, err := appendExpected(ea, stream, v, []drivers.Event{g.event(stream, 0, v+1)}); err != nil {
			t.Fatalf("AppendExpected(expected %d): %v", v, err)
		}
	}
	head := mustHead(t, d)
	for _, stale := range []uint64{0, 1, 2, 4, 10} {
		_, err := appendExpected(ea, stream, stale, []drivers.Event{g.event(stream, 1, stale+1)})
		var ce *drivers.ConflictError
		if !errors.As(err, &ce) {
			t.Fatalf("AppendExpected(expected %d) on a stream at 3: err = %v, want a *drivers.ConflictError", stale, err)
		}
		if !errors.Is(err, drivers.ErrConflict) {
			t.Fatalf("errors.Is(%v, drivers.ErrConflict) is false", err)
		}
		if ce.Stream != stream || ce.Expected != stale {
			t.Fatalf("conflict names stream %q expected %d, want %q and %d", ce.Stream, ce.Expected, stream, stale)
		}
		if ce.ActualKnown && ce.Actual != 3 {
			t.Fatalf("conflict reports actual version %d, want 3", ce.Actual)
		}
	}
	if got := mustHead(t, d); drivers.Lag(got, head) != 0 {
		t.Fatalf("head moved from %v to %v: a refused append wrote something", head, got)
	}
	if v := mustVersion(t, ea, stream); v != 3 {
		t.Fatalf("StreamVersion after refused appends = %d, want 3", v)
	}
}

func testExpectedBatch(t *testing.T, ea drivers.ExpectedAppender, d drivers.Driver) {
	g, stream := newExpectGen(), streamName("batch")
	from := mustHead(t, d)
	c := subscribe(t, d, from)
	var want []drivers.Event
	at := map[[16]byte]drivers.Position{}
	for v := uint64(0); v < 6; v += 3 {
		batch := []drivers.Event{g.event(stream, 0, v+1), g.event(stream, 0, v+2), g.event(stream, 0, v+3)}
		pos, err := appendExpected(ea, stream, v, batch)
		if err != nil {
			t.Fatalf("AppendExpected(expected %d, 3 events): %v", v, err)
		}
		if len(pos) != 3 {
			t.Fatalf("AppendExpected of 3 events returned %d positions", len(pos))
		}
		want = append(want, batch...)
		for i := range batch {
			at[batch[i].ID] = pos[i]
		}
		if got := mustVersion(t, ea, stream); got != v+3 {
			t.Fatalf("after a batch of 3 at %d, StreamVersion = %d, want %d", v, got, v+3)
		}
	}
	got := c.waitIDs(t, idSet(want))
	checkExactlyOnce(t, idSet(want), got)
	checkStreamHistory(t, got, stream, 6)
	for _, d := range got {
		if p, ok := at[d.ID]; ok && p != d.Position {
			t.Fatalf("event Seq %d: AppendExpected returned position %+v, Subscribe delivered it at %+v", d.Seq, p, d.Position)
		}
	}
}

// raceWriters and raceAppends size the race: 8 writers, each committing
// raceAppends events to one stream, reloading and retrying on conflict.
const (
	raceWriters  = 8
	raceAppends  = 12
	raceAttempts = 10_000 // a bound, so a driver that never succeeds fails instead of spinning
)

func testExpectedRace(t *testing.T, ea drivers.ExpectedAppender, d drivers.Driver) {
	g, stream := newExpectGen(), streamName("race")
	from := mustHead(t, d)
	c := subscribe(t, d, from)
	var (
		mu        sync.Mutex
		acked     = map[[16]byte]uint64{} // ID -> version it was appended at
		conflicts atomic.Int64
		wg        sync.WaitGroup
		errs      = make(chan error, raceWriters)
	)
	for w := 0; w < raceWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 4*waitLimit)
			defer cancel()
			done := 0
			for attempt := 0; done < raceAppends; attempt++ {
				if attempt == raceAttempts {
					errs <- fmt.Errorf("writer %d: %d attempts for %d appends", w, attempt, done)
					return
				}
				v, err := ea.StreamVersion(ctx, stream)
				if err != nil {
					errs <- fmt.Errorf("writer %d: StreamVersion: %w", w, err)
					return
				}
				// A command handler works between reading and writing;
				// yielding here lets the other writers in, as that work would.
				runtime.Gosched()
				ev := g.event(stream, w, v+1)
				_, err = ea.AppendExpected(ctx, stream, v, []drivers.Event{ev})
				if errors.Is(err, drivers.ErrConflict) {
					conflicts.Add(1)
					continue
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d: AppendExpected(expected %d): %w", w, v, err)
					return
				}
				mu.Lock()
				acked[ev.ID] = v + 1
				mu.Unlock()
				done++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := uint64(raceWriters * raceAppends)
	if v := mustVersion(t, ea, stream); v != n {
		t.Fatalf("after %d acknowledged appends StreamVersion = %d, want %d", n, v, n)
	}
	versions := map[uint64]bool{}
	want := map[[16]byte]bool{}
	for id, v := range acked {
		if versions[v] {
			t.Fatalf("two acknowledged appends at version %d", v)
		}
		versions[v] = true
		want[id] = true
	}
	got := c.waitIDs(t, want)
	checkExactlyOnce(t, want, got)
	checkStreamHistory(t, got, stream, n)
	t.Logf("%d writers, %d events, %d conflicts", raceWriters, n, conflicts.Load())
}

// checkStreamHistory checks that the deliveries of stream are exactly Seq
// 1..n, once each, in order.
func checkStreamHistory(t *testing.T, got []drivers.Delivered, stream string, n uint64) {
	t.Helper()
	var next uint64 = 1
	for _, d := range got {
		if d.Key != stream {
			continue
		}
		if d.Seq != next {
			t.Fatalf("stream %q: delivered Seq %d where %d was next: the history is not 1..%d in order", stream, d.Seq, next, n)
		}
		next++
	}
	if next-1 != n {
		t.Fatalf("stream %q: delivered %d events, want %d", stream, next-1, n)
	}
}
