package drivertest

import (
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/memory"
)

func TestMemoryConforms(t *testing.T) {
	Run(t, func(t *testing.T) drivers.Driver {
		d := memory.New()
		t.Cleanup(func() { d.Close() })
		return d
	})
}

// plain hides the memory driver's optional interfaces (AsyncAppender,
// Deduplicator) to check the suite's core paths do not depend on them.
type plain struct{ drivers.Driver }

func TestPlainDriverWithoutOptionalInterfaces(t *testing.T) {
	d := plain{memory.New()}
	if _, ok := drivers.Driver(d).(drivers.AsyncAppender); ok {
		t.Fatal("wrapper leaked AsyncAppender")
	}
	testFromStart(t, d)
	testCatchUpLive(t, plain{memory.New()})
}

func TestEventsDeterministicUniqueSeq(t *testing.T) {
	a, b := Events(50, 4), Events(50, 4)
	ids := map[[16]byte]bool{}
	seq := map[string]uint64{}
	for i := range a {
		if a[i].ID != b[i].ID || string(a[i].Payload) != string(b[i].Payload) || a[i].CreatedAt != b[i].CreatedAt {
			t.Fatalf("event %d differs between calls", i)
		}
		if ids[a[i].ID] {
			t.Fatalf("event %d: duplicate ID %x", i, a[i].ID)
		}
		ids[a[i].ID] = true
		seq[a[i].Key]++
		if a[i].Seq != seq[a[i].Key] {
			t.Fatalf("event %d key %s: seq %d, want %d", i, a[i].Key, a[i].Seq, seq[a[i].Key])
		}
	}
	if len(seq) != 4 {
		t.Fatalf("got %d keys, want 4", len(seq))
	}
}

func p(part int32, off int64) drivers.Position {
	return drivers.Position{Partition: part, Offset: off}
}

func TestContiguous(t *testing.T) {
	for _, tc := range []struct {
		pos  []drivers.Position
		want bool
	}{
		{[]drivers.Position{p(0, 3), p(0, 4), p(0, 5)}, true},
		{[]drivers.Position{p(0, 3), p(0, 5)}, false},
		{[]drivers.Position{p(1, 0), p(2, 7), p(1, 1)}, true},
		{[]drivers.Position{p(1, 0), p(1, 2), p(2, 0)}, false},
	} {
		if got := contiguous(tc.pos); got != tc.want {
			t.Errorf("contiguous(%v) = %v, want %v", tc.pos, got, tc.want)
		}
	}
}

func TestMissingIDs(t *testing.T) {
	ev := Events(3, 1)
	got := []drivers.Delivered{{Event: ev[0]}, {Event: ev[2]}}
	m := missingIDs(idSet(ev), got)
	if len(m) != 1 || m[0] != ev[1].ID {
		t.Fatalf("missingIDs = %x, want only %x", m, ev[1].ID)
	}
}
