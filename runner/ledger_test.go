package runner

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// refVerdict is the per-event reference the bounded ledger must agree with:
// one state per event, one delivery count per event.
type refEvent struct {
	key   int
	seq   uint64
	acked bool
	seen  int
}

func refCheck(evs []refEvent) verdict {
	var v verdict
	for _, e := range evs {
		if e.seen > 0 {
			v.delivered++
		}
		if e.seen > 1 {
			v.duplicated += int64(e.seen - 1)
		}
		if !e.acked {
			v.ambiguous++
			if e.seen > 0 {
				v.unexpected++
			}
		} else if e.seen == 0 {
			v.lost++
		}
	}
	return v
}

func TestLedgerVerdict(t *testing.T) {
	// key 0: seqs 1..6; 4 and 5 failed; projector sees 1 2 2 4 6 (3 lost,
	// 2 duplicated, 4 a failed append that landed, 5 failed and absent).
	l := newLedger([8]byte{1}, 3)
	l.sent[0] = 6
	l.fail(0, 4, 2)
	l.sent[1] = 2 // key 1: never delivered at all: 2 lost
	var kd keyDelivery
	var dups, reorders int
	for _, s := range []uint64{1, 2, 2, 4, 6} {
		switch kd.see(s) {
		case deliveredAgain:
			dups++
		case deliveredReordered:
			reorders++
		}
	}
	v := l.check(func(k int) *keyDelivery {
		if k == 0 {
			return &kd
		}
		return nil
	})
	v.duplicated = int64(dups)
	want := verdict{lost: 3, duplicated: 1, unexpected: 1, ambiguous: 2, delivered: 4}
	if v != want || reorders != 0 {
		t.Fatalf("verdict %+v (reorders %d), want %+v", v, reorders, want)
	}
	if !l.ours(ptr(l.eventID(4))) || l.ours(ptr(newLedger([8]byte{2}, 1).eventID(4))) {
		t.Fatal("ours() does not tell this run's events from another's")
	}
}

func ptr(id [16]byte) *[16]byte { return &id }

func TestKeyDeliveryReorder(t *testing.T) {
	tests := []struct {
		name      string
		seqs      []uint64
		reordered int
		dups      int
		holes     int
	}{
		{"in order", []uint64{1, 2, 3, 4}, 0, 0, 0},
		{"swap", []uint64{1, 3, 2, 4}, 1, 0, 0},
		{"late fill splits a hole", []uint64{1, 6, 3, 2, 5, 4}, 4, 0, 0},
		{"gap stays", []uint64{1, 2, 5}, 0, 0, 1},
		{"duplicate after reorder", []uint64{2, 1, 1, 2}, 1, 2, 0},
		{"redelivery of a prefix", []uint64{1, 2, 3, 1, 2, 3}, 0, 3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var kd keyDelivery
			var re, du int
			for _, s := range tc.seqs {
				switch kd.see(s) {
				case deliveredReordered:
					re++
				case deliveredAgain:
					du++
				}
			}
			if re != tc.reordered || du != tc.dups || len(kd.holes) != tc.holes {
				t.Fatalf("reordered %d dups %d holes %v, want %d %d %d", re, du, kd.holes, tc.reordered, tc.dups, tc.holes)
			}
		})
	}
}

// The bounded ledger classifies exactly as one state per event would, on a
// faulty store: it loses, duplicates, reorders, and lands some failed
// appends. This is the checker shown to fire on every fault it exists for.
func TestLedgerMatchesPerEventReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const keys, events = 500, 200_000
	l := newLedger([8]byte{9}, keys)
	var evs []refEvent
	byKey := make([][]int, keys)
	for n := 0; n < events; {
		k := rng.IntN(keys)
		batch := 1 + rng.IntN(4)
		first := l.sent[k] + 1
		acked := rng.IntN(50) != 0
		for i := 0; i < batch; i++ {
			byKey[k] = append(byKey[k], len(evs))
			evs = append(evs, refEvent{key: k, seq: first + uint64(i), acked: acked})
		}
		l.sent[k] += uint64(batch)
		if !acked {
			l.fail(int32(k), first, batch)
		}
		n += batch
	}
	// The store: per key, drop 1%, duplicate 1%, swap neighbours 1%, and
	// land half of the failed appends.
	seen := make([]*keyDelivery, keys)
	var dups int64
	for k := 0; k < keys; k++ {
		var order []int
		for _, i := range byKey[k] {
			e := &evs[i]
			if !e.acked && rng.IntN(2) == 0 {
				continue
			}
			if rng.IntN(100) == 0 {
				continue // lost
			}
			order = append(order, i)
			if rng.IntN(100) == 0 {
				order = append(order, i) // duplicated
			}
		}
		for i := 1; i < len(order); i++ {
			if rng.IntN(100) == 0 {
				order[i-1], order[i] = order[i], order[i-1]
			}
		}
		kd := &keyDelivery{}
		for _, i := range order {
			evs[i].seen++
			if kd.see(evs[i].seq) == deliveredAgain {
				dups++
			}
		}
		seen[k] = kd
	}
	got := l.check(func(k int) *keyDelivery { return seen[k] })
	got.duplicated = dups
	want := refCheck(evs)
	if got != want {
		t.Fatalf("ledger %+v\nreference %+v", got, want)
	}
	if want.lost == 0 || want.duplicated == 0 || want.unexpected == 0 {
		t.Fatalf("the fault model produced no faults: %+v", want)
	}
}

// BenchmarkKeyDeliverySee is the projector's per-event delivery cost.
func BenchmarkKeyDeliverySee(b *testing.B) {
	kds := make([]keyDelivery, 100_000)
	rng := rand.New(rand.NewPCG(1, 1))
	for b.Loop() {
		kd := &kds[rng.IntN(len(kds))]
		kd.see(kd.hi + 1)
	}
}

// The delivery state depends on keys, not events: verifying four times as
// many events over the same keys takes no more memory.
func TestLedgerMemoryBoundedByKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates and loops over millions of events")
	}
	const keys = 100_000
	heapAfter := func(events int) (uint64, verdict) {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		l := newLedger([8]byte{3}, keys)
		seen := make([]keyDelivery, keys)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < events; i++ {
			k := rng.IntN(keys)
			l.sent[k]++
			seen[k].see(l.sent[k])
		}
		v := l.check(func(k int) *keyDelivery { return &seen[k] })
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(seen)
		runtime.KeepAlive(l)
		return after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc), v
	}
	small, v1 := heapAfter(1_000_000)
	large, v4 := heapAfter(4_000_000)
	if v1.delivered != 1_000_000 || v4.delivered != 4_000_000 || v4.lost != 0 {
		t.Fatalf("verdicts %+v / %+v", v1, v4)
	}
	if large > small+1<<20 || large > 16<<20 {
		t.Fatalf("heap for 1M events %d B, for 4M events %d B: state grows with events", small, large)
	}
	t.Logf("delivery state: %d B for 1M events, %d B for 4M events over %d keys", small, large, keys)
}

func TestCheckCapacityRefusesHugeKeySpaces(t *testing.T) {
	sc := mustParse(t, `
name: huge
events: {keys: {count: 100000000}}
load: {start: 10, duration: 1s}
consumers: {projectors: 4}
`)
	err := CheckCapacity(sc)
	if err == nil || !strings.Contains(err.Error(), "events.keys.count 100000000") || !strings.Contains(err.Error(), "4 GiB limit") {
		t.Fatalf("CheckCapacity: %v", err)
	}
	sc.Events.Keys.Count = 100_000
	if err := CheckCapacity(sc); err != nil {
		t.Fatalf("100k keys refused: %v", err)
	}
}
