package inbox

import (
	"context"
	"slices"
	"sync"
)

// Memory is an in-process inbox keyed by (KeyIndex, Seq): per key the
// highest processed sequence and the sorted gaps below it (sequences
// skipped, e.g. dead-lettered events waiting for a redrive). In-order
// processing costs 8 bytes per key plus the map entry, about 40 bytes per
// key in all, however many events; each gap costs 16 bytes until filled.
// A plain set of IDs (map[[16]byte]struct{}) would cost about 40 bytes
// per event instead: 4 MB per 100k events, growing for the whole run.
// Safe for concurrent use.
type Memory struct {
	mu   sync.Mutex
	keys map[uint64]*seqState
}

type seqState struct {
	hi   uint64
	gaps []gap // sorted, disjoint, all below hi
}

type gap struct{ lo, hi uint64 }

// NewMemory returns an empty in-memory inbox.
func NewMemory() *Memory { return &Memory{keys: map[uint64]*seqState{}} }

// Process implements Inbox.
func (m *Memory) Process(ctx context.Context, msg Message, handle func() error) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.keys[msg.KeyIndex]
	if st == nil {
		st = &seqState{}
		m.keys[msg.KeyIndex] = st
	}
	if st.processed(msg.Seq) {
		return true, nil
	}
	if err := handle(); err != nil {
		return false, err
	}
	st.mark(msg.Seq)
	return false, nil
}

// Close implements Inbox.
func (m *Memory) Close() error { return nil }

// Len is the number of keys tracked.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}

func (s *seqState) find(seq uint64) (int, bool) {
	return slices.BinarySearchFunc(s.gaps, seq, func(g gap, v uint64) int {
		switch {
		case g.hi < v:
			return -1
		case g.lo > v:
			return 1
		}
		return 0
	})
}

func (s *seqState) processed(seq uint64) bool {
	if seq > s.hi {
		return false
	}
	_, inGap := s.find(seq)
	return !inGap
}

// mark records seq as processed (it was not).
func (s *seqState) mark(seq uint64) {
	if seq > s.hi {
		if seq > s.hi+1 {
			s.gaps = append(s.gaps, gap{s.hi + 1, seq - 1})
		}
		s.hi = seq
		return
	}
	i, ok := s.find(seq)
	if !ok {
		return
	}
	g := s.gaps[i]
	switch {
	case g.lo == g.hi:
		s.gaps = slices.Delete(s.gaps, i, i+1)
	case seq == g.lo:
		s.gaps[i].lo++
	case seq == g.hi:
		s.gaps[i].hi--
	default:
		s.gaps[i].hi = seq - 1
		s.gaps = slices.Insert(s.gaps, i+1, gap{seq + 1, g.hi})
	}
}

// Set is the general in-memory inbox: a set of every processed ID, for
// events without a per-key sequence. It costs about 40 bytes per processed
// event (16-byte key, map overhead) and grows for the whole run; prefer
// Memory when events carry sequences. Safe for concurrent use.
type Set struct {
	mu   sync.Mutex
	seen map[[16]byte]struct{}
}

// NewSet returns an empty ID-set inbox.
func NewSet() *Set { return &Set{seen: map[[16]byte]struct{}{}} }

// Process implements Inbox.
func (s *Set) Process(ctx context.Context, msg Message, handle func() error) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[msg.ID]; ok {
		return true, nil
	}
	if err := handle(); err != nil {
		return false, err
	}
	s.seen[msg.ID] = struct{}{}
	return false, nil
}

// Close implements Inbox.
func (s *Set) Close() error { return nil }
