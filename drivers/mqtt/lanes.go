package mqtt

import (
	"crypto/rand"
	"encoding/hex"
	"hash/fnv"
	"sync"
	"sync/atomic"

	"github.com/evbench/evbench/drivers"
)

// An MQTT broker keeps no log, so it has no offsets: positions are made up
// by this process. Every event published through a prefix gets a lane (a
// hash of its key) and the next offset of that lane, and carries both to
// the subscriber in a user property, with this process's origin id. The
// head is, per lane, one past the highest offset whose PUBACK this process
// has seen. The producer, consumer and control connections of one evbench
// run share the lanes of their broker and prefix, so the control
// connection's Head covers what the producer committed; events another
// process published are delivered with foreignPartition and count in no
// head.

// foreignPartition is the position partition of an event another process
// (or a non-evbench client) published: no head covers it.
const foreignPartition = -1

// origin names this process in every message it publishes.
var origin = func() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}()

// lane serialises the publishes of its keys: one in flight at a time, so
// the broker receives (and delivers to each subscription) a lane's events
// in offset order, and a key's events in Seq order.
type lane struct {
	mu    sync.Mutex   // held from taking an offset until its PUBACK or failure
	next  int64        // next offset to hand out; never reused, even after a failure
	acked atomic.Int64 // one past the highest PUBACKed offset
}

// laneSet is the lanes of one broker address and topic prefix in this
// process.
type laneSet struct {
	lanes []lane
}

var (
	laneSetsMu sync.Mutex
	laneSets   = map[string]*laneSet{}
)

// lanesFor returns the process-wide lanes of cfg's broker and prefix,
// created with cfg.Lanes lanes on first use. A later Open with another lane
// count for the same broker and prefix shares the first one's lanes (the
// positions must agree across connections).
func lanesFor(cfg Config) *laneSet {
	laneSetsMu.Lock()
	defer laneSetsMu.Unlock()
	k := cfg.Addr + " " + cfg.Topic
	ls := laneSets[k]
	if ls == nil {
		ls = &laneSet{lanes: make([]lane, cfg.Lanes)}
		laneSets[k] = ls
	}
	return ls
}

// laneOf is key's lane.
func (ls *laneSet) laneOf(key string) int32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int32(h.Sum32() % uint32(len(ls.lanes)))
}

// head is Cursor{lane: one past its highest PUBACKed offset} for every lane
// that has one.
func (ls *laneSet) head() drivers.Cursor {
	c := drivers.Cursor{}
	for i := range ls.lanes {
		if n := ls.lanes[i].acked.Load(); n > 0 {
			c[int32(i)] = n
		}
	}
	return c
}
