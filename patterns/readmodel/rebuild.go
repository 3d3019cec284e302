package readmodel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers"
)

// DefaultDispatchBatch is how many events the reader hands a worker at a
// time: one channel send per batch, so the reader is not the bottleneck.
const DefaultDispatchBatch = 512

// RebuildOptions configure one rebuild.
type RebuildOptions struct {
	// Workers is P, the number of folding goroutines; keys are partitioned
	// among them by Partition. Default 1.
	Workers int
	// From is where a rebuild from zero starts (the run's first position).
	// Ignored when Snapshot is set.
	From drivers.Cursor
	// Target is where the rebuild ends, exclusive, per partition (the
	// position the live read model reached): events at or after it are
	// not folded, so a rebuild covers exactly what the live model did.
	Target drivers.Cursor
	// Snapshot, when set, restores its states and reads only the tail
	// from its Cursor to Target.
	Snapshot *Snapshot
	// Cost is the CPU cost spent per event folded (projection_cost).
	Cost time.Duration
	// Batch is the dispatch batch size, default DefaultDispatchBatch.
	Batch int
	// OnError receives each subscription error before the rebuild
	// subscribes again from its cursor (nil: ignored).
	OnError func(error)
	// Retry is the pause before re-subscribing, default 200 ms.
	Retry time.Duration
}

// RebuildResult is what one rebuild did.
type RebuildResult struct {
	Workers      int
	FromSnapshot bool
	// Events were read from the store and folded (the tail only, from a snapshot).
	Events int64
	// Restored are the events the snapshot's states held.
	Restored int64
	// Elapsed runs from the start (restore included) until every worker
	// folded its last event; computing the digest afterwards is not in it.
	Elapsed      time.Duration
	EventsPerSec float64
	Digest       string
	Keys         int
	// Complete is true when the rebuild reached Target.
	Complete bool
}

// errReached ends the subscription once Target is reached.
var errReached = errors.New("rebuild reached its target")

// dispatch is one batch of events for one worker. The payloads are copied
// into buf: a driver may reuse its buffers once deliver returns.
type dispatch struct {
	evs []event
	buf []byte
}

type event struct {
	key, typ string
	seq      uint64
	off, n   int // payload = buf[off:off+n]
}

// Rebuild reads drv from opts.From (or the snapshot's cursor) to
// opts.Target and folds every event into P models partitioned by key: one
// reader (the driver's Subscribe) dispatches batches to the workers, each
// folding its partition in delivery order. A broken subscription is
// resumed from the reader's cursor until ctx ends.
func Rebuild(ctx context.Context, drv drivers.Driver, opts RebuildOptions) (RebuildResult, error) {
	p := max(opts.Workers, 1)
	batchSize := opts.Batch
	if batchSize <= 0 {
		batchSize = DefaultDispatchBatch
	}
	retry := opts.Retry
	if retry <= 0 {
		retry = 200 * time.Millisecond
	}
	res := RebuildResult{Workers: p, FromSnapshot: opts.Snapshot != nil}
	target := opts.Target.Clone()
	_ = RoundCost() // calibrate before the clock starts

	start := time.Now()
	var models []*Model
	var cursor drivers.Cursor
	if s := opts.Snapshot; s != nil {
		models = s.Restore(p, opts.Cost)
		cursor = s.Cursor.Clone()
		res.Restored = s.Events
	} else {
		models = make([]*Model, p)
		for i := range models {
			models[i] = New(opts.Cost)
		}
		cursor = opts.From.Clone()
	}

	// Free dispatches circulate between the reader and the workers.
	free := make(chan *dispatch, 4*p+p)
	work := make([]chan *dispatch, p)
	var wg sync.WaitGroup
	for i := range work {
		work[i] = make(chan *dispatch, 4)
		wg.Add(1)
		go func(m *Model, in <-chan *dispatch) {
			defer wg.Done()
			for d := range in {
				for j := range d.evs {
					e := &d.evs[j]
					m.Apply(e.key, e.seq, e.typ, d.buf[e.off:e.off+e.n])
				}
				d.evs, d.buf = d.evs[:0], d.buf[:0]
				select {
				case free <- d:
				default:
				}
			}
		}(models[i], work[i])
	}
	pending := make([]*dispatch, p)
	get := func() *dispatch {
		select {
		case d := <-free:
			return d
		default:
			return &dispatch{evs: make([]event, 0, batchSize)}
		}
	}
	send := func(i int) error {
		d := pending[i]
		pending[i] = nil
		select {
		case work[i] <- d:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var events int64
	reached := func() bool { return drivers.Lag(target, cursor) == 0 }
	deliver := func(batch []drivers.Delivered) error {
		for k := range batch {
			d := &batch[k]
			if target[d.Position.Partition] <= d.Position.Offset {
				continue // after the target: not part of this rebuild
			}
			i := Partition(d.Key, p)
			if pending[i] == nil {
				pending[i] = get()
			}
			pd := pending[i]
			pd.evs = append(pd.evs, event{key: d.Key, typ: d.Type, seq: d.Seq, off: len(pd.buf), n: len(d.Payload)})
			pd.buf = append(pd.buf, d.Payload...)
			cursor.Advance(d.Position)
			events++
			if len(pd.evs) >= batchSize {
				if err := send(i); err != nil {
					return err
				}
			}
		}
		// Hand over what this delivery brought: a worker must not wait for
		// a batch the store may be slow to complete.
		for i := range pending {
			if pending[i] != nil {
				if err := send(i); err != nil {
					return err
				}
			}
		}
		if reached() {
			return errReached
		}
		return nil
	}

	var lastErr error
	for !reached() && ctx.Err() == nil {
		err := drv.Subscribe(ctx, cursor.Clone(), deliver)
		if errors.Is(err, errReached) {
			break
		}
		if err == nil && ctx.Err() == nil {
			err = errors.New("subscription ended without an error")
		}
		if err != nil && ctx.Err() == nil {
			lastErr = err
			if opts.OnError != nil {
				opts.OnError(err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(retry):
			}
		}
	}
	for i := range work {
		close(work[i])
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Events = events
	res.Complete = reached()
	if s := res.Elapsed.Seconds(); s > 0 {
		res.EventsPerSec = float64(events) / s
	}
	res.Digest = DigestOf(models...)
	for _, m := range models {
		res.Keys += m.Keys()
	}
	if !res.Complete {
		if lastErr == nil {
			lastErr = ctx.Err()
		}
		if lastErr == nil {
			lastErr = errors.New("subscription ended early")
		}
		return res, fmt.Errorf("rebuild with %d worker(s): read %d events, %d short of the target: %w",
			p, events, drivers.Lag(target, cursor), lastErr)
	}
	return res, nil
}
