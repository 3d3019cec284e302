package runner

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/reports/measure"
)

const rebuildModesScenario = `
name: rebuild-modes-test
events: {size: {min: 100, max: 300}, keys: {count: 40}, batch: 5}
load: {start: 1500, duration: 2s}
consumers:
  projectors: 1
  rebuild: end
  projection_cost: 5us
  rebuild_workers: [1, 2]
  snapshot: {at: 50%}
gates: ["rebuild.digest_ok == 1"]
`

// TestRebuildModesOnMemory: every mode runs at every P, each rebuilt read
// model's digest equals the live one's, the snapshot rebuild reads only
// the tail, and the result carries the speed-ups (not asserted: timing is
// for docs, not tests).
func TestRebuildModesOnMemory(t *testing.T) {
	sc := mustParse(t, rebuildModesScenario)
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "memory"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	rb := res.Rebuilds
	if rb == nil {
		t.Fatal("no rebuilds in the result")
	}
	if !res.Passed || !rb.DigestOK || rb.LiveDigest == "" {
		t.Fatalf("passed %v, digest_ok %v, reason %q, gates %+v, delivery %+v", res.Passed, rb.DigestOK, res.Reason, res.Gates, res.Delivery)
	}
	if rb.LiveEvents != res.Events.Acked || rb.Keys == 0 {
		t.Fatalf("live read model folded %d events over %d keys, acked %d", rb.LiveEvents, rb.Keys, res.Events.Acked)
	}
	if s := rb.Snapshot; s == nil || s.Events <= 0 || s.Events >= rb.LiveEvents || strings.Contains(s.Trigger, "end") {
		t.Fatalf("snapshot %+v: want one taken part-way through %d events", s, rb.LiveEvents)
	}
	var got []string
	for _, run := range rb.Runs {
		got = append(got, fmt.Sprintf("%s/%d", run.Mode, run.Workers))
		if !run.DigestOK || run.Digest != rb.LiveDigest {
			t.Errorf("%s/%d: digest %s, live %s", run.Mode, run.Workers, run.Digest, rb.LiveDigest)
		}
		want := rb.LiveEvents
		if run.Mode == measure.RebuildModeSnapshot {
			want = rb.LiveEvents - rb.Snapshot.Events
			if run.RestoredEvents != rb.Snapshot.Events {
				t.Errorf("snapshot/%d restored %d events, the snapshot holds %d", run.Workers, run.RestoredEvents, rb.Snapshot.Events)
			}
		}
		if run.Events != want {
			t.Errorf("%s/%d read %d events, want %d", run.Mode, run.Workers, run.Events, want)
		}
	}
	if strings.Join(got, " ") != "full/1 full/2 snapshot/1 snapshot/2" {
		t.Fatalf("ran %v, want every mode at every P", got)
	}
	if rb.Speedup <= 0 || rb.SnapshotSpeedup <= 0 || len(rb.SpeedupWorkers) != 2 {
		t.Fatalf("speedup %v (workers %v), snapshot speedup %v: want both measured", rb.Speedup, rb.SpeedupWorkers, rb.SnapshotSpeedup)
	}
	m := measure.Metrics(res)
	if m["rebuild.digest_ok"] != 1 || m["rebuild.speedup"] != rb.Speedup || m["rebuild.snapshot_speedup"] != rb.SnapshotSpeedup {
		t.Fatalf("metrics %v %v %v", m["rebuild.digest_ok"], m["rebuild.speedup"], m["rebuild.snapshot_speedup"])
	}
	if res.Rebuild == nil || !res.Rebuild.Complete {
		t.Fatalf("the plain rebuild field must stay: %+v", res.Rebuild)
	}
}

// dropOnRebuild is a memory connection that loses the event at offset
// dropAt on every subscription after the first (the projector's): the
// rebuild reads a store that no longer replays what it delivered live.
type dropOnRebuild struct {
	drivers.Driver
	subs   atomic.Int64
	dropAt int64
}

func (d *dropOnRebuild) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	if d.subs.Add(1) == 1 {
		return d.Driver.Subscribe(ctx, from, deliver)
	}
	return d.Driver.Subscribe(ctx, from, func(b []drivers.Delivered) error {
		kept := make([]drivers.Delivered, 0, len(b))
		for _, e := range b {
			if e.Position.Offset != d.dropAt {
				kept = append(kept, e)
			}
		}
		return deliver(kept)
	})
}

var registerDropOnce sync.Once

// registerDropOnRebuild registers "rebuild-drop-test": a named memory store
// whose consumer connection drops one event on rebuild reads.
func registerDropOnRebuild(t *testing.T) {
	registerDropOnce.Do(func() {
		mem, err := drivers.Lookup("memory")
		if err != nil {
			t.Fatal(err)
		}
		drivers.Register(drivers.Registration{
			Name: "rebuild-drop-test", Description: "test stub", DSNExample: "memory://NAME", InProcess: true,
			Open: func(ctx context.Context, dsn string, o drivers.Options) (drivers.Driver, error) {
				d, err := mem.Open(ctx, dsn, o)
				if err != nil || o.Role != "consumer" {
					return d, err
				}
				return &dropOnRebuild{Driver: d, dropAt: 5}, nil
			},
		})
	})
}

// TestRebuildModesDigestMismatchFailsRun is the checker's negative
// control: one event missing from the rebuild reads makes the full
// rebuilds' digests differ, digest_ok false, the gate on it fail and the
// run fail with a reason saying so; the snapshot rebuilds, which never
// read that event, still match.
func TestRebuildModesDigestMismatchFailsRun(t *testing.T) {
	registerDropOnRebuild(t)
	sc := mustParse(t, rebuildModesScenario)
	dsn := fmt.Sprintf("memory://rebuild-drop-%d", time.Now().UnixNano())
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "rebuild-drop-test", DSN: dsn})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	rb := res.Rebuilds
	if rb == nil || rb.DigestOK {
		t.Fatalf("rebuilds %+v: want digest_ok false", rb)
	}
	if res.Passed || !strings.Contains(res.Reason, "rebuild is not deterministic") {
		t.Fatalf("passed %v, reason %q: want a failed run naming the digest mismatch", res.Passed, res.Reason)
	}
	if !res.Delivery.OK {
		t.Fatalf("the live projector saw every event; delivery must pass: %+v", res.Delivery.Failures)
	}
	for _, run := range rb.Runs {
		if want := run.Mode == measure.RebuildModeSnapshot; run.DigestOK != want {
			t.Errorf("%s/%d digest_ok %v, want %v", run.Mode, run.Workers, run.DigestOK, want)
		}
	}
	if len(res.Gates) != 1 || res.Gates[0].Pass {
		t.Fatalf("gate rebuild.digest_ok == 1: %+v, want failing", res.Gates)
	}
}
