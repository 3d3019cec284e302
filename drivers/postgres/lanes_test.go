package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// TestKeyOrderGroupCommitOff: with group_commit=off every append is its own
// transaction, on up to pool connections at once, and a key's appends still
// keep submission order while many are in flight (AppendAsync, with
// synchronous Appends among them). Running them straight on the pool, or
// on lanes picked round robin, fails it.
func TestKeyOrderGroupCommitOff(t *testing.T) {
	t.Parallel()
	d := openTest(t, "&group_commit=off&pool=4&poll=20ms")
	n := drivertest.CheckKeyOrder(t, d, drivertest.KeyOrderLoad{Keys: 4, Goroutines: 16, Appends: 60, InFlight: 128})
	if !t.Failed() {
		t.Logf("group_commit=off, 4 lanes: %d events over 4 keys kept per-key order in %d transactions", n, d.Commits())
	}
}

// TestGroupCommitOffOneTransactionPerAppend: N appends submitted at once
// through AppendAsync (the runner's path) are N transactions with
// group_commit=off, and far fewer with group_commit=on.
func TestGroupCommitOffOneTransactionPerAppend(t *testing.T) {
	t.Parallel()
	const n = 120
	for _, tc := range []struct {
		gc  string
		max int64 // most transactions allowed for n appends
	}{
		{"off", n},
		{"on", n / 2},
	} {
		t.Run("group_commit="+tc.gc, func(t *testing.T) {
			d := openTest(t, "&pool=4&group_commit="+tc.gc)
			before := d.Commits()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			var mu sync.Mutex
			var errs []error
			wg.Add(n)
			for i := 0; i < n; i++ {
				var e drivers.Event
				copy(e.ID[:], fmt.Sprintf("tx-%04d", i))
				e.Key, e.Seq, e.Payload = fmt.Sprintf("k%d", i%8), uint64(i/8+1), []byte("{}")
				d.AppendAsync(ctx, []drivers.Event{e}, func(_ []drivers.Position, err error) {
					defer wg.Done()
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("%d appends failed, first: %v", len(errs), errs[0])
			}
			got := d.Commits() - before
			groups, events := d.GroupStats()
			t.Logf("group_commit=%s: %d appends in %d transactions (%d groups, %d events)", tc.gc, n, got, groups, events)
			if tc.gc == "off" && got != n {
				t.Fatalf("group_commit=off: %d appends committed in %d transactions, want one each", n, got)
			}
			if got > tc.max || got < 1 {
				t.Fatalf("group_commit=%s: %d appends committed in %d transactions, want 1..%d", tc.gc, n, got, tc.max)
			}
		})
	}
}
