// Package readmodel is the read model evbench folds, live and in rebuilds:
// per aggregate (key) a count, the last sequence and a running hash of
// every (seq, type, payload) folded into it, so any missing, extra or
// reordered event changes the key's state and therefore the model's
// Digest. A configurable CPU cost per event stands in for a projection
// that does real work; Snapshot and Rebuild (snapshot.go, rebuild.go)
// replay a store into models with P workers partitioned by key.
package readmodel

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"slices"
	"strings"
	"time"
)

// State is one aggregate's folded state. Hash chains every event folded
// into the key, in order: sha256(previous hash, seq, type, payload).
type State struct {
	Count   int64
	LastSeq uint64
	Hash    [sha256.Size]byte
}

// Model is a read model: the state of every aggregate seen. It is not
// safe for concurrent use; Rebuild gives each worker its own.
type Model struct {
	keys   map[string]*State
	events int64
	h      hash.Hash
	num    [8]byte
	typ    []byte // scratch: the event type as bytes, without an allocation per event
	burn   burner
}

// New returns an empty model whose Apply spends cost of CPU per event on
// top of the fold (0: no extra cost).
func New(cost time.Duration) *Model {
	return &Model{keys: map[string]*State{}, h: sha256.New(), burn: newBurner(cost)}
}

// Apply folds one event into its key's state, then spends the model's
// CPU cost. The cost's output never enters the state: the digest depends
// on the events only, whatever the cost.
func (m *Model) Apply(key string, seq uint64, typ string, payload []byte) {
	st := m.keys[key]
	if st == nil {
		st = &State{}
		m.keys[key] = st
	}
	h := m.h
	h.Reset()
	h.Write(st.Hash[:])
	binary.BigEndian.PutUint64(m.num[:], seq)
	h.Write(m.num[:])
	binary.BigEndian.PutUint64(m.num[:], uint64(len(typ)))
	h.Write(m.num[:])
	m.typ = append(m.typ[:0], typ...)
	h.Write(m.typ)
	h.Write(payload)
	h.Sum(st.Hash[:0])
	st.Count++
	st.LastSeq = seq
	m.events++
	m.burn.spend(payload)
}

// Events is how many events were folded (restored snapshot events included).
func (m *Model) Events() int64 { return m.events }

// Keys is how many aggregates the model holds.
func (m *Model) Keys() int { return len(m.keys) }

// Get returns a copy of key's state and whether the model has it.
func (m *Model) Get(key string) (State, bool) {
	st := m.keys[key]
	if st == nil {
		return State{}, false
	}
	return *st, true
}

// Digest summarises every aggregate's state, independent of map order
// (keys are hashed sorted): two models digest alike exactly when they
// hold the same keys with the same states.
func (m *Model) Digest() string { return DigestOf(m) }

// DigestOf is the Digest of the union of models whose key sets are
// disjoint (the partitions of one rebuild): it equals the Digest of one
// model that folded all their events.
func DigestOf(models ...*Model) string {
	type entry struct {
		key string
		st  *State
	}
	n := 0
	for _, m := range models {
		n += len(m.keys)
	}
	all := make([]entry, 0, n)
	for _, m := range models {
		for k, st := range m.keys {
			all = append(all, entry{k, st})
		}
	}
	slices.SortFunc(all, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	h := sha256.New()
	var num [8]byte
	for _, e := range all {
		binary.BigEndian.PutUint64(num[:], uint64(len(e.key)))
		h.Write(num[:])
		h.Write([]byte(e.key))
		binary.BigEndian.PutUint64(num[:], uint64(e.st.Count))
		h.Write(num[:])
		binary.BigEndian.PutUint64(num[:], e.st.LastSeq)
		h.Write(num[:])
		h.Write(e.st.Hash[:])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
