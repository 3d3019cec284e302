package engine

// dedupe remembers the positions of the most recent window event IDs: a
// bounded map plus a ring that evicts the oldest, so memory stays flat no
// matter how long the log grows.
type dedupe struct {
	m    map[[16]byte]uint64
	ring [][16]byte
	head int
	full bool
}

func newDedupe(window int) *dedupe {
	return &dedupe{m: make(map[[16]byte]uint64, min(window, 1<<16)), ring: make([][16]byte, window)}
}

func (d *dedupe) get(id [16]byte) (uint64, bool) {
	p, ok := d.m[id]
	return p, ok
}

func (d *dedupe) put(id [16]byte, pos uint64) {
	if d.full {
		old := d.ring[d.head]
		if p, ok := d.m[old]; ok && p <= pos {
			delete(d.m, old)
		}
	}
	d.ring[d.head] = id
	d.m[id] = pos
	d.head++
	if d.head == len(d.ring) {
		d.head = 0
		d.full = true
	}
}

// streams maps a stream id to its next version (its event count). Pointers
// let recovery update a known stream without allocating a key string.
type streams map[string]*uint64

func (s streams) next(id string) uint64 {
	if p := s[id]; p != nil {
		return *p
	}
	return 0
}

func (s streams) set(id string, next uint64) {
	if p := s[id]; p != nil {
		*p = next
		return
	}
	s[id] = &next
}

func (s streams) setBytes(id []byte, next uint64) {
	if p := s[string(id)]; p != nil {
		*p = next
		return
	}
	s[string(id)] = &next
}
