package engine

import (
	"encoding/binary"
	"math/bits"
)

// dedupe remembers the positions of recent event IDs in two generations of
// window/2 IDs each: when the young map fills it becomes the old one and the
// previous old one is dropped. Memory is bounded (at most window IDs) and,
// unlike a ring with deletes, the maps never fill up with tombstones. An ID is
// remembered for at least window/2 and at most window later events.
//
// Each generation has a small Bloom filter beside its map (8 bits per ID,
// 512 KiB per generation at the default window). Nearly every appended ID
// is new, and a miss in two maps of half a million IDs costs two cache and
// TLB misses on the committer's serial path; the filters answer "not here"
// for ~97% of them from one cache line each.
type dedupe struct {
	young, old   map[[16]byte]uint64
	youngF, oldF idFilter
	half         int
}

func newDedupe(window int) *dedupe {
	h := max(window/2, 1)
	return &dedupe{young: make(map[[16]byte]uint64, min(h, 1<<16)), half: h,
		youngF: newIDFilter(h), oldF: newIDFilter(h)}
}

func (d *dedupe) get(id [16]byte) (uint64, bool) {
	h := hashID(id)
	if d.youngF.has(h) {
		if p, ok := d.young[id]; ok {
			return p, true
		}
	}
	if d.old != nil && d.oldF.has(h) {
		p, ok := d.old[id]
		return p, ok
	}
	return 0, false
}

func (d *dedupe) put(id [16]byte, pos uint64) {
	if len(d.young) >= d.half {
		// The dropped generation's map is cleared and reused: a fresh
		// one would page-fault its ~20 MB in again and grow by rehashing.
		old := d.old
		if old == nil {
			old = make(map[[16]byte]uint64, len(d.young))
		} else {
			clear(old)
		}
		d.old, d.young = d.young, old
		d.youngF, d.oldF = d.oldF, d.youngF
		d.youngF.reset()
	}
	d.young[id] = pos
	d.youngF.add(hashID(id))
}

// idFilter is a blocked Bloom filter: 4 bits set in one 64-byte block per
// ID, so a lookup touches one cache line. It never forgets (reset clears
// it), and a false positive only costs the map lookup it would have done.
type idFilter struct {
	blocks [][8]uint64
	mask   uint64 // len(blocks)-1 (a power of two)
}

func newIDFilter(ids int) idFilter {
	n := 1 // blocks of 512 bits, 8 bits per ID
	for n*64 < ids {
		n *= 2
	}
	return idFilter{blocks: make([][8]uint64, n), mask: uint64(n - 1)}
}

// hashID mixes both halves of an ID (random, time-ordered or sequential
// IDs alike) into 64 well-spread bits.
func hashID(id [16]byte) uint64 {
	hi, lo := bits.Mul64(binary.LittleEndian.Uint64(id[:8])^0x9e3779b97f4a7c15, binary.LittleEndian.Uint64(id[8:])^0xbf58476d1ce4e5b9)
	h := hi ^ lo
	h ^= h >> 31
	h *= 0x94d049bb133111eb
	return h ^ h>>29
}

func (f *idFilter) add(h uint64) {
	b := &f.blocks[h&f.mask]
	for k := uint(0); k < 4; k++ {
		bit := h >> (28 + 9*k) & 511
		b[bit>>6] |= 1 << (bit & 63)
	}
}

func (f *idFilter) has(h uint64) bool {
	b := &f.blocks[h&f.mask]
	for k := uint(0); k < 4; k++ {
		bit := h >> (28 + 9*k) & 511
		if b[bit>>6]&(1<<(bit&63)) == 0 {
			return false
		}
	}
	return true
}

func (f *idFilter) reset() { clear(f.blocks) }
