package engine

// dedupe remembers the positions of recent event IDs in two generations of
// window/2 IDs each: when the young map fills it becomes the old one and the
// previous old one is dropped. Memory is bounded (at most window IDs) and,
// unlike a ring with deletes, the maps never fill up with tombstones. An ID is
// remembered for at least window/2 and at most window later events.
type dedupe struct {
	young, old map[[16]byte]uint64
	half       int
}

func newDedupe(window int) *dedupe {
	h := max(window/2, 1)
	return &dedupe{young: make(map[[16]byte]uint64, min(h, 1<<16)), half: h}
}

func (d *dedupe) get(id [16]byte) (uint64, bool) {
	if p, ok := d.young[id]; ok {
		return p, true
	}
	p, ok := d.old[id]
	return p, ok
}

func (d *dedupe) put(id [16]byte, pos uint64) {
	if len(d.young) >= d.half {
		d.old = d.young
		d.young = make(map[[16]byte]uint64, len(d.old))
	}
	d.young[id] = pos
}
