package runner

import (
	"slices"
	"sync"
)

// ledger is what the delivery check needs to know about the appends, kept
// per key, not per event: how many events of each key were sent (their
// sequence numbers are 1..sent[k], handed out in send order), the sparse
// set of those whose append failed (ambiguous: they may have landed), and
// the sparse set of those acknowledged only after the client retried them.
// Every other sent event was acknowledged at the first try, since the
// generator answers every append before the check (settle marks the
// unanswered ones failed). Memory is 8 bytes per key plus one range per run
// of failures or retries, whatever the number of events.
type ledger struct {
	runID [8]byte
	sent  []uint64     // key index -> events sent; written by the generator goroutine only
	shard *ledgerShard // a sharded run's key mapping and sibling IDs (shard.go); nil: unsharded

	mu      sync.Mutex
	failed  map[int32][]seqRange // key index -> failed sequence ranges (unsorted until check)
	retried map[int32][]seqRange // key index -> ranges acknowledged after a retry
	nFailed int64
}

// seqRange is the inclusive range of sequence numbers [lo, hi].
type seqRange struct{ lo, hi uint64 }

func (r seqRange) len() uint64 { return r.hi - r.lo + 1 }

func newLedger(runID [8]byte, keys int) *ledger {
	return &ledger{runID: runID, sent: make([]uint64, keys), failed: map[int32][]seqRange{}, retried: map[int32][]seqRange{}}
}

// Event IDs are the run (6 bytes), the key index (5) and the sequence (5),
// so a delivered event is recognised as this run's (events of earlier runs
// stay in durable stores) and the projector can tell from the ID alone
// which key and sequence it was appended with. A retried append carries the
// same IDs, so stores that deduplicate by ID can do so.
const (
	idRunBytes = 6
	idKeyBytes = 5
	idSeqBytes = 5
	idFieldMax = 1<<40 - 1 // largest key index or sequence an ID holds
)

// eventID is the ID of key k's event number seq.
func (l *ledger) eventID(k int32, seq uint64) (id [16]byte) {
	copy(id[:idRunBytes], l.runID[:])
	putUint40(id[idRunBytes:], uint64(k))
	putUint40(id[idRunBytes+idKeyBytes:], seq)
	return id
}

// decodeID returns the key index and sequence an ID of this run names.
// The key field's top byte is not part of the key: expected-version
// commands put their writer there (commands.go), so racing writers never
// send one ID; key indexes stay far below 2^32 (CheckCapacity).
func decodeID(id *[16]byte) (key uint64, seq uint64) {
	return uint40(id[idRunBytes:]) & idKeyMask, uint40(id[idRunBytes+idKeyBytes:])
}

// idKeyMask keeps the key index of an ID's key field (see decodeID).
const idKeyMask = 1<<32 - 1

func putUint40(b []byte, v uint64) {
	for i := 4; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

func uint40(b []byte) uint64 {
	var v uint64
	for i := 0; i < 5; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// ours reports whether id belongs to this run.
func (l *ledger) ours(id *[16]byte) bool {
	return [idRunBytes]byte(id[:idRunBytes]) == [idRunBytes]byte(l.runID[:idRunBytes])
}

// fail records that the append of n events of key k, from sequence first
// on, failed for good. Safe from any goroutine.
func (l *ledger) fail(k int32, first uint64, n int) {
	l.mu.Lock()
	addRange(l.failed, k, seqRange{first, first + uint64(n) - 1})
	l.nFailed += int64(n)
	l.mu.Unlock()
}

// retriedOK records that the append of n events of key k, from sequence
// first on, was acknowledged after at least one retry.
func (l *ledger) retriedOK(k int32, first uint64, n int) {
	l.mu.Lock()
	addRange(l.retried, k, seqRange{first, first + uint64(n) - 1})
	l.mu.Unlock()
}

func addRange(m map[int32][]seqRange, k int32, r seqRange) {
	rs := m[k]
	if n := len(rs); n > 0 && rs[n-1].hi+1 == r.lo {
		rs[n-1].hi = r.hi // the common case: a storm of consecutive failures
	} else {
		rs = append(rs, r)
	}
	m[k] = rs
}

// keyDelivery is what one projector saw of one key: the highest sequence
// delivered and the holes below it (sequences not delivered yet). In-order
// exactly-once delivery keeps holes empty; a hole is filled by a reordered
// event, or stays when the event was lost or its failed append never landed.
// dups and reordered collect the sequences delivered again and those that
// filled a hole (unsorted, merged when adjacent): empty unless the store
// misbehaves, so they cost nothing on a healthy run.
type keyDelivery struct {
	hi        uint64
	holes     []seqRange // sorted, disjoint, all below hi
	dups      []seqRange
	reordered []seqRange
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
		k.dups = appendSeq(k.dups, s)
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
	k.reordered = appendSeq(k.reordered, s)
	return deliveredReordered
}

// appendSeq adds s to an unsorted range list, extending the last range when
// s continues it (a redelivered run of events costs one range).
func appendSeq(rs []seqRange, s uint64) []seqRange {
	if n := len(rs); n > 0 {
		last := &rs[n-1]
		if s >= last.lo && s <= last.hi {
			return rs
		}
		if s == last.hi+1 {
			last.hi = s
			return rs
		}
	}
	return append(rs, seqRange{s, s})
}

// verdict is the delivery check of the appends against one projector, or
// against all of them (then every count is of distinct events).
type verdict struct {
	lost, duplicated, reordered, retryReordered, unexpected, ambiguous, delivered int64
}

// check compares the projectors' deliveries with the appends: one verdict
// per projector and one over all of them, per event (an event lost by two
// projectors is lost once; delivered means delivered to every projector).
// It must run after every append was answered and the projectors stopped
// (the caller synchronises). views[p](k) is what projector p saw of key
// index k (nil: nothing).
func (l *ledger) check(views []func(k int) *keyDelivery) (all verdict, each []verdict) {
	l.mu.Lock()
	defer l.mu.Unlock()
	each = make([]verdict, len(views))
	if len(views) == 0 {
		return all, each
	}
	all.ambiguous = l.nFailed
	for i := range each {
		each[i].ambiguous = l.nFailed
	}
	kds := make([]*keyDelivery, len(views))
	for k, n := range l.sent {
		if n == 0 {
			continue
		}
		clean := true
		for p, view := range views {
			kds[p] = view(k)
			kd := kds[p]
			if kd == nil || kd.hi != n || len(kd.holes) > 0 || len(kd.dups) > 0 || len(kd.reordered) > 0 {
				clean = false
			}
		}
		failed := normalize(l.failed[int32(k)])
		if clean && len(failed) == 0 { // the common case: every projector saw 1..n once, in order
			all.delivered += int64(n)
			for p := range each {
				each[p].delivered += int64(n)
			}
			continue
		}
		retried := normalize(l.retried[int32(k)])
		nFailed := count(failed)
		var missAny, missAll, dupAny, reordAny []seqRange
		var extraMax uint64
		for p := range views {
			var kd keyDelivery
			if kds[p] != nil {
				kd = *kds[p]
			}
			missing := missingOf(kd, n)
			dups := clip(normalize(kd.dups), n)
			reord := clip(normalize(kd.reordered), n)
			extra := extraOf(kd, n)
			extraMax = max(extraMax, extra)

			v := &each[p]
			nMissing, missingFailed := count(missing), overlap(missing, failed)
			v.lost += int64(nMissing - missingFailed)
			v.unexpected += int64(nFailed-missingFailed) + int64(extra)
			v.delivered += int64(n-nMissing) + int64(extra)
			v.duplicated += int64(count(dups))
			rf, rr := overlap(reord, failed), overlap(reord, retried)
			v.reordered += int64(count(reord) - rf - rr)
			v.retryReordered += int64(rr)

			if p == 0 {
				missAny, missAll, dupAny, reordAny = missing, missing, dups, reord
			} else {
				missAny = union(missAny, missing)
				missAll = intersect(missAll, missing)
				dupAny = union(dupAny, dups)
				reordAny = union(reordAny, reord)
			}
		}
		all.lost += int64(count(missAny) - overlap(missAny, failed))
		all.unexpected += int64(nFailed-overlap(missAll, failed)) + int64(extraMax)
		all.delivered += int64(n-count(missAny)) + int64(extraMax)
		all.duplicated += int64(count(dupAny))
		rf, rr := overlap(reordAny, failed), overlap(reordAny, retried)
		all.reordered += int64(count(reordAny) - rf - rr)
		all.retryReordered += int64(rr)
	}
	return all, each
}

// lostRanges are, per key, the acknowledged sequences a view lacks (its
// missing ones that did not fail): what the delivery check calls lost.
func (l *ledger) lostRanges(view func(k int) *keyDelivery) map[int32][]seqRange {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int32][]seqRange{}
	for k, n := range l.sent {
		if n == 0 {
			continue
		}
		var kd keyDelivery
		if p := view(k); p != nil {
			kd = *p
		}
		missing := missingOf(kd, n)
		if len(missing) == 0 {
			continue
		}
		if lost := subtract(missing, normalize(l.failed[int32(k)])); len(lost) > 0 {
			out[int32(k)] = lost
		}
	}
	return out
}

// subtract is a minus b, both sorted and disjoint.
func subtract(a, b []seqRange) []seqRange {
	var out []seqRange
	j := 0
	for _, r := range a {
		lo := r.lo
		for j < len(b) && b[j].hi < lo {
			j++
		}
		for k := j; k < len(b) && b[k].lo <= r.hi; k++ {
			if b[k].lo > lo {
				out = append(out, seqRange{lo, b[k].lo - 1})
			}
			lo = max(lo, b[k].hi+1)
		}
		if lo <= r.hi {
			out = append(out, seqRange{lo, r.hi})
		}
	}
	return out
}

// missingOf is what a projector did not see of 1..n: its holes and
// everything above its highest sequence, sorted.
func missingOf(kd keyDelivery, n uint64) []seqRange {
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
	return missing
}

// extraOf counts sequences above n (never sent) that a projector saw.
func extraOf(kd keyDelivery, n uint64) uint64 {
	if kd.hi <= n {
		return 0
	}
	extra := kd.hi - n
	for _, h := range kd.holes {
		if h.hi > n {
			extra -= h.hi - max(h.lo, n+1) + 1
		}
	}
	return extra
}

// clip keeps the parts of sorted ranges within 1..n.
func clip(rs []seqRange, n uint64) []seqRange {
	for i, r := range rs {
		if r.lo > n {
			return rs[:i]
		}
		if r.hi > n {
			out := slices.Clone(rs[:i+1])
			out[i].hi = n
			return out
		}
	}
	return rs
}

// count is the number of sequences in disjoint ranges.
func count(rs []seqRange) uint64 {
	var n uint64
	for _, r := range rs {
		n += r.len()
	}
	return n
}

// union of two sorted, disjoint range lists.
func union(a, b []seqRange) []seqRange {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	return normalize(append(slices.Clone(a), b...))
}

// intersect of two sorted, disjoint range lists.
func intersect(a, b []seqRange) []seqRange {
	var out []seqRange
	for i, j := 0, 0; i < len(a) && j < len(b); {
		lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi)
		if lo <= hi {
			out = append(out, seqRange{lo, hi})
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
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
