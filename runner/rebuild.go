package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/reports/measure"
)

// errRebuildDone ends the rebuild subscription once the target is reached.
var errRebuildDone = errors.New("rebuild reached its target")

// rebuildResult is a full replay into a fresh read model.
type rebuildResult struct {
	measure.Rebuild
	progressT []float64
	progressN []int64
}

// rebuild replays from `from` to the head captured when it starts, into a
// fresh read model, and measures events/s and MB/s. It reconnects from its
// cursor if the subscription breaks and gives up at ctx's deadline.
func rebuild(ctx context.Context, drv, control drivers.Driver, from drivers.Cursor, errs *errorCounter) (rebuildResult, error) {
	var res rebuildResult
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	target, err := control.Head(hctx)
	cancel()
	if err != nil {
		return res, fmt.Errorf("rebuild: read head: %w", err)
	}
	want := drivers.Lag(target, from)
	cursor := from.Clone()
	model := map[string]*keyState{}
	var mu sync.Mutex
	var events, bytes int64
	reached := func() bool { return drivers.Lag(target, cursor) == 0 }

	start := time.Now()
	done := make(chan struct{})
	go func() { // progress series, sampled like lag
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				mu.Lock()
				res.progressT = append(res.progressT, time.Since(start).Seconds())
				res.progressN = append(res.progressN, events)
				mu.Unlock()
			}
		}
	}()
	apply := func(batch []drivers.Delivered) error {
		mu.Lock()
		defer mu.Unlock()
		for i := range batch {
			d := &batch[i]
			if target[d.Position.Partition] <= d.Position.Offset {
				continue // written after the rebuild started: not part of it
			}
			ks := model[d.Key]
			if ks == nil {
				ks = &keyState{}
				model[d.Key] = ks
			}
			ks.count++
			ks.hi = d.Seq
			events++
			bytes += int64(len(d.Payload) + len(d.Key) + len(d.Type) + 32)
			cursor.Advance(d.Position)
		}
		if reached() {
			return errRebuildDone
		}
		return nil
	}
	var lastErr error
	for want > 0 {
		mu.Lock()
		fromNow := cursor.Clone()
		ok := reached()
		mu.Unlock()
		if ok || ctx.Err() != nil {
			break
		}
		err := drv.Subscribe(ctx, fromNow, apply)
		if errors.Is(err, errRebuildDone) {
			break
		}
		if err != nil {
			lastErr = err
			errs.add("rebuild", err, 1)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	close(done)
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	res.Events = events
	res.Bytes = bytes
	res.Seconds = elapsed.Seconds()
	res.Complete = reached()
	if res.Seconds > 0 {
		res.EventsPerSec = float64(events) / res.Seconds
		res.MBPerSec = float64(bytes) / 1e6 / res.Seconds
	}
	res.progressT = append(res.progressT, elapsed.Seconds())
	res.progressN = append(res.progressN, events)
	if !res.Complete {
		if lastErr == nil {
			lastErr = ctx.Err()
		}
		return res, fmt.Errorf("rebuild: replayed %d of %d events: %w", events, want, lastErr)
	}
	return res, nil
}
