package runner

import "sync/atomic"

// ackRing remembers the scheduled times of the most recent acknowledged
// events, so the events a store lost in a crash (its RPO) can be dated: the
// delivery check knows which sequences are missing, not when they were
// due. It is kept only when the scenario has store faults, and holds the
// last capacity acks: a crash loses a recent tail, well within it.
type ackRing struct {
	next  atomic.Uint64
	slots []ackSlot
}

type ackSlot struct {
	key int32
	seq uint64
	due int64 // scheduled time, unix ns
}

func newAckRing(capacity int) *ackRing { return &ackRing{slots: make([]ackSlot, max(capacity, 1))} }

// add records one acknowledged event; safe from any goroutine.
func (a *ackRing) add(key int32, seq uint64, due int64) {
	i := a.next.Add(1) - 1
	a.slots[i%uint64(len(a.slots))] = ackSlot{key: key, seq: seq, due: due}
}

// dues returns the scheduled times of the wanted sequences per key that
// the ring still holds. Only after every append was answered.
func (a *ackRing) dues(wanted map[int32][]seqRange) []int64 {
	n := min(a.next.Load(), uint64(len(a.slots)))
	var out []int64
	for _, s := range a.slots[:n] {
		for _, r := range wanted[s.key] {
			if s.seq >= r.lo && s.seq <= r.hi {
				out = append(out, s.due)
				break
			}
		}
	}
	return out
}
