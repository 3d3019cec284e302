package drivertest

import (
	"bytes"
	"testing"

	"github.com/evbench/evbench/drivers"
)

// testAppendPositions: positions increase per partition within a batch and
// across sequential appends.
func testAppendPositions(t *testing.T, d drivers.Driver) {
	g := randomGen("pos")
	var all []drivers.Position
	for i := 0; i < 3; i++ {
		all = append(all, mustAppend(t, d, g.events(10, 3))...)
	}
	last := map[int32]int64{}
	seen := map[int32]bool{}
	for i, p := range all {
		if p.Offset < 0 {
			t.Fatalf("position %d: negative offset %d", i, p.Offset)
		}
		if seen[p.Partition] && p.Offset <= last[p.Partition] {
			t.Fatalf("position %d: partition %d offset %d not after %d (positions must grow in append order)",
				i, p.Partition, p.Offset, last[p.Partition])
		}
		seen[p.Partition], last[p.Partition] = true, p.Offset
	}
	one := mustAppend(t, d, g.events(1, 1))
	if len(seen) == 1 && seen[0] && one[0].Partition == 0 && one[0].Offset <= last[0] {
		t.Fatalf("single-partition store: next append got offset %d, not after %d", one[0].Offset, last[0])
	}
}

// testRoundTrip: an acknowledged event is readable with every field intact
// and at the position Append returned.
func testRoundTrip(t *testing.T, d drivers.Driver) {
	g := randomGen("rt")
	batch := g.events(20, 4)
	batch[0].Payload = []byte(`{}`)
	batch[1].Type = "Type.With-Punctuation_ü"
	batch[2].CreatedAt = 0
	pos := mustAppend(t, d, batch)
	at := map[[16]byte]drivers.Position{}
	want := map[[16]byte]drivers.Event{}
	for i, e := range batch {
		at[e.ID], want[e.ID] = pos[i], e
	}
	got := subscribe(t, d, nil).waitIDs(t, idSet(batch))
	checkExactlyOnce(t, idSet(batch), got)
	for _, g := range got {
		w, ok := want[g.ID]
		if !ok {
			continue
		}
		if g.Key != w.Key || g.Seq != w.Seq || g.Type != w.Type || g.CreatedAt != w.CreatedAt || !bytes.Equal(g.Payload, w.Payload) {
			t.Errorf("round trip of %x:\n got  key=%q seq=%d type=%q created=%d payload=%q\n want key=%q seq=%d type=%q created=%d payload=%q",
				g.ID, g.Key, g.Seq, g.Type, g.CreatedAt, g.Payload, w.Key, w.Seq, w.Type, w.CreatedAt, w.Payload)
		}
		if g.Position != at[g.ID] {
			t.Errorf("event %x delivered at %+v, Append returned %+v", g.ID, g.Position, at[g.ID])
		}
	}
}

// testFromStart: everything appended is delivered exactly once, in per-key
// and per-partition order.
func testFromStart(t *testing.T, d drivers.Driver) {
	g := randomGen("fs")
	var all []drivers.Event
	for i := 0; i < 10; i++ {
		b := g.events(20, 5)
		mustAppend(t, d, b)
		all = append(all, b...)
	}
	got := subscribe(t, d, nil).waitIDs(t, idSet(all))
	checkExactlyOnce(t, idSet(all), got)
	checkKeyOrder(t, got)
	checkPartitionOrder(t, got)
}

// testFromMiddle: a cursor advanced over the first half of the deliveries
// resumes with exactly the second half.
func testFromMiddle(t *testing.T, d drivers.Driver) {
	g := randomGen("mid")
	all := g.events(100, 4)
	for i := 0; i < len(all); i += 25 {
		mustAppend(t, d, all[i:i+25])
	}
	first := subscribe(t, d, nil)
	got := first.waitIDs(t, idSet(all))
	first.stop(t)
	if len(got) < len(all) {
		t.Fatalf("first subscription: %d deliveries, want %d", len(got), len(all))
	}
	cur := drivers.Cursor{}
	firstHalf := map[[16]byte]bool{}
	for _, dl := range got[:len(all)/2] {
		cur.Advance(dl.Position)
		firstHalf[dl.ID] = true
	}
	rest := map[[16]byte]bool{}
	for _, e := range all {
		if !firstHalf[e.ID] {
			rest[e.ID] = true
		}
	}
	second := subscribe(t, d, cur.Clone()).waitIDs(t, rest)
	for _, dl := range second {
		if firstHalf[dl.ID] {
			t.Fatalf("resume from cursor %v re-delivered %x at %+v (already consumed)", cur, dl.ID, dl.Position)
		}
	}
	checkExactlyOnce(t, rest, second)
	checkKeyOrder(t, second)
}
