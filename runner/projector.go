package runner

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// keyState is the read model a projector maintains per aggregate (what a
// real projection would fold, kept small) and what it saw of the key's
// sequence, for the delivery check.
type keyState struct {
	count int64
	keyDelivery
}

// projector subscribes from the run's start cursor, applies every event to
// an in-memory read model, records end-to-end latency for first deliveries,
// and keeps the delivery ledger the verifier checks. A pause cancels its
// subscription; resume subscribes again from its cursor.
type projector struct {
	id     int
	drv    drivers.Driver
	ledger *ledger
	e2e    *measure.Recorder
	errs   *errorCounter

	model map[string]*keyState
	// slab holds the first keys' states, allocated with the map before the
	// run (up to warmKeys), so memory does not grow as keys are first seen.
	slab []keyState

	mu      sync.Mutex
	cursor  drivers.Cursor
	paused  bool
	cancel  context.CancelFunc
	resumed chan struct{}

	delivered, foreign, reordered, duplicated, bytes atomic.Int64
}

func newProjector(id int, drv drivers.Driver, from drivers.Cursor, l *ledger, e2e *measure.Recorder, errs *errorCounter) *projector {
	return &projector{
		id: id, drv: drv, ledger: l, e2e: e2e, errs: errs,
		model: make(map[string]*keyState, min(len(l.sent), warmKeys)), slab: make([]keyState, min(len(l.sent), warmKeys)),
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

		err := p.drv.Subscribe(sctx, from, p.apply)
		cancel()
		p.mu.Lock()
		wasPaused := p.paused
		p.mu.Unlock()
		if ctx.Err() != nil || wasPaused {
			continue
		}
		if err == nil {
			err = errors.New("subscription ended without an error")
		}
		p.errs.add("subscribe", err, 1)
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
	nowNS := now.UnixNano()
	var bytes, foreign, reordered, dups int64
	for i := range batch {
		d := &batch[i]
		bytes += int64(len(d.Payload))
		if !p.ledger.ours(&d.ID) {
			foreign++
			continue
		}
		ks := p.model[d.Key]
		if ks == nil {
			if n := len(p.slab); n > 0 {
				ks, p.slab = &p.slab[n-1], p.slab[:n-1]
			} else {
				ks = &keyState{}
			}
			p.model[d.Key] = ks
		}
		switch ks.see(d.Seq) {
		case deliveredAgain:
			dups++ // counted by the verifier, not applied twice
			continue
		case deliveredReordered:
			reordered++
		}
		ks.count++
		p.e2e.Record(time.Duration(nowNS - d.CreatedAt))
	}
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
	if reordered > 0 {
		p.reordered.Add(reordered)
	}
	if dups > 0 {
		p.duplicated.Add(dups)
	}
	return nil
}

// seenKey returns what the projector saw of key index k (nil: nothing).
// Only after the projector stopped.
func (p *projector) seenKey(k int) *keyDelivery {
	if ks := p.model[scenarios.KeyName(k)]; ks != nil {
		return &ks.keyDelivery
	}
	return nil
}
