package runner

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/reports/measure"
)

// keyState is the read model a projector maintains per aggregate (what a
// real projection would fold, kept small) and what it saw of the key's
// sequence, for the delivery check.
type keyState struct {
	name  string // the key, as its first event named it
	count int64
	keyDelivery
	// applied is what the read model applied of the key (consumer handling
	// only): below what was delivered by the dead letters, above it by the
	// duplicates applied.
	applied *keyDelivery
}

// projector subscribes from the run's start cursor, applies every event to
// an in-memory read model, records end-to-end latency for first deliveries,
// and keeps the delivery ledger the verifier checks. The key and sequence
// an event was appended with come from its ID, so an event the store hands
// back under another key or sequence is caught (misrouted), not folded into
// the wrong aggregate. A pause cancels its
// subscription; resume subscribes again from its cursor.
type projector struct {
	id     int
	drv    drivers.Driver
	ledger *ledger
	e2e    *measure.Recorder
	errs   *errorCounter

	// clock turns an event's scheduled wall time into the run's monotonic
	// clock, so a wall-clock step during the run cannot skew e2e latency.
	clock runClock

	model map[int32]*keyState
	// slab holds the first keys' states, allocated with the map before the
	// run (up to warmKeys), so memory does not grow as keys are first seen.
	slab []keyState

	mu      sync.Mutex
	cursor  drivers.Cursor
	paused  bool
	cancel  context.CancelFunc
	resumed chan struct{}

	outages *outageTracker
	fresh   *freshness // nil: not tracked
	// durable, when set, reads through a consumer group that resumes
	// from its commits instead of from the cursor (resume.go).
	durable *durableConsumer

	// handler, when set, runs each delivery through the consumer handling
	// (inbox, flaky handler, retries, DLQ, breaker; see handler.go) in
	// ctx, the consumers' context (not a subscription's, so a pause does
	// not cut an event's retries short).
	handler *consumerHandler
	ctx     context.Context
	redo    []int // deliveries of the current batch to hand over again

	delivered, foreign, misrouted, bytes, rewinds atomic.Int64
	otherShards, markers                          atomic.Int64 // of foreign: a sharded run's other shards, barrier markers (shard.go)
	rewound                                       bool         // the current subscription was cut by rewind (under mu)
}

func newProjector(id int, drv drivers.Driver, from drivers.Cursor, l *ledger, e2e *measure.Recorder, errs *errorCounter, clock runClock, outages *outageTracker) *projector {
	return &projector{
		id: id, drv: drv, ledger: l, e2e: e2e, errs: errs, clock: clock, outages: outages,
		model: make(map[int32]*keyState, min(len(l.sent), warmKeys)), slab: make([]keyState, min(len(l.sent), warmKeys)),
		cursor: from.Clone(), resumed: make(chan struct{}),
	}
}

// position returns a copy of the projector's cursor.
func (p *projector) position() drivers.Cursor {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cursor.Clone()
}

// pause stops reading until resume.
func (p *projector) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused {
		return
	}
	p.paused = true
	p.resumed = make(chan struct{})
	if p.cancel != nil {
		p.cancel()
	}
}

func (p *projector) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused {
		return
	}
	p.paused = false
	close(p.resumed)
}

// run subscribes until ctx ends, re-subscribing from the cursor after a
// pause or a broken subscription (with backoff, errors counted).
func (p *projector) run(ctx context.Context) {
	p.ctx = ctx
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		p.mu.Lock()
		if p.paused {
			wait := p.resumed
			p.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return
			}
		}
		sctx, cancel := context.WithCancel(ctx)
		p.cancel = cancel
		from := p.cursor.Clone()
		p.mu.Unlock()

		err := p.subscribe(sctx, from)
		cancel()
		p.mu.Lock()
		wasPaused, wasRewound := p.paused, p.rewound
		p.rewound = false
		p.mu.Unlock()
		if ctx.Err() != nil || wasPaused || wasRewound {
			continue
		}
		if err == nil {
			err = errors.New("subscription ended without an error")
		}
		p.errs.add("subscribe", err, 1)
		if p.outages != nil {
			p.outages.fail(opSubscribe, time.Now(), 1)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < time.Second {
			backoff *= 2
		}
	}
}

// apply folds a batch into the read model and the per-key delivery state.
func (p *projector) apply(batch []drivers.Delivered) error {
	now := time.Now()
	if p.outages != nil {
		p.outages.ok(opSubscribe, now)
	}
	elapsed := p.clock.since(now)
	var bytes, foreign, misrouted int64
	for i := range batch {
		d := &batch[i]
		bytes += int64(len(d.Payload))
		if !p.ledger.ours(&d.ID) {
			foreign++
			p.countForeign(d)
			continue
		}
		key, seq := decodeID(&d.ID)
		if seq != d.Seq || key >= uint64(len(p.ledger.sent)) {
			misrouted++
			continue
		}
		ks := p.model[int32(key)]
		if ks == nil {
			name := p.ledger.keyName(int(key))
			if name != d.Key {
				misrouted++
				continue
			}
			if n := len(p.slab); n > 0 {
				ks, p.slab = &p.slab[n-1], p.slab[:n-1]
			} else {
				ks = &keyState{}
			}
			ks.name = name
			p.model[int32(key)] = ks
		} else if ks.name != d.Key {
			misrouted++
			continue
		}
		if p.handler != nil {
			p.handle(d, ks, key, seq, ks.see(seq) == deliveredAgain)
			if p.handler.redeliver() {
				p.redo = append(p.redo, i)
			}
			continue
		}
		if ks.see(seq) == deliveredAgain {
			continue // counted by the verifier, not applied twice
		}
		ks.count++
		p.fresh.applied(p.id, d.Type, d.CreatedAt)
		if p.e2e != nil {
			p.e2e.Record(elapsed - p.clock.offset(d.CreatedAt))
		}
	}
	for _, i := range p.redo { // a broker's redelivery: the store is not asked again
		d := &batch[i]
		key, seq := decodeID(&d.ID)
		p.handle(d, p.model[int32(key)], key, seq, true)
	}
	p.redo = p.redo[:0]
	p.mu.Lock()
	for i := range batch {
		// Consecutive events of one partition advance it once.
		if i+1 < len(batch) && batch[i+1].Position.Partition == batch[i].Position.Partition &&
			batch[i+1].Position.Offset > batch[i].Position.Offset {
			continue
		}
		p.cursor.Advance(batch[i].Position)
	}
	p.mu.Unlock()
	p.delivered.Add(int64(len(batch)))
	p.bytes.Add(bytes)
	if foreign > 0 {
		p.foreign.Add(foreign)
	}
	if misrouted > 0 {
		p.misrouted.Add(misrouted)
	}
	return nil
}

// rewind moves the cursor back to head on every partition where the store's
// head is now behind it (a store that lost its tail in a crash reuses those
// positions: a projector left beyond them would never read what is
// appended there) and resubscribes. It reports whether it moved.
func (p *projector) rewind(head drivers.Cursor) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	moved := false
	for part, at := range p.cursor {
		if h, ok := head[part]; ok && h < at {
			p.cursor[part] = h
			moved = true
		}
	}
	if moved {
		p.rewinds.Add(1)
		if p.cancel != nil && !p.paused {
			p.rewound = true
			p.cancel()
		}
	}
	return moved
}

// seenKey returns what the projector saw of key index k (nil: nothing).
// Only after the projector stopped.
func (p *projector) seenKey(k int) *keyDelivery {
	if ks := p.model[int32(k)]; ks != nil {
		return &ks.keyDelivery
	}
	return nil
}
