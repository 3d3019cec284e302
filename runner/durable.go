package runner

import (
	"context"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/scenarios"
)

// durableScan reads the store back in full after a run with store faults:
// what the store kept, as opposed to what the projectors saw (a projector
// may have read events the store then lost in a crash). Its view joins
// the delivery check, so such events are lost, and they are the RPO.
func (r *run) durableScan(ctx context.Context, consumer, control drivers.Driver, from drivers.Cursor) *projector {
	timeout := r.cfg.RebuildTimeout
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hctx, hcancel := context.WithTimeout(sctx, 5*time.Second)
	head, err := control.Head(hctx)
	hcancel()
	if err != nil {
		r.cfg.Logf("durable scan: read head: %v", err)
		return nil
	}
	p := newProjector(-1, consumer, from, r.ledger, nil, r.errs, newRunClock(r.start), nil)
	done := make(chan struct{})
	go func() { defer close(done); p.run(sctx) }()
	for drivers.Lag(head, p.position()) > 0 && sctx.Err() == nil {
		select {
		case <-sctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	complete := drivers.Lag(head, p.position()) == 0
	cancel()
	<-done
	if !complete {
		r.cfg.Logf("durable scan: did not reach the head within %v", timeout)
	}
	return p
}

// ackRingCapacity holds about a minute of acks at the profile's peak rate,
// within [64 Ki, 4 Mi] entries (24 B each).
func ackRingCapacity(l scenarios.Load) int {
	peak := l.Start
	for _, s := range l.Stages {
		peak = max(peak, s.To)
	}
	return int(min(max(peak*60, 1<<16), 1<<22))
}
