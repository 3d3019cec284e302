package inbox

import (
	"context"
	"errors"
	"testing"
)

// TestMemoryDiscardsRedeliveries: in order, out of order, after a failed
// handle (not recorded), and across keys.
func TestMemoryDiscardsRedeliveries(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   inboxUnderTest
	}{{"memory", NewMemory()}, {"set", NewSet()}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			applied := map[uint64]int{}
			deliver := func(key, seq uint64, fail bool) (bool, error) {
				msg := Message{KeyIndex: key, Seq: seq, ID: [16]byte{byte(key), byte(seq)}}
				return tc.in.Process(ctx, msg, func() error {
					if fail {
						return errors.New("boom")
					}
					applied[key<<8|seq]++
					return nil
				})
			}
			steps := []struct {
				key, seq uint64
				fail     bool
				wantDup  bool
			}{
				{1, 1, false, false}, {1, 1, false, true}, // redelivery
				{1, 2, true, false}, {1, 3, false, false}, // 2 failed: a gap below 3
				{1, 3, false, true}, {1, 2, false, false}, // gap filled once
				{1, 2, false, true}, {2, 1, false, false}, // another key is independent
				{1, 5, false, false}, {1, 4, false, false}, {1, 4, false, true}, {1, 5, false, true},
			}
			for i, s := range steps {
				dup, err := deliver(s.key, s.seq, s.fail)
				if dup != s.wantDup {
					t.Fatalf("step %d (%d/%d): duplicate = %v, want %v", i, s.key, s.seq, dup, s.wantDup)
				}
				if (err != nil) != s.fail {
					t.Fatalf("step %d: err = %v", i, err)
				}
			}
			for k, n := range applied {
				if n != 1 {
					t.Errorf("event %x applied %d times", k, n)
				}
			}
			if len(applied) != 6 {
				t.Errorf("applied %d distinct events, want 6", len(applied))
			}
		})
	}
}

type inboxUnderTest interface {
	Process(ctx context.Context, msg Message, handle func() error) (bool, error)
}

// TestMemoryIsCompact: a million in-order events on 100 keys keep 100
// states and no gaps.
func TestMemoryIsCompact(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	for seq := uint64(1); seq <= 10000; seq++ {
		for k := uint64(0); k < 100; k++ {
			m.Process(ctx, Message{KeyIndex: k, Seq: seq}, func() error { return nil })
		}
	}
	if m.Len() != 100 {
		t.Fatalf("keys = %d", m.Len())
	}
	for k, st := range m.keys {
		if st.hi != 10000 || len(st.gaps) != 0 {
			t.Fatalf("key %d: hi %d gaps %v", k, st.hi, st.gaps)
		}
	}
}

func BenchmarkMemoryProcess(b *testing.B) {
	m := NewMemory()
	ctx := context.Background()
	ok := func() error { return nil }
	for i := 0; i < b.N; i++ {
		m.Process(ctx, Message{KeyIndex: uint64(i % 1000), Seq: uint64(i/1000 + 1)}, ok)
	}
}
