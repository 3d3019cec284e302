package engine

import "unsafe"

// streams maps a stream id to its next version (its event count). It is
// sized for millions of streams: ids are interned into 1 MiB arenas (no heap
// object per stream) and the map holds a 4-byte slot into one version slice,
// so a stream costs its id's bytes plus about 40 bytes. It grows with the
// number of distinct streams, never with the number of events.
type streams struct {
	slot  map[string]uint32
	vers  []uint64
	arena []byte
}

const arenaChunk = 1 << 20

func newStreams() streams { return streams{slot: map[string]uint32{}} }

func (s *streams) len() int { return len(s.vers) }

func (s *streams) next(id string) uint64 {
	if i, ok := s.slot[id]; ok {
		return s.vers[i]
	}
	return 0
}

func (s *streams) set(id string, next uint64) {
	if i, ok := s.slot[id]; ok {
		s.vers[i] = next
		return
	}
	s.add(s.intern(unsafe.Slice(unsafe.StringData(id), len(id))), next)
}

// setBytes is set without converting id to a string for a known stream.
func (s *streams) setBytes(id []byte, next uint64) {
	if i, ok := s.slot[string(id)]; ok {
		s.vers[i] = next
		return
	}
	s.add(s.intern(id), next)
}

func (s *streams) add(id string, next uint64) {
	s.slot[id] = uint32(len(s.vers))
	s.vers = append(s.vers, next)
}

// intern copies b into the arena and returns a string over the copy. An
// arena chunk never grows past its capacity, so earlier strings stay valid.
func (s *streams) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(s.arena)+len(b) > cap(s.arena) {
		s.arena = make([]byte, 0, max(arenaChunk, len(b)))
	}
	off := len(s.arena)
	s.arena = append(s.arena, b...)
	return unsafe.String(&s.arena[off], len(b))
}

// each calls fn for every stream, in no particular order.
func (s *streams) each(fn func(id string, next uint64)) {
	for id, i := range s.slot {
		fn(id, s.vers[i])
	}
}
