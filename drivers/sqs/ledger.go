package sqs

import (
	"sync"
	"time"
)

// ledger numbers the events this process's sends had accepted on one
// queue, shared by every connection of the process (the control
// connection's Head sees the producer's sends). An event ID accepted again
// within SQS's 5-minute deduplication window keeps its first position and
// does not move the head, as SQS does not store it again. Memory: one
// entry per event accepted in the last 5 minutes.
type ledger struct {
	mu    sync.Mutex
	next  int64
	pos   map[[16]byte]int64
	order []stamped // acceptance order, for expiry
}

type stamped struct {
	id [16]byte
	at time.Time
}

// dedupeWindow is SQS's deduplication interval.
const dedupeWindow = 5 * time.Minute

var ledgers sync.Map // queue key -> *ledger

func ledgerFor(key string) *ledger {
	v, _ := ledgers.LoadOrStore(key, &ledger{pos: map[[16]byte]int64{}})
	return v.(*ledger)
}

// accept records an accepted send of id.
func (l *ledger) accept(id [16]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for len(l.order) > 0 && now.Sub(l.order[0].at) > dedupeWindow {
		delete(l.pos, l.order[0].id)
		l.order = l.order[1:]
	}
	if _, seen := l.pos[id]; seen {
		return
	}
	l.pos[id] = l.next
	l.next++
	l.order = append(l.order, stamped{id, now})
}

// position is where id was accepted.
func (l *ledger) position(id [16]byte) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pos[id]
}

func (l *ledger) head() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}
