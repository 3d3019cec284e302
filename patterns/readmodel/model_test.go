package readmodel

import (
	"fmt"
	"testing"
	"time"
)

type ev struct {
	key     string
	seq     uint64
	typ     string
	payload string
}

// history is three keys' events interleaved, each key in sequence order.
func history() []ev {
	var out []ev
	for seq := uint64(1); seq <= 4; seq++ {
		for _, k := range []string{"order-1", "order-2", "order-3"} {
			out = append(out, ev{k, seq, "OrderUpdated", fmt.Sprintf(`{"k":%q,"n":%d}`, k, seq)})
		}
	}
	return out
}

func fold(evs []ev) *Model {
	m := New(0)
	for _, e := range evs {
		m.Apply(e.key, e.seq, e.typ, []byte(e.payload))
	}
	return m
}

// TestDigestChangesOnAnyDeviation: a missing, extra, reordered or altered
// event changes the digest; a different interleaving of keys (the same
// per-key order, as partitions deliver it) does not.
func TestDigestChangesOnAnyDeviation(t *testing.T) {
	base := history()
	want := fold(base).Digest()
	edit := func(f func([]ev) []ev) []ev { return f(append([]ev(nil), base...)) }
	cases := []struct {
		name string
		evs  []ev
		same bool
	}{
		{"identical", edit(func(e []ev) []ev { return e }), true},
		{"keys interleaved differently", edit(func(e []ev) []ev {
			var byKey []ev
			for _, k := range []string{"order-3", "order-1", "order-2"} {
				for _, x := range e {
					if x.key == k {
						byKey = append(byKey, x)
					}
				}
			}
			return byKey
		}), true},
		{"missing event", edit(func(e []ev) []ev { return append(e[:4], e[5:]...) }), false},
		{"missing last event", edit(func(e []ev) []ev { return e[:len(e)-1] }), false},
		{"extra (duplicate) event", edit(func(e []ev) []ev { return append(e, e[len(e)-1]) }), false},
		{"reordered within a key", edit(func(e []ev) []ev { e[0], e[3] = e[3], e[0]; return e }), false},
		{"altered payload", edit(func(e []ev) []ev { e[5].payload += " "; return e }), false},
		{"altered type", edit(func(e []ev) []ev { e[5].typ = "OrderCancelled"; return e }), false},
		{"event under another key", edit(func(e []ev) []ev { e[5].key = "order-9"; return e }), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := fold(c.evs).Digest()
			if (got == want) != c.same {
				t.Fatalf("digest %s vs %s: same=%v, want same=%v", got, want, got == want, c.same)
			}
		})
	}
}

// TestDigestIndependentOfCost: the CPU cost changes how long a fold takes,
// never what it computes.
func TestDigestIndependentOfCost(t *testing.T) {
	m := New(50 * time.Microsecond)
	for _, e := range history() {
		m.Apply(e.key, e.seq, e.typ, []byte(e.payload))
	}
	if got, want := m.Digest(), fold(history()).Digest(); got != want {
		t.Fatalf("digest with cost %s, without %s", got, want)
	}
	if m.burn.rounds == 0 {
		t.Fatal("a 50us cost burns no rounds")
	}
}

// TestCostRoundsScale: the calibrated burn converts a cost to rounds in
// proportion (the CPU work is real and grows with the cost).
func TestCostRoundsScale(t *testing.T) {
	r20, r80 := Rounds(20*time.Microsecond), Rounds(80*time.Microsecond)
	if r20 < 1 || r80 < 3*r20 || r80 > 5*r20 {
		t.Fatalf("rounds for 20us = %d, for 80us = %d: want about 4x", r20, r80)
	}
	if Rounds(0) != 0 {
		t.Fatal("no cost must burn nothing")
	}
}

func TestPartitionStableAndInRange(t *testing.T) {
	for _, parts := range []int{1, 2, 3, 8} {
		seen := make([]int, parts)
		for i := 0; i < 1000; i++ {
			k := fmt.Sprintf("order-%d", i)
			w := Partition(k, parts)
			if w < 0 || w >= parts || Partition(k, parts) != w {
				t.Fatalf("Partition(%q, %d) = %d, not stable or out of range", k, parts, w)
			}
			seen[w]++
		}
		for w, n := range seen {
			if n < 1000/parts/2 {
				t.Errorf("parts=%d: worker %d owns %d of 1000 keys: badly spread", parts, w, n)
			}
		}
	}
}

func TestSnapshotRestorePartitions(t *testing.T) {
	m := fold(history())
	s := m.Snapshot(nil)
	parts := s.Restore(2, 0)
	if DigestOf(parts...) != m.Digest() {
		t.Fatal("restored partitions digest differently from the model")
	}
	if parts[0].Events()+parts[1].Events() != m.Events() || s.Keys() != 3 {
		t.Fatalf("restored %d+%d events of %d, %d keys", parts[0].Events(), parts[1].Events(), m.Events(), s.Keys())
	}
	m.Apply("order-1", 5, "OrderUpdated", nil) // the snapshot is a copy
	if st := s.States["order-1"]; st.Count != 4 {
		t.Fatalf("snapshot changed with the model: count %d", st.Count)
	}
}
