package drivertest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
)

// testDedupe records what the store does with a retried append (same event
// IDs) and holds the driver to its claim: a Deduplicator saying true must
// not deliver the retry; otherwise the duplicate must be visible.
func testDedupe(t *testing.T, d drivers.Driver) {
	g := randomGen("dd")
	batch := make([]drivers.Event, 5)
	for i := range batch {
		batch[i] = g.one("dedupe")
	}
	first := mustAppend(t, d, batch)
	ctx, cancel := appendCtx(t)
	retry, retryErr := d.Append(ctx, batch)
	cancel()
	sentinel := g.one("dedupe") // same key: delivered after everything above
	mustAppend(t, d, []drivers.Event{sentinel})

	want := idSet(batch)
	want[sentinel.ID] = true
	got := subscribe(t, d, nil).waitIDs(t, want)
	count := map[[16]byte]int{}
	for _, dl := range got {
		count[dl.ID]++
	}
	dups := 0
	for _, e := range batch {
		if count[e.ID] > 1 {
			dups++
		}
	}
	claims := false
	if dd, ok := d.(drivers.Deduplicator); ok {
		claims = dd.DeduplicatesByID()
	}
	if dups == 0 {
		t.Logf("dedupe: store deduplicated retried append (retry err=%v)", retryErr)
	} else {
		t.Logf("dedupe: store duplicated retried append (%d of %d events twice)", dups, len(batch))
	}
	switch {
	case claims && dups > 0:
		t.Errorf("driver claims DeduplicatesByID() == true but %d of %d retried events were delivered twice", dups, len(batch))
	case claims && retryErr != nil:
		t.Errorf("driver claims DeduplicatesByID() == true but the retried append failed: %v", retryErr)
	case claims:
		for i := range first {
			if retry[i] != first[i] {
				t.Errorf("retried event %d: position %+v, original %+v (a deduplicating store returns the original)", i, retry[i], first[i])
			}
		}
	case retryErr == nil && dups != len(batch):
		t.Errorf("driver does not claim deduplication, yet only %d of %d retried events are visible twice", dups, len(batch))
	}
}

// testAsync: AppendAsync with many calls in flight calls every done exactly
// once with one position per event, and everything is delivered in per-key
// order.
func testAsync(t *testing.T, d drivers.Driver) {
	a, ok := d.(drivers.AsyncAppender)
	if !ok {
		t.Skip("driver does not implement drivers.AsyncAppender")
	}
	const calls = 300
	g := randomGen("async")
	var (
		mu       sync.Mutex
		acked    = map[[16]byte]bool{}
		firstErr error
		pending  sync.WaitGroup
		extra    atomic.Int32
	)
	ctx, cancel := appendCtx(t)
	defer cancel()
	pending.Add(calls)
	for i := 0; i < calls; i++ {
		batch := g.events(1+i%3, 7)
		var once atomic.Bool
		a.AppendAsync(ctx, batch, func(pos []drivers.Position, err error) {
			if !once.CompareAndSwap(false, true) {
				extra.Add(1)
				return
			}
			defer pending.Done()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				if firstErr == nil {
					firstErr = err
				}
			case len(pos) != len(batch):
				if firstErr == nil {
					firstErr = fmt.Errorf("done got %d positions for %d events", len(pos), len(batch))
				}
			default:
				for _, e := range batch {
					acked[e.ID] = true
				}
			}
		})
	}
	all := make(chan struct{})
	go func() { pending.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(waitLimit):
		t.Fatalf("AppendAsync: not every done callback was called within %s", waitLimit)
	}
	if n := extra.Load(); n > 0 {
		t.Errorf("AppendAsync: %d done callbacks were called more than once", n)
	}
	if firstErr != nil {
		t.Fatalf("AppendAsync: %v", firstErr)
	}
	got := subscribe(t, d, nil).waitIDs(t, acked)
	checkExactlyOnce(t, acked, got)
	checkKeyOrder(t, got)
}
