package engine

import (
	"sync"
	"unsafe"
)

// streams maps a stream id to its next version (its event count) and the
// positions of its first and last events, which bound a read by stream. It
// is sized for millions of streams: ids are interned into 1 MiB arenas (no
// heap object per stream) and the map holds a 4-byte slot into three
// parallel slices, so a stream costs its id's bytes plus about 56 bytes. It
// grows with the number of distinct streams, never with the number of
// events.
//
// The committer is the only writer; it takes mu (once per commit group) to
// write, and ReadStream takes it to read. The committer's own reads need no
// lock.
type streams struct {
	mu    sync.RWMutex
	slot  map[string]uint32
	vers  []uint64
	first []uint64 // position of version 0
	last  []uint64 // position of the newest version
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

// bounds returns the stream's next version and the positions of its first
// and last events, under the read lock; ok is false for an unknown stream.
func (s *streams) bounds(id string) (next, first, last uint64, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.slot[id]
	if !ok {
		return 0, 0, 0, false
	}
	return s.vers[i], s.first[i], s.last[i], true
}

// set records that the stream's newest event (version next-1) is at
// position last; first is used only for a stream not seen before.
func (s *streams) set(id string, next, first, last uint64) {
	if i, ok := s.slot[id]; ok {
		s.vers[i], s.last[i] = next, last
		return
	}
	s.add(s.intern(unsafe.Slice(unsafe.StringData(id), len(id))), next, first, last)
}

// setBytes is set without converting id to a string for a known stream.
func (s *streams) setBytes(id []byte, next, first, last uint64) {
	if i, ok := s.slot[string(id)]; ok {
		s.vers[i], s.last[i] = next, last
		return
	}
	s.add(s.intern(id), next, first, last)
}

func (s *streams) add(id string, next, first, last uint64) {
	s.slot[id] = uint32(len(s.vers))
	s.vers = append(s.vers, next)
	s.first = append(s.first, first)
	s.last = append(s.last, last)
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
func (s *streams) each(fn func(id string, next, first, last uint64)) {
	for id, i := range s.slot {
		fn(id, s.vers[i], s.first[i], s.last[i])
	}
}
