package drivertest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
)

// testCatchUpLive: a subscriber that starts behind keeps up with several
// concurrent writers without a gap or duplicate. Each writer owns its keys,
// so its Seq order is the append order the store must preserve per key.
func testCatchUpLive(t *testing.T, d drivers.Driver) {
	const writers, batches = 4, 40
	pre := randomGen("pre").events(50, 5)
	mustAppend(t, d, pre)

	var mu sync.Mutex
	acked := idSet(pre)
	c := subscribe(t, d, nil)

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			g := randomGen(fmt.Sprintf("live%d", w))
			for b := 0; b < batches; b++ {
				batch := g.events(1+b%5, 3)
				ctx, cancel := appendCtx(t)
				pos, err := d.Append(ctx, batch)
				cancel()
				if err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, b, err)
					return
				}
				if len(pos) != len(batch) {
					errs <- fmt.Errorf("writer %d batch %d: %d positions for %d events", w, b, len(pos), len(batch))
					return
				}
				mu.Lock()
				for _, e := range batch {
					acked[e.ID] = true
				}
				mu.Unlock()
				if b%10 == 0 {
					time.Sleep(time.Millisecond) // let the subscriber reach the live edge
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Append: %v", err)
	}
	got := c.waitIDs(t, acked)
	checkExactlyOnce(t, acked, got)
	checkKeyOrder(t, got)
	checkPartitionOrder(t, got)
	if !t.Failed() {
		t.Logf("catch-up+live: %d events from %d writers delivered exactly once", len(got), writers)
	}
}

// testHeadLag: Head grows with appends and Lag reaches 0 once a subscriber
// has consumed everything.
func testHeadLag(t *testing.T, d drivers.Driver) { headLag(t, d, false) }

// headLag appends 30 events and checks Head grew by them and holds their
// positions, then that a subscription's lag reaches 0. fromHead counts the
// lag from the head before the appends (a live-only subscriber, whose
// cursor starts at the head it was given, never gets what came before),
// else from the start.
func headLag(t *testing.T, d drivers.Driver, fromHead bool) {
	h0 := mustHead(t, d)
	g := randomGen("head")
	const n = 30
	var pos []drivers.Position
	for i := 0; i < 3; i++ {
		pos = append(pos, mustAppend(t, d, g.events(n/3, 3))...)
	}
	h1 := mustHead(t, d)
	grew := h1.Total() - h0.Total()
	if grew < n {
		t.Fatalf("Head().Total() grew by %d after %d appended events (head %v -> %v)", grew, n, h0, h1)
	}
	if contiguous(pos) && grew != n {
		t.Errorf("gapless store (contiguous positions) but Head().Total() grew by %d, want %d (head %v -> %v)", grew, n, h0, h1)
	}
	for _, p := range pos {
		if p.Offset >= h1[p.Partition] {
			t.Errorf("position %+v is not before head %v", p, h1)
		}
	}
	start, from := drivers.Cursor{}, "the start"
	if fromHead {
		start, from = h0, fmt.Sprint(h0)
	}
	c := subscribe(t, d, nil)
	deadline := time.Now().Add(waitLimit)
	for {
		cur := start.Clone()
		for _, dl := range c.snapshot() {
			cur.Advance(dl.Position)
		}
		lag := drivers.Lag(h1, cur)
		if lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lag still %d after %s (head %v, counted from %v, consumer cursor %v)", lag, waitLimit, h1, from, cur)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// contiguous reports whether the offsets fill a range per partition with no
// hole, i.e. the store assigned them without gaps.
func contiguous(pos []drivers.Position) bool {
	lo, hi, n := map[int32]int64{}, map[int32]int64{}, map[int32]int64{}
	for _, p := range pos {
		if _, ok := lo[p.Partition]; !ok || p.Offset < lo[p.Partition] {
			lo[p.Partition] = p.Offset
		}
		if p.Offset > hi[p.Partition] {
			hi[p.Partition] = p.Offset
		}
		n[p.Partition]++
	}
	for part := range n {
		if hi[part]-lo[part]+1 != n[part] {
			return false
		}
	}
	return true
}
