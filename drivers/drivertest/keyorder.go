package drivertest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/evbench/evbench/drivers"
)

// KeyOrderLoad shapes CheckKeyOrder's load. Zero fields take the defaults
// in parentheses.
type KeyOrderLoad struct {
	Keys       int // distinct keys, few so each has many appends in flight (4)
	Goroutines int // submitters sharing the keys (16)
	Appends    int // appends per key (50)
	MaxBatch   int // events per append cycle through 1..MaxBatch (3)
	InFlight   int // appends in flight at once over all keys (256)
	// SyncEvery makes every n-th append of a key a synchronous Append,
	// submitted while that key's earlier AppendAsync calls are still in
	// flight (5; negative: never). A driver without AsyncAppender gets only
	// synchronous Appends.
	SyncEvery int
}

func (l KeyOrderLoad) withDefaults() KeyOrderLoad {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.Keys, 4)
	def(&l.Goroutines, 16)
	def(&l.Appends, 50)
	def(&l.MaxBatch, 3)
	def(&l.InFlight, 256)
	def(&l.SyncEvery, 5)
	return l
}

// CheckKeyOrder is the harness's per-key order promise as a test: many
// goroutines append to few keys, with many appends of one key in flight at
// once (AppendAsync, as the generator does on asynchronous drivers) and a
// synchronous Append now and then among them. Appends of one key are
// submitted in Seq order (a key's lock is held from taking the next Seq
// until AppendAsync or Append returns), so a driver that routes a key over
// several connections, or runs its appends concurrently, shows up here as a
// Seq going backwards. It subscribes from the start of d, which must hold
// no other events of these keys, and fails the test on any append error,
// loss, duplicate or reorder. It returns the number of events appended.
func CheckKeyOrder(t *testing.T, d drivers.Driver, load KeyOrderLoad) int {
	t.Helper()
	load = load.withDefaults()
	async, _ := d.(drivers.AsyncAppender)

	type key struct {
		mu    sync.Mutex
		name  string
		g     *gen
		sent  int // appends submitted
		batch int
	}
	keys := make([]*key, load.Keys)
	for i := range keys {
		keys[i] = &key{name: fmt.Sprintf("order-%d", i), g: randomGen("ko")}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()

	var mu sync.Mutex
	acked := map[[16]byte]bool{}
	var errs []error
	finish := func(batch []drivers.Event, pos []drivers.Position, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil && len(pos) != len(batch) {
			err = fmt.Errorf("%d positions for %d events", len(pos), len(batch))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("append to %s (seq %d..): %w", batch[0].Key, batch[0].Seq, err))
			return
		}
		for _, e := range batch {
			acked[e.ID] = true
		}
	}

	sem := make(chan struct{}, load.InFlight)
	var inflight, submitters sync.WaitGroup
	for g := 0; g < load.Goroutines; g++ {
		submitters.Add(1)
		go func(g int) {
			defer submitters.Done()
			for done := 0; done < len(keys); {
				done = 0
				for i := range keys {
					k := keys[(g+i)%len(keys)]
					sem <- struct{}{}
					k.mu.Lock()
					if k.sent == load.Appends {
						k.mu.Unlock()
						<-sem
						done++
						continue
					}
					k.sent++
					n := 1 + k.batch%load.MaxBatch
					k.batch++
					batch := make([]drivers.Event, n)
					for j := range batch {
						batch[j] = k.g.one(k.name)
					}
					inflight.Add(1)
					if async == nil || (load.SyncEvery > 0 && k.sent%load.SyncEvery == 0) {
						pos, err := d.Append(ctx, batch)
						finish(batch, pos, err)
						<-sem
						inflight.Done()
					} else {
						async.AppendAsync(ctx, batch, func(pos []drivers.Position, err error) {
							finish(batch, pos, err)
							<-sem
							inflight.Done()
						})
					}
					k.mu.Unlock()
				}
			}
		}(g)
	}
	submitters.Wait()
	within(t, waitLimit, "appends in flight", inflight.Wait)
	mu.Lock()
	for i, err := range errs {
		if i == 3 {
			t.Errorf("... %d append errors in total", len(errs))
			break
		}
		t.Error(err)
	}
	n := len(acked)
	mu.Unlock()
	if len(errs) > 0 {
		t.FailNow()
	}

	got := subscribe(t, d, nil).waitIDs(t, acked)
	checkExactlyOnce(t, acked, got)
	last := map[string]uint64{}
	bad := 0
	for _, dl := range got {
		if dl.Seq <= last[dl.Key] {
			if bad < 3 {
				t.Errorf("key %q: seq %d delivered after seq %d, but the appends were submitted in seq order: two appends of one key overlapped on the way to the store",
					dl.Key, dl.Seq, last[dl.Key])
			}
			bad++
			continue
		}
		last[dl.Key] = dl.Seq
	}
	if bad > 0 {
		t.Errorf("per-key order: %d of %d deliveries out of order (%d keys, %d appends each, up to %d in flight)",
			bad, len(got), load.Keys, load.Appends, load.InFlight)
	}
	return n
}

// testKeyOrder runs CheckKeyOrder with its default load on every driver.
func testKeyOrder(t *testing.T, d drivers.Driver) {
	n := CheckKeyOrder(t, d, KeyOrderLoad{})
	if !t.Failed() {
		t.Logf("%d events over 4 keys, many appends of one key in flight: per-key order kept", n)
	}
}

// testBatchAtomicity: every driver declares whether a batch lands
// all-or-nothing, because events.batch means something different per store
// and the result reports it (driver.batch_atomic).
func testBatchAtomicity(t *testing.T, d drivers.Driver) {
	ba, ok := d.(drivers.BatchAtomicity)
	if !ok {
		t.Fatalf("%T does not implement drivers.BatchAtomicity: declare whether one Append of several events lands all-or-nothing", d)
	}
	t.Logf("BatchAtomic() = %v", ba.BatchAtomic())
}
