package runner

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/memory"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		in   string
		i, n int
		err  string
	}{
		{"0/3", 0, 3, ""}, {"2/3", 2, 3, ""}, {"0/1", 0, 1, ""},
		{"3/3", 0, 0, "index must be 0 to 2"}, {"0/0", 0, 0, "N must be"}, {"-1/3", 0, 0, "index must be"},
		{"1", 0, 0, "want i/N"}, {"a/b", 0, 0, "want i/N"}, {"", 0, 0, "want i/N"},
	} {
		i, n, err := ParseShard(c.in)
		if c.err == "" {
			if err != nil || i != c.i || n != c.n {
				t.Errorf("ParseShard(%q) = %d, %d, %v; want %d, %d", c.in, i, n, err, c.i, c.n)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseShard(%q) error %v; want one line containing %q", c.in, err, c.err)
		}
	}
}

func TestCheckShard(t *testing.T) {
	now := time.Now()
	sc := &scenarios.Scenario{Name: "s"}
	sc.Events.Keys.Count = 10
	ok := Shard{Index: 1, Count: 3, RunID: "r1", Barrier: true, BarrierTimeout: time.Second}
	for _, c := range []struct {
		name string
		edit func(*Shard)
		err  string
	}{
		{"barrier", func(*Shard) {}, ""},
		{"start-at", func(s *Shard) { s.Barrier, s.StartAt = false, now.Add(time.Minute) }, ""},
		{"both", func(s *Shard) { s.StartAt = now.Add(time.Minute) }, "exclude each other"},
		{"neither", func(s *Shard) { s.Barrier = false }, "needs a common start"},
		{"lead", func(s *Shard) { s.Lead = 3 }, "--lead 3"},
		{"past", func(s *Shard) { s.Barrier, s.StartAt = false, now.Add(-2*time.Second) }, "in the past"},
		{"far", func(s *Shard) { s.Barrier, s.StartAt = false, now.Add(25*time.Hour) }, "24 h ahead"},
		{"run id", func(s *Shard) { s.RunID = "a b" }, "--run-id"},
		{"keys", func(s *Shard) { s.Count, s.Index = 11, 0 }, "events.keys.count 10"},
	} {
		sh := ok
		c.edit(&sh)
		err := CheckShard(&sh, sc, now)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: CheckShard = %v; want %q", c.name, err, c.err)
		}
	}
}

// TestShardLedgerKeysAndIDs checks that shards map their local keys onto
// disjoint global keys covering all of them, and that each shard knows its
// own IDs from the other shards' by the common prefix.
func TestShardLedgerKeysAndIDs(t *testing.T) {
	const n, keys = 3, 10
	start := time.Now()
	owner := map[string]int{}
	var ledgers []*ledger
	for i := 0; i < n; i++ {
		r := &run{shard: &shardRun{cfg: Shard{Index: i, Count: n, RunID: "run-x"}, start: start}}
		l := r.newRunLedger(scenarios.ShardKeys(keys, i, n))
		ledgers = append(ledgers, l)
		for k := range l.sent {
			name := l.keyName(k)
			if o, dup := owner[name]; dup {
				t.Fatalf("key %s belongs to shards %d and %d", name, o, i)
			}
			owner[name] = i
		}
	}
	if len(owner) != keys {
		t.Fatalf("the shards own %d keys, want %d", len(owner), keys)
	}
	a, b := ledgers[0].eventID(0, 1), ledgers[1].eventID(0, 1)
	if a == b {
		t.Fatal("shards 0 and 1 give key 0's first event the same ID")
	}
	if !ledgers[0].ours(&a) || ledgers[0].ours(&b) || !ledgers[0].otherShard(&b) {
		t.Errorf("shard 0: ours(own)=%v ours(shard 1's)=%v otherShard(shard 1's)=%v; want true, false, true",
			ledgers[0].ours(&a), ledgers[0].ours(&b), ledgers[0].otherShard(&b))
	}
	later := &run{shard: &shardRun{cfg: Shard{Index: 0, Count: n, RunID: "run-x"}, start: start.Add(time.Second)}}
	if c := later.newRunLedger(4).eventID(0, 1); c == a || ledgers[0].otherShard(&c) {
		t.Error("a later run with the same run ID reuses the event IDs of the first")
	}
}

// TestBarrier runs three shards' barriers against one store, the last
// starting late (after the others' first markers: it needs their answers),
// and checks they agree on one start; a missing shard times out naming how
// many it saw.
func TestBarrier(t *testing.T) {
	store := memory.New()
	var wg sync.WaitGroup
	starts := make([]time.Time, 3)
	errs := make([]error, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 2 {
				time.Sleep(300 * time.Millisecond)
			}
			sh := Shard{Index: i, Count: 3, RunID: "bar", Barrier: true, BarrierTimeout: 5 * time.Second, BarrierLead: time.Second}
			starts[i], _, errs[i] = runBarrier(context.Background(), store, sh, t.Logf)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	if !starts[0].Equal(starts[1]) || !starts[1].Equal(starts[2]) {
		t.Fatalf("the shards agreed on different starts: %v", starts)
	}
	if d := time.Until(starts[0]); d <= 0 || d > time.Second {
		t.Errorf("start %v from now; want within the 1 s lead", d)
	}

	sh := Shard{Index: 0, Count: 2, RunID: "alone", Barrier: true, BarrierTimeout: 300 * time.Millisecond, BarrierLead: time.Second}
	_, _, err := runBarrier(context.Background(), store, sh, t.Logf)
	if err == nil || !strings.Contains(err.Error(), "saw 1 of 2 shards") {
		t.Errorf("a lone shard's barrier: %v; want a timeout naming 1 of 2", err)
	}
}

// TestProjectorIgnoresOtherShards feeds a shard's projector its own event,
// another shard's and a barrier marker: only its own is applied, the others
// are counted apart and never misrouted.
func TestProjectorIgnoresOtherShards(t *testing.T) {
	start := time.Now()
	mk := func(i int) *ledger {
		r := &run{shard: &shardRun{cfg: Shard{Index: i, Count: 2, RunID: "p"}, start: start}}
		return r.newRunLedger(2)
	}
	mine, theirs := mk(0), mk(1)
	mine.sent[1] = 1
	p := newProjector(0, nil, drivers.Cursor{}, mine, nil, newErrorCounter(), newRunClock(start), nil)
	batch := []drivers.Delivered{
		{Event: drivers.Event{ID: mine.eventID(1, 1), Key: mine.keyName(1), Seq: 1}},
		{Event: drivers.Event{ID: theirs.eventID(1, 1), Key: theirs.keyName(1), Seq: 1}},
		{Event: drivers.Event{ID: [16]byte{9}, Key: barrierKeyPrefix + "p-1-5", Seq: 1, Type: barrierType}},
	}
	if err := p.apply(batch); err != nil {
		t.Fatal(err)
	}
	if mine.keyName(1) != "order-2" {
		t.Errorf("shard 0 of 2: local key 1 is %s, want order-2", mine.keyName(1))
	}
	if kd := p.seenKey(1); kd == nil || kd.hi != 1 {
		t.Errorf("the shard's own event was not applied: %+v", kd)
	}
	if p.foreign.Load() != 2 || p.otherShards.Load() != 1 || p.markers.Load() != 1 || p.misrouted.Load() != 0 {
		t.Errorf("foreign %d, other shards %d, markers %d, misrouted %d; want 2, 1, 1, 0",
			p.foreign.Load(), p.otherShards.Load(), p.markers.Load(), p.misrouted.Load())
	}
}

// TestNonLeadShardRecordsLeadFaults: a non-lead shard runs no faults,
// pauses or rebuild, yet its result lists the scenario's fault windows
// marked as the lead's, so the shards' timelines line up.
func TestNonLeadShardRecordsLeadFaults(t *testing.T) {
	sc := &scenarios.Scenario{Name: "s"}
	sc.Events.Keys.Count = 10
	sc.Consumers.Rebuild = "end"
	sc.Faults = []scenarios.Fault{{Kind: "latency", Path: "producer", At: scenarios.Duration(2 * time.Second), For: scenarios.Duration(time.Second)}}
	sc.Consumers.Pause = []scenarios.Pause{{At: scenarios.Duration(time.Second), For: scenarios.Duration(time.Second)}}
	for _, index := range []int{0, 1} {
		res := &measure.Result{}
		r := &run{cfg: Config{Shard: &Shard{Index: index, Count: 2, RunID: "f", Barrier: true}}, sc: sc}
		r.applyShard(res)
		if lead := index == 0; lead != (len(r.sc.Faults) == 1) || lead != (r.sc.Consumers.Rebuild == "end") {
			t.Fatalf("shard %d/2 (lead 0) runs faults %v, rebuild %q", index, r.sc.Faults, r.sc.Consumers.Rebuild)
		}
		if index == 0 {
			res.Faults = []measure.FaultWindow{{Kind: "latency", AtS: 2, ForS: 1}} // as the chaos timeline records it
		}
		r.shardResult(res)
		if len(res.Faults) != 1 || res.Faults[0].InjectedBy != "shard 0" || res.Faults[0].AtS != 2 || res.Faults[0].ForS != 1 {
			t.Errorf("shard %d: faults %+v; want the lead's window marked injected_by shard 0", index, res.Faults)
		}
		if index == 1 && (len(res.Series.Pauses) != 1 || res.Series.Pauses[0].StartS != 1) {
			t.Errorf("shard 1: pauses %+v; want the lead's pause at 1 s", res.Series.Pauses)
		}
		if res.Shard == nil || res.Shard.Keys != 5 || res.Shard.Lead != 0 {
			t.Errorf("shard %d: shard field %+v", index, res.Shard)
		}
	}
}
