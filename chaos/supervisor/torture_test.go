package supervisor

import (
	"context"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/chaos/faultfs"
	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// TestPowerLossTortureThroughFUSE cuts the power of a managed refstore
// (sync=always) on the fault filesystem 20 times at random moments while
// pipelined appends are in flight, a torn last write every other time, and
// checks after each restart that every acknowledged event is there. The
// in-process torture (`evbench refstore torture --power-loss`) does this
// 1,000 times on the engine's file layer; this is the same through the
// real kernel, FUSE and a real process kill. With sync=none the same
// cycles must lose acknowledged events: the check can fail.
func TestPowerLossTortureThroughFUSE(t *testing.T) {
	if err := faultfs.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs FUSE: %v", err)
		}
		t.Skipf("no fault filesystem here: %v", err)
	}
	for _, tc := range []struct {
		sync     string
		cycles   int
		mustLose bool
	}{{"always", 20, false}, {"none", 5, true}} {
		t.Run("sync="+tc.sync, func(t *testing.T) {
			spec := testSpec(t, "refstore", map[string]string{"sync": tc.sync})
			spec.FaultFS = true
			s := start(t, spec)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
			acked := map[[16]byte]bool{}
			var lost int
			next := 0
			for cycle := 0; cycle < tc.cycles; cycle++ {
				d := open(t, s)
				a, ok := d.(drivers.AsyncAppender)
				if !ok {
					t.Fatal("refstore driver is not asynchronous")
				}
				evs := drivertest.Events(4000, 16)
				for i := range evs {
					evs[i].ID[0], evs[i].ID[1] = byte(next>>8), byte(next) // unique over cycles
					evs[i].Seq += uint64(next) * 4000
				}
				next++
				var mu sync.Mutex
				var wg sync.WaitGroup
				stop := make(chan struct{})
				wg.Add(1)
				go func() { // pipelined appends until the cut
					defer wg.Done()
					for i := range evs {
						select {
						case <-stop:
							return
						default:
						}
						e := evs[i]
						wg.Add(1)
						a.AppendAsync(ctx, []drivers.Event{e}, func(_ []drivers.Position, err error) {
							defer wg.Done()
							if err == nil {
								mu.Lock()
								acked[e.ID] = true
								mu.Unlock()
							}
						})
						if i%64 == 0 {
							time.Sleep(time.Millisecond)
						}
					}
				}()
				time.Sleep(time.Duration(20+rng.IntN(200)) * time.Millisecond)
				if _, err := s.PowerLoss(ctx, cycle%2 == 1); err != nil {
					t.Fatalf("cycle %d: PowerLoss: %v", cycle, err)
				}
				close(stop)
				wg.Wait()
				d.Close()
				if err := s.Start(ctx); err != nil {
					t.Fatalf("cycle %d: start after the cut: %v", cycle, err)
				}
				d = open(t, s)
				h, err := d.Head(ctx)
				if err != nil {
					t.Fatalf("cycle %d: head: %v", cycle, err)
				}
				got := map[[16]byte]bool{}
				if h.Total() > 0 {
					got = readAllIDs(t, d, int(h.Total()))
				}
				d.Close()
				mu.Lock()
				for id := range acked {
					if !got[id] {
						lost++
						delete(acked, id) // counted once
					}
				}
				mu.Unlock()
				if !tc.mustLose && lost > 0 {
					t.Fatalf("cycle %d: %d acknowledged event(s) lost on sync=always", cycle, lost)
				}
			}
			t.Logf("sync=%s: %d power cuts, %d acknowledged events, %d lost", tc.sync, tc.cycles, len(acked)+lost, lost)
			if tc.mustLose && lost == 0 {
				t.Fatalf("sync=none lost nothing in %d power cuts: the check cannot fail", tc.cycles)
			}
		})
	}
}
