package runner

import (
	"encoding/binary"
	"slices"
	"sync"
)

// ledger is what the delivery check needs to know about the appends, kept
// per key, not per event: how many events of each key were sent (their
// sequence numbers are 1..sent[k], handed out in send order) and the sparse
// set of those whose append failed (ambiguous: they may have landed). Every
// other sent event was acknowledged, since the generator answers every
// append before the check (settle marks the unanswered ones failed). Memory
// is 8 bytes per key plus one range per run of failures, whatever the
// number of events.
type ledger struct {
	runID [8]byte
	sent  []uint64 // key index -> events sent; written by the generator goroutine only

	mu      sync.Mutex
	failed  map[int32][]seqRange // key index -> failed sequence ranges (unsorted until check)
	nFailed int64
}

// seqRange is the inclusive range of sequence numbers [lo, hi].
type seqRange struct{ lo, hi uint64 }

func (r seqRange) len() uint64 { return r.hi - r.lo + 1 }

func newLedger(runID [8]byte, keys int) *ledger {
	return &ledger{runID: runID, sent: make([]uint64, keys), failed: map[int32][]seqRange{}}
}

// eventID encodes the run and the event number, so a delivered event is
// recognised as this run's (events of earlier runs stay in durable stores).
func (l *ledger) eventID(n int64) (id [16]byte) {
	copy(id[:8], l.runID[:])
	binary.BigEndian.PutUint64(id[8:], uint64(n))
	return id
}

// ours reports whether id belongs to this run.
func (l *ledger) ours(id *[16]byte) bool { return [8]byte(id[:8]) == l.runID }

// fail records that the append of n events of key k, from sequence first
// on, failed. Safe from any goroutine.
func (l *ledger) fail(k int32, first uint64, n int) {
	r := seqRange{first, first + uint64(n) - 1}
	l.mu.Lock()
	rs := l.failed[k]
	if m := len(rs); m > 0 && rs[m-1].hi+1 == r.lo {
		rs[m-1].hi = r.hi // the common case: a storm of consecutive failures
	} else {
		rs = append(rs, r)
	}
	l.failed[k] = rs
	l.nFailed += int64(n)
	l.mu.Unlock()
}

// keyDelivery is what one projector saw of one key: the highest sequence
// delivered and the holes below it (sequences not delivered yet). In-order
// exactly-once delivery keeps holes empty; a hole is filled by a reordered
// event, or stays when the event was lost or its failed append never landed.
type keyDelivery struct {
	hi    uint64
	holes []seqRange // sorted, disjoint, all below hi
}

// delivery outcomes of one event.
const (
	deliveredInOrder = iota
	deliveredReordered
	deliveredAgain
)

// see records sequence s and says how it arrived.
func (k *keyDelivery) see(s uint64) int {
	if s > k.hi {
		if s > k.hi+1 {
			k.holes = append(k.holes, seqRange{k.hi + 1, s - 1})
		}
		k.hi = s
		return deliveredInOrder
	}
	i, found := slices.BinarySearchFunc(k.holes, s, func(r seqRange, s uint64) int {
		switch {
		case r.hi < s:
			return -1
		case r.lo > s:
			return 1
		}
		return 0
	})
	if !found {
		return deliveredAgain
	}
	h := k.holes[i]
	switch {
	case h.lo == h.hi:
		k.holes = slices.Delete(k.holes, i, i+1)
	case s == h.lo:
		k.holes[i].lo++
	case s == h.hi:
		k.holes[i].hi--
	default:
		k.holes[i].hi = s - 1
		k.holes = slices.Insert(k.holes, i+1, seqRange{s + 1, h.hi})
	}
	return deliveredReordered
}

// verdict is the delivery check of one projector against the ledger.
type verdict struct {
	lost, duplicated, unexpected, ambiguous, delivered int64
}

// check compares one projector's deliveries with the appends. It must run
// after every append was answered and the projector stopped (the caller
// synchronises). keyName maps a key index to the key the projector saw;
// duplicated comes from the projector's own counter.
func (l *ledger) check(seen func(k int) *keyDelivery) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := verdict{ambiguous: l.nFailed}
	for k, n := range l.sent {
		if n == 0 {
			continue
		}
		failed := normalize(l.failed[int32(k)])
		var kd keyDelivery
		if p := seen(k); p != nil {
			kd = *p
		}
		// Not delivered: the holes and everything above hi, within 1..n.
		var missing []seqRange
		for _, h := range kd.holes {
			if h.lo > n {
				break
			}
			missing = append(missing, seqRange{h.lo, min(h.hi, n)})
		}
		if kd.hi < n {
			missing = append(missing, seqRange{kd.hi + 1, n})
		}
		var nMissing, nFailed uint64
		for _, m := range missing {
			nMissing += m.len()
		}
		for _, f := range failed {
			nFailed += f.len()
		}
		missingFailed := overlap(missing, failed)
		v.lost += int64(nMissing - missingFailed)
		v.unexpected += int64(nFailed - missingFailed)
		v.delivered += int64(n - nMissing)
		if kd.hi > n { // sequences never sent, yet delivered
			extra := kd.hi - n
			for _, h := range kd.holes {
				if h.hi > n {
					extra -= h.hi - max(h.lo, n+1) + 1
				}
			}
			v.unexpected += int64(extra)
			v.delivered += int64(extra)
		}
	}
	return v
}

// normalize sorts ranges and merges overlapping or adjacent ones.
func normalize(rs []seqRange) []seqRange {
	if len(rs) < 2 {
		return rs
	}
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b seqRange) int {
		if a.lo < b.lo {
			return -1
		}
		if a.lo > b.lo {
			return 1
		}
		return 0
	})
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.lo <= last.hi+1 {
			last.hi = max(last.hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// overlap counts the sequences in both of two sorted, disjoint range lists.
func overlap(a, b []seqRange) uint64 {
	var n uint64
	for i, j := 0, 0; i < len(a) && j < len(b); {
		lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi)
		if lo <= hi {
			n += hi - lo + 1
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return n
}
