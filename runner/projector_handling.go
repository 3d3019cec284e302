package runner

import (
	"time"

	"github.com/evbench/evbench/drivers"
)

// handle runs one delivery through the consumer handling and applies it to
// the read model when the handler succeeded and the inbox (if any) found
// it new. again: the projector was handed this event before.
func (p *projector) handle(d *drivers.Delivered, ks *keyState, key, seq uint64, again bool) {
	ctx := p.ctx
	out := p.handler.process(ctx, d, key, seq, again)
	if !out.applied {
		return
	}
	if !p.applyModel(ks, seq) {
		return
	}
	p.fresh.applied(p.id, d.Type, d.CreatedAt)
	lat := p.clock.since(time.Now()) - p.clock.offset(d.CreatedAt)
	if p.e2e != nil {
		p.e2e.Record(lat)
	}
	if out.attempts > 1 {
		p.handler.h.recordRetryE2E(lat)
	}
}

// applyModel folds one event into the read model and says whether it was
// the event's first application (false: a duplicate applied).
func (p *projector) applyModel(ks *keyState, seq uint64) bool {
	h := p.handler.h
	h.applied.Add(1)
	ks.count++
	if ks.applied == nil {
		ks.applied = &keyDelivery{}
	}
	if ks.applied.see(seq) == deliveredAgain {
		h.dupApplied.Add(1)
		return false
	}
	return true
}

// applyRedriven applies a redriven letter's event (after the projector
// stopped) and says whether it was new to the read model.
func (p *projector) applyRedriven(key, seq uint64) bool {
	ks := p.model[int32(key)]
	if ks == nil {
		return false // never delivered to this projector: not its letter
	}
	return p.applyModel(ks, seq)
}

// notApplied counts the distinct delivered events the read model lacks,
// and how many of them are explained by a letter waiting in the DLQ.
// Only after the projector stopped.
func (p *projector) notApplied(waiting map[[2]uint64]bool) (missing, explained int64) {
	for k, ks := range p.model {
		delivered := count(missingOf(ks.keyDelivery, ks.hi)) // holes below hi
		got := ks.hi - delivered
		var appliedN uint64
		var lacks []seqRange
		if ks.applied != nil {
			appliedN = ks.applied.hi - count(missingOf(*ks.applied, ks.applied.hi))
			lacks = missingOf(*ks.applied, ks.hi)
		} else {
			lacks = []seqRange{{1, ks.hi}}
		}
		if got <= appliedN {
			continue
		}
		missing += int64(got - appliedN)
		for _, r := range lacks {
			for s := r.lo; s <= r.hi && s >= 1; s++ {
				if waiting[[2]uint64{uint64(k), s}] {
					explained++
				}
			}
		}
	}
	return missing, explained
}
