package readmodel

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/memory"
)

// storeWith appends n events over keys aggregates (random key choice,
// per-key sequences) and returns the store and the sequential fold of
// all of them (the reference a rebuild must reproduce).
func storeWith(t *testing.T, n, keys int) (*memory.Driver, *Model) {
	t.Helper()
	drv := memory.New()
	ref := New(0)
	rng := rand.New(rand.NewPCG(1, 2))
	seqs := make([]uint64, keys)
	var batch []drivers.Event
	for i := 0; i < n; i++ {
		k := rng.IntN(keys)
		seqs[k]++
		e := drivers.Event{Key: fmt.Sprintf("order-%d", k), Seq: seqs[k], Type: []string{"OrderPlaced", "OrderPaid"}[i%2],
			Payload: []byte(strings.Repeat("x", rng.IntN(50)) + fmt.Sprint(i))}
		binary.BigEndian.PutUint64(e.ID[:], uint64(i+1))
		ref.Apply(e.Key, e.Seq, e.Type, e.Payload)
		batch = append(batch, e)
		if len(batch) == 100 || i == n-1 {
			if _, err := drv.Append(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return drv, ref
}

func head(t *testing.T, d drivers.Driver) drivers.Cursor {
	t.Helper()
	h, err := d.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// chopped delivers the store's batches in small random pieces, so the
// dispatcher's flushing and batching are exercised at every size.
type chopped struct{ *memory.Driver }

func (c chopped) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	rng := rand.New(rand.NewPCG(3, 4))
	return c.Driver.Subscribe(ctx, from, func(b []drivers.Delivered) error {
		for len(b) > 0 {
			n := min(len(b), 1+rng.IntN(7))
			if err := deliver(b[:n]); err != nil {
				return err
			}
			b = b[n:]
		}
		return nil
	})
}

// TestRebuildPartitionedKeepsPerKeyOrder: whatever P and batch size, the
// partitioned rebuild's digest equals the sequential fold's. The per-key
// hash chain is order-sensitive (TestDigestChangesOnAnyDeviation), so this
// proves each key's events were folded complete and in order.
func TestRebuildPartitionedKeepsPerKeyOrder(t *testing.T) {
	drv, ref := storeWith(t, 5000, 97)
	target := head(t, drv)
	for _, c := range []struct {
		name    string
		drv     drivers.Driver
		workers int
		batch   int
	}{
		{"P=1", drv, 1, 0},
		{"P=2", drv, 2, 0},
		{"P=4 batch 3", drv, 4, 3},
		{"P=3 chopped deliveries", chopped{drv}, 3, 16},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := Rebuild(context.Background(), c.drv, RebuildOptions{Workers: c.workers, Target: target, Batch: c.batch})
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest != ref.Digest() || res.Events != 5000 || res.Keys != 97 || !res.Complete {
				t.Fatalf("got %+v, want digest %s over 5000 events, 97 keys", res, ref.Digest())
			}
		})
	}
}

// swapped hands two events of one key over in the wrong order: the
// negative control of the test above.
type swapped struct{ *memory.Driver }

func (s swapped) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	return s.Driver.Subscribe(ctx, from, func(b []drivers.Delivered) error {
		for i := range b {
			for j := i + 1; j < len(b); j++ {
				if b[i].Key == b[j].Key && b[i].Position.Offset == 10 {
					b[i].Event, b[j].Event = b[j].Event, b[i].Event
					break
				}
			}
		}
		return deliver(b)
	})
}

func TestRebuildDigestCatchesReorder(t *testing.T) {
	drv, ref := storeWith(t, 2000, 20)
	res, err := Rebuild(context.Background(), swapped{drv}, RebuildOptions{Workers: 2, Target: head(t, drv)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest == ref.Digest() {
		t.Fatal("a reordered pair of events went unnoticed")
	}
}

// TestRebuildFromSnapshotEqualsFull: restoring a snapshot taken part-way
// and folding only the tail gives the full fold's digest, at every P,
// reading only the tail.
func TestRebuildFromSnapshotEqualsFull(t *testing.T) {
	drv, ref := storeWith(t, 4000, 50)
	target := head(t, drv)
	// The live side: fold the first 1500 events, snapshot at that position.
	live := New(0)
	half := drivers.Cursor{0: 1500}
	ctx, cancel := context.WithCancel(context.Background())
	_ = drv.Subscribe(ctx, nil, func(b []drivers.Delivered) error {
		for _, d := range b {
			if d.Position.Offset >= 1500 {
				cancel()
				return errors.New("done")
			}
			live.Apply(d.Key, d.Seq, d.Type, d.Payload)
		}
		return nil
	})
	cancel()
	snap := live.Snapshot(half)
	for _, p := range []int{1, 2, 3} {
		res, err := Rebuild(context.Background(), drv, RebuildOptions{Workers: p, Target: target, Snapshot: snap})
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != ref.Digest() {
			t.Fatalf("P=%d: snapshot+tail digest %s, full %s", p, res.Digest, ref.Digest())
		}
		if res.Events != 2500 || res.Restored != 1500 || !res.FromSnapshot {
			t.Fatalf("P=%d: read %d events, restored %d: want the 2500 of the tail and 1500 restored", p, res.Events, res.Restored)
		}
	}
}

// broken fails every subscription: the rebuild must retry, then give up
// at ctx's end with an error saying how far it got.
type broken struct{ *memory.Driver }

func (broken) Subscribe(context.Context, drivers.Cursor, func([]drivers.Delivered) error) error {
	return errors.New("connection refused")
}

func TestRebuildIncompleteIsAnError(t *testing.T) {
	drv, _ := storeWith(t, 100, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	var errs int
	res, err := Rebuild(ctx, broken{drv}, RebuildOptions{Workers: 2, Target: head(t, drv), Retry: 20 * time.Millisecond,
		OnError: func(error) { errs++ }})
	if err == nil || res.Complete || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err %v, complete %v: want an incomplete rebuild naming the cause", err, res.Complete)
	}
	if errs < 2 {
		t.Fatalf("%d subscription errors reported: want retries", errs)
	}
}

// TestRebuildStopsAtTarget: events after the target (appended after the
// live model stopped) are not folded.
func TestRebuildStopsAtTarget(t *testing.T) {
	drv, _ := storeWith(t, 1000, 10)
	res, err := Rebuild(context.Background(), drv, RebuildOptions{Workers: 2, Target: drivers.Cursor{0: 600}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 600 {
		t.Fatalf("folded %d events, want the 600 before the target", res.Events)
	}
}
