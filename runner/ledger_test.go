package runner

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// refEvent is the per-event reference the bounded ledger must agree with:
// one state per event, per projector how often it arrived and whether it
// first arrived after a later event of its key.
type refEvent struct {
	key     int
	seq     uint64
	acked   bool
	retried bool // acknowledged after a retry
	seen    []int
	late    []bool
}

// refCheck classifies per event, over the projectors in ps (all of them
// for the whole-run verdict, one for a projector's own).
func refCheck(evs []refEvent, ps ...int) verdict {
	var v verdict
	for _, e := range evs {
		any, every, dup, late := false, true, false, false
		for _, p := range ps {
			any = any || e.seen[p] > 0
			every = every && e.seen[p] > 0
			dup = dup || e.seen[p] > 1
			late = late || e.late[p]
		}
		if every {
			v.delivered++
		}
		if dup {
			v.duplicated++
		}
		if !e.acked {
			v.ambiguous++
			if any {
				v.unexpected++
			}
			continue
		}
		if !every {
			v.lost++
		}
		if late && e.retried {
			v.retryReordered++
		} else if late {
			v.reordered++
		}
	}
	return v
}

func single(kd func(k int) *keyDelivery) []func(k int) *keyDelivery {
	return []func(k int) *keyDelivery{kd}
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
	v, each := l.check(single(func(k int) *keyDelivery {
		if k == 0 {
			return &kd
		}
		return nil
	}))
	want := verdict{lost: 3, duplicated: 1, unexpected: 1, ambiguous: 2, delivered: 4}
	if v != want || each[0] != want || reorders != 0 || dups != 1 {
		t.Fatalf("verdict %+v / %+v (reorders %d), want %+v", v, each[0], reorders, want)
	}
	if !l.ours(ptr(l.eventID(0, 4))) || l.ours(ptr(newLedger([8]byte{2}, 1).eventID(0, 4))) {
		t.Fatal("ours() does not tell this run's events from another's")
	}
}

// Counts are per event, not summed over projectors: one event lost by both
// of two projectors is lost once; one lost by one of them is lost too.
func TestLedgerCountsEventsNotProjectorSums(t *testing.T) {
	l := newLedger([8]byte{1}, 1)
	l.sent[0] = 4
	var a, b keyDelivery
	for _, s := range []uint64{1, 2, 4} { // 3 lost in both
		a.see(s)
		b.see(s)
	}
	all, each := l.check([]func(int) *keyDelivery{func(int) *keyDelivery { return &a }, func(int) *keyDelivery { return &b }})
	if all.lost != 1 || each[0].lost != 1 || each[1].lost != 1 || all.delivered != 3 {
		t.Fatalf("all %+v each %+v: want 1 event lost", all, each)
	}
	var c keyDelivery
	for _, s := range []uint64{1, 2, 3, 4, 4} { // c got everything, 4 twice
		c.see(s)
	}
	all, _ = l.check([]func(int) *keyDelivery{func(int) *keyDelivery { return &a }, func(int) *keyDelivery { return &c }})
	if all.lost != 1 || all.delivered != 3 || all.duplicated != 1 {
		t.Fatalf("lost by one projector of two: %+v", all)
	}
}

// IDs carry key and sequence, so the projector can check them.
func TestEventIDRoundTrip(t *testing.T) {
	l := newLedger([8]byte{1, 2, 3, 4, 5, 6, 7, 8}, 1)
	for _, c := range []struct {
		key int32
		seq uint64
	}{{0, 1}, {7, 1 << 39}, {1<<31 - 1, idFieldMax}} {
		id := l.eventID(c.key, c.seq)
		k, s := decodeID(&id)
		if k != uint64(c.key) || s != c.seq || !l.ours(&id) {
			t.Fatalf("eventID(%d, %d) decodes to %d, %d", c.key, c.seq, k, s)
		}
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
// faulty store seen by three projectors: it loses, duplicates, reorders,
// lands some failed appends, and the client retried some appends. This is
// the checker shown to fire on every fault it exists for.
func TestLedgerMatchesPerEventReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const keys, events, projectors = 500, 200_000, 3
	l := newLedger([8]byte{9}, keys)
	var evs []refEvent
	byKey := make([][]int, keys)
	for n := 0; n < events; {
		k := rng.IntN(keys)
		batch := 1 + rng.IntN(4)
		first := l.sent[k] + 1
		acked := rng.IntN(50) != 0
		retried := acked && rng.IntN(30) == 0
		for i := 0; i < batch; i++ {
			byKey[k] = append(byKey[k], len(evs))
			evs = append(evs, refEvent{key: k, seq: first + uint64(i), acked: acked, retried: retried,
				seen: make([]int, projectors), late: make([]bool, projectors)})
		}
		l.sent[k] += uint64(batch)
		if !acked {
			l.fail(int32(k), first, batch)
		}
		if retried {
			l.retriedOK(int32(k), first, batch)
		}
		n += batch
	}
	// The store: per key, land half of the failed appends, drop 1%; each
	// projector then sees its own duplicates (1%) and swaps (1%).
	seen := make([][]*keyDelivery, projectors)
	for p := range seen {
		seen[p] = make([]*keyDelivery, keys)
	}
	for k := 0; k < keys; k++ {
		var stored []int
		for _, i := range byKey[k] {
			if !evs[i].acked && rng.IntN(2) == 0 {
				continue
			}
			if rng.IntN(100) == 0 {
				continue // lost by the store: every projector misses it
			}
			stored = append(stored, i)
		}
		for p := 0; p < projectors; p++ {
			var order []int
			for _, i := range stored {
				if rng.IntN(300) == 0 {
					continue // lost on this projector's path only
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
			var hi uint64
			for _, i := range order {
				e := &evs[i]
				if e.seen[p] == 0 && e.seq < hi {
					e.late[p] = true
				}
				hi = max(hi, e.seq)
				e.seen[p]++
				kd.see(e.seq)
			}
			seen[p][k] = kd
		}
	}
	views := make([]func(int) *keyDelivery, projectors)
	for p := range views {
		views[p] = func(k int) *keyDelivery { return seen[p][k] }
	}
	all, each := l.check(views)
	want := refCheck(evs, 0, 1, 2)
	if all != want {
		t.Fatalf("ledger %+v\nreference %+v", all, want)
	}
	for p := range each {
		if w := refCheck(evs, p); each[p] != w {
			t.Fatalf("projector %d: ledger %+v\nreference %+v", p, each[p], w)
		}
	}
	if want.lost == 0 || want.duplicated == 0 || want.unexpected == 0 || want.reordered == 0 || want.retryReordered == 0 {
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
		v, _ := l.check(single(func(k int) *keyDelivery { return &seen[k] }))
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

func TestSubtractRanges(t *testing.T) {
	got := subtract([]seqRange{{1, 10}, {20, 30}}, []seqRange{{3, 4}, {8, 22}, {30, 40}})
	want := []seqRange{{1, 2}, {5, 7}, {23, 29}}
	if len(got) != len(want) {
		t.Fatalf("got %v want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
}
