package drivertest

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"github.com/evbench/evbench/drivers"
)

// baseTime is a fixed CreatedAt origin so Events is deterministic.
const baseTime = int64(1_767_225_600_000_000_000) // 2026-01-01T00:00:00Z

// Events returns n deterministic events spread round-robin over keys keys
// ("key-0" ...), with unique IDs and a 1-based per-key Seq in slice order.
// Calling it twice yields the same IDs: use it for one store at a time, or
// for tests that want identical input on every run.
func Events(n, keys int) []drivers.Event {
	var prefix [8]byte
	copy(prefix[:], "evbench!")
	return newGen(prefix, "key").events(n, keys)
}

// gen makes events with IDs unique per generator (random prefix) so several
// batches in one store never collide, and tracks per-key Seq across calls.
type gen struct {
	prefix [8]byte
	keyTag string
	next   uint64
	seq    map[string]uint64
}

func newGen(prefix [8]byte, keyTag string) *gen {
	return &gen{prefix: prefix, keyTag: keyTag, seq: map[string]uint64{}}
}

// randomGen returns a generator with a random ID prefix.
func randomGen(keyTag string) *gen {
	var p [8]byte
	if _, err := rand.Read(p[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return newGen(p, keyTag)
}

var eventTypes = []string{"OrderPlaced", "PaymentCaptured", "ItemShipped", "OrderCancelled"}

// events returns n events over keys keys named "<keyTag>-<k>".
func (g *gen) events(n, keys int) []drivers.Event {
	if keys < 1 {
		keys = 1
	}
	out := make([]drivers.Event, n)
	for i := range out {
		key := fmt.Sprintf("%s-%d", g.keyTag, int(g.next)%keys)
		out[i] = g.one(key)
	}
	return out
}

// one returns the next event for key.
func (g *gen) one(key string) drivers.Event {
	i := g.next
	g.next++
	g.seq[key]++
	var id [16]byte
	copy(id[:8], g.prefix[:])
	binary.BigEndian.PutUint64(id[8:], i)
	typ := eventTypes[int(i)%len(eventTypes)]
	payload := fmt.Sprintf(`{"id":"%x","type":%q,"version":1,"key":%q,"seq":%d,"data":{"n":%d,"note":"caf\u00e9 \u2713"}}`,
		id, typ, key, g.seq[key], i)
	return drivers.Event{
		ID:        id,
		Key:       key,
		Seq:       g.seq[key],
		Type:      typ,
		Payload:   []byte(payload),
		CreatedAt: baseTime + int64(i)*1_000_003,
	}
}
