package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
)

// TestGapSafetyEightWriters is the gap-safety proof: 8 writers append
// concurrently while a live subscriber reads; every acknowledged event must
// arrive exactly once, positions must be gapless and in order, and stream
// versions must be 1..n per key.
func TestGapSafetyEightWriters(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"batch_insert=values", "batch_insert=copy&group_commit=off"} {
		t.Run(mode, func(t *testing.T) { gapSafety(t, "&poll=20ms&"+mode) })
	}
}

func gapSafety(t *testing.T, extra string) {
	d := openTest(t, extra)
	const writers, batches = 8, 40
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var mu sync.Mutex
	delivered := map[[16]byte]int{}
	var order []int64
	sctx, stop := context.WithCancel(ctx)
	subDone := make(chan error, 1)
	go func() {
		subDone <- d.Subscribe(sctx, nil, func(b []drivers.Delivered) error {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range b {
				delivered[e.ID]++
				order = append(order, e.Position.Offset)
			}
			return nil
		})
	}()

	acked := map[[16]byte]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				batch := make([]drivers.Event, 1+b%4)
				for i := range batch {
					batch[i] = drivers.Event{Key: fmt.Sprintf("k%d", (w+b+i)%5), Type: "T", Payload: []byte("{}")}
					copy(batch[i].ID[:], fmt.Sprintf("w%02db%03di%02d", w, b, i))
				}
				if _, err := d.Append(ctx, batch); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, e := range batch {
					acked[e.ID] = true
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("append: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(delivered)
		mu.Unlock()
		if n >= len(acked) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	stop()
	if err := <-subDone; err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	lost, dup := 0, 0
	for id := range acked {
		switch delivered[id] {
		case 0:
			lost++
		case 1:
		default:
			dup++
		}
	}
	if lost != 0 || dup != 0 || len(delivered) != len(acked) {
		t.Fatalf("acked %d, delivered %d distinct: lost %d, duplicated %d", len(acked), len(delivered), lost, dup)
	}
	for i, off := range order {
		if off != int64(i) {
			t.Fatalf("delivery %d has offset %d: positions must be gapless and in order", i, off)
		}
	}
	var bad int
	err := d.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT stream_version, row_number() OVER (PARTITION BY stream_id ORDER BY position) AS rn FROM `+d.n.events+`) x WHERE stream_version <> rn`).Scan(&bad)
	if err != nil || bad != 0 {
		t.Fatalf("stream versions: %d rows out of sequence (err %v)", bad, err)
	}
	groups, events := d.GroupStats()
	t.Logf("%d writers: %d events acked, all delivered once, gapless (%d group commits for %d events)", writers, len(acked), groups, events)
}

// TestCloseWithAsyncInFlight: Close with appends queued calls every done
// exactly once (committed or "driver closed"), and nothing hangs.
func TestCloseWithAsyncInFlight(t *testing.T) {
	d := openTest(t, "")
	const n = 200
	var mu sync.Mutex
	calls := map[int]int{}
	var ok, failed int
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		var e drivers.Event
		copy(e.ID[:], fmt.Sprintf("close-%04d", i))
		e.Key, e.Payload = "k", []byte("{}")
		d.AppendAsync(context.Background(), []drivers.Event{e}, func(p []drivers.Position, err error) {
			mu.Lock()
			defer mu.Unlock()
			calls[i]++
			if calls[i] == 1 {
				defer wg.Done()
			}
			if err != nil {
				failed++
			} else {
				ok++
			}
		})
	}
	d.Close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("done callbacks missing 10 s after Close")
	}
	mu.Lock()
	defer mu.Unlock()
	for i, c := range calls {
		if c != 1 {
			t.Errorf("request %d: done called %d times", i, c)
		}
	}
	if ok+failed != n {
		t.Fatalf("%d ok + %d failed != %d", ok, failed, n)
	}
	t.Logf("Close with %d async appends queued: %d committed, %d failed with driver closed", n, ok, failed)
}
