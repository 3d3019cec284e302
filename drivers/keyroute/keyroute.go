// Package keyroute keeps every key's appends on one of a driver's n
// connections (or commit lanes), so per-key order is the harness's promise
// on multi-connection drivers too: one connection delivers a key's appends
// in call order, two would race them to the store.
//
// The generator's batches hold one key each. A batch whose keys span
// several connections (the conformance suite sends some) cannot be ordered
// by its connection alone, so it is ordered against every other append
// instead: it waits until all appends in flight were answered and holds
// later ones back until it is (Acquire/Release).
package keyroute

import (
	"hash/maphash"
	"sync"

	"github.com/evbench/evbench/drivers"
)

// Router maps keys to one of n indexes and orders spanning batches.
type Router struct {
	n     uint64
	seed  maphash.Seed
	order sync.RWMutex
}

// New returns a router over n >= 1 connections.
func New(n int) *Router {
	return &Router{n: uint64(max(n, 1)), seed: maphash.MakeSeed()}
}

// Of is the index of key.
func (r *Router) Of(key string) int {
	if r.n == 1 {
		return 0
	}
	return int(maphash.String(r.seed, key) % r.n)
}

// Pick is the index for batch (its first event's key) and whether the
// batch's keys map to more than one index.
func (r *Router) Pick(batch []drivers.Event) (i int, spans bool) {
	if r.n == 1 || len(batch) == 0 {
		return 0, false
	}
	i = r.Of(batch[0].Key)
	for j := 1; j < len(batch) && !spans; j++ {
		if k := batch[j].Key; k != batch[0].Key && r.Of(k) != i {
			spans = true
		}
	}
	return i, spans
}

// Acquire is called before an append is sent: shared for a batch on one
// index, exclusive for a spanning one. Release must follow, once, when the
// append was answered (from any goroutine). With one index both are no-ops.
func (r *Router) Acquire(spans bool) {
	switch {
	case r.n == 1:
	case spans:
		r.order.Lock()
	default:
		r.order.RLock()
	}
}

// Release ends what Acquire(spans) began.
func (r *Router) Release(spans bool) {
	switch {
	case r.n == 1:
	case spans:
		r.order.Unlock()
	default:
		r.order.RUnlock()
	}
}
