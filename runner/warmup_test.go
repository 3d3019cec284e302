package runner

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers/memory"
	"github.com/evbench/evbench/live"
)

// TestWarmupIsReportedApart: a store that stalls for 600 ms inside the
// 2 s warm-up must leave the run's commit percentiles untouched (the stall
// is only in the warm-up's), while every acked event is still counted and
// delivered. Without the split the run's max would be ~600 ms.
func TestWarmupIsReportedApart(t *testing.T) {
	registerStall(t)
	stallStore = &stallDriver{Driver: memory.New(), start: time.Now(), stallAt: 500 * time.Millisecond, stall: 600 * time.Millisecond}
	sc := mustParse(t, `
name: warmup-test
events: {size: {min: 100, max: 200}, keys: {count: 100}}
load: {start: 500, duration: 5s, warmup: 2s, max_in_flight: 1}
consumers: {projectors: 1}
`)
	stallStore.start = time.Now()
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "stall-test", DSN: "stall://"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !stallStore.didStall {
		t.Fatal("the stub never stalled")
	}
	w := res.Warmup
	if w == nil {
		t.Fatal("result has no warmup section")
	}
	if w.Seconds != 2 {
		t.Errorf("warmup.seconds = %v, want 2", w.Seconds)
	}
	if w.Commit.Max < 500 {
		t.Errorf("warm-up commit max = %.1f ms, want the ~600 ms stall", w.Commit.Max)
	}
	if res.Commit.Max >= 500 {
		t.Errorf("run commit max = %.1f ms: the warm-up's stall leaked into the run's percentiles", res.Commit.Max)
	}
	if got := w.Commit.Count + res.Commit.Count; got != res.Events.Acked {
		t.Errorf("warm-up %d + run %d commit samples = %d, want every acked event (%d) in exactly one", w.Commit.Count, res.Commit.Count, got, res.Events.Acked)
	}
	if w.Acked <= 0 || w.Acked >= res.Events.Acked {
		t.Errorf("warmup.acked = %d of %d", w.Acked, res.Events.Acked)
	}
	if res.OfferedRate < 450 || res.OfferedRate > 550 || w.OfferedRate < 450 || w.OfferedRate > 550 {
		t.Errorf("offered rates run %.0f warm-up %.0f, want ~500 each", res.OfferedRate, w.OfferedRate)
	}
	if res.Delivery.Lost != 0 || !res.Passed {
		t.Errorf("lost %d passed %v: the warm-up's events are still checked", res.Delivery.Lost, res.Passed)
	}
}

// TestLiveSnapshots: the Live sink gets about one snapshot a second in
// the load, then drain and done, with counters that never go back and
// histograms that agree with the counts.
func TestLiveSnapshots(t *testing.T) {
	sc := mustParse(t, `
name: live-test
events: {size: {min: 100, max: 200}, keys: {count: 100}}
load: {start: 300, duration: 4s, warmup: 2s}
consumers: {projectors: 2}
faults: []
`)
	var mu sync.Mutex
	var snaps []live.Snapshot
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "memory",
		Live: live.SinkFunc(func(s live.Snapshot) { mu.Lock(); snaps = append(snaps, s); mu.Unlock() })})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(snaps) < 4 {
		t.Fatalf("%d snapshots, want >= 4 (4 s of load, drain, done)", len(snaps))
	}
	order := map[string]int{live.PhaseWarmup: 0, live.PhaseLoad: 1, live.PhaseDrain: 2, live.PhaseRebuild: 3, live.PhaseDone: 4}
	seen := map[string]bool{}
	for i, s := range snaps {
		seen[s.Phase] = true
		if s.Scenario != "live-test" || s.Driver != "memory" || s.Total != 4*time.Second {
			t.Fatalf("snapshot %d run info %q %q %v", i, s.Scenario, s.Driver, s.Total)
		}
		if i == 0 {
			continue
		}
		p := snaps[i-1]
		if order[s.Phase] < order[p.Phase] {
			t.Errorf("phase went back from %s to %s", p.Phase, s.Phase)
		}
		if s.Acked < p.Acked || s.Delivered < p.Delivered || s.Elapsed < p.Elapsed {
			t.Errorf("snapshot %d went back: acked %d->%d delivered %d->%d", i, p.Acked, s.Acked, p.Delivered, s.Delivered)
		}
	}
	for _, ph := range []string{live.PhaseWarmup, live.PhaseLoad, live.PhaseDone} {
		if !seen[ph] {
			t.Errorf("no snapshot in phase %s (saw %v)", ph, seen)
		}
	}
	last := snaps[len(snaps)-1]
	if last.Phase != live.PhaseDone || last.Acked != res.Events.Acked {
		t.Errorf("last snapshot phase %s acked %d, want done and %d", last.Phase, last.Acked, res.Events.Acked)
	}
	if last.Delivered != 2*res.Events.Acked {
		t.Errorf("delivered %d, want 2 projectors x %d", last.Delivered, res.Events.Acked)
	}
	h, ok := last.Histograms["commit"]
	if !ok || int64(h.Count) != res.Commit.Count {
		t.Fatalf("commit histogram count %d, want the run's %d (warm-up excluded)", h.Count, res.Commit.Count)
	}
	if top := h.Counts[len(h.Counts)-1]; top != h.Count {
		t.Errorf("cumulative count at the top bound %d != total %d", top, h.Count)
	}
	for i := 1; i < len(h.Counts); i++ {
		if h.Counts[i] < h.Counts[i-1] {
			t.Errorf("cumulative counts not monotonic at %d: %v", i, h.Counts)
		}
	}
	var mid *live.Snapshot
	for i := range snaps {
		if snaps[i].Phase == live.PhaseLoad {
			mid = &snaps[i]
		}
	}
	if mid == nil || mid.AchievedRate < 150 || mid.OfferedRate < 250 || mid.OfferedRate > 350 || mid.CommitP99 <= 0 {
		t.Errorf("mid-load snapshot rates/latency look wrong: %+v", mid)
	}
}
