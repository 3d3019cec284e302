package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/patterns/readmodel"
	"github.com/evbench/evbench/reports/measure"
)

// liveFold is the live read model the rebuilds are checked against: one
// extra subscriber, beside the projectors, that folds every event of the
// run into a readmodel.Model while the load goes and takes the scenario's
// snapshot. It reads through the control connection (no fault touches it)
// and spends no projection cost, so it takes nothing measurable from the
// load; projection_cost shapes the rebuilds only.
type liveFold struct {
	drv   drivers.Driver
	errs  *errorCounter
	start time.Time

	// The snapshot rule: after atEvents events, at atTime, or every N.
	rule     string
	atEvents int64
	atTime   time.Time
	every    int64

	mu        sync.Mutex
	model     *readmodel.Model
	cursor    drivers.Cursor
	snap      *readmodel.Snapshot
	snapAt    time.Time
	lastSnapN int64

	cancel context.CancelFunc
	done   chan struct{}
}

// startLiveFold starts the live read model when the scenario compares
// rebuild modes (nil otherwise; a nil fold's stop does nothing).
func (r *run) startLiveFold(ctx context.Context, control drivers.Driver, from drivers.Cursor) *liveFold {
	c := r.sc.Consumers
	if !c.RebuildModes() {
		return nil
	}
	f := &liveFold{drv: control, errs: r.errs, start: r.start, model: readmodel.New(0), cursor: from.Clone(), done: make(chan struct{})}
	if sn := c.Snapshot; sn != nil {
		f.rule = sn.String()
		switch pct, isPct := sn.Percent(); {
		case sn.Every > 0:
			f.every = sn.Every
		case isPct:
			f.atEvents = max(1, int64(math.Ceil(pct/100*float64(r.sched.Total()))))
		default:
			d, _ := sn.Time()
			f.atTime = r.start.Add(d)
		}
	}
	fctx, cancel := context.WithCancel(ctx)
	f.cancel = cancel
	go f.run(fctx)
	return f
}

// run subscribes until ctx ends, resuming from the cursor after a break.
func (f *liveFold) run(ctx context.Context) {
	defer close(f.done)
	for ctx.Err() == nil {
		f.mu.Lock()
		from := f.cursor.Clone()
		f.mu.Unlock()
		err := f.drv.Subscribe(ctx, from, f.apply)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("subscription ended without an error")
		}
		f.errs.add("live_read_model", err, 1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// apply folds a batch, then takes the snapshot if its moment has come: a
// snapshot is always at a batch boundary, so its cursor and states agree.
func (f *liveFold) apply(batch []drivers.Delivered) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range batch {
		d := &batch[i]
		f.model.Apply(d.Key, d.Seq, d.Type, d.Payload)
		f.cursor.Advance(d.Position)
	}
	n := f.model.Events()
	switch {
	case f.every > 0 && n-f.lastSnapN >= f.every,
		f.atEvents > 0 && f.snap == nil && n >= f.atEvents,
		!f.atTime.IsZero() && f.snap == nil && !time.Now().Before(f.atTime):
		f.takeSnapshot()
	}
	return nil
}

// takeSnapshot copies the model's state at its cursor (under mu).
func (f *liveFold) takeSnapshot() {
	f.snap = f.model.Snapshot(f.cursor)
	f.snapAt = time.Now()
	f.lastSnapN = f.model.Events()
}

// stop ends the subscription; safe on nil and more than once.
func (f *liveFold) stop() {
	if f == nil {
		return
	}
	f.cancel()
	<-f.done
}

// liveState is the live read model where it stopped.
type liveState struct {
	cursor drivers.Cursor
	digest string
	events int64
	keys   int
	snap   *readmodel.Snapshot
	info   *measure.RebuildSnapshot
}

// finish waits until the fold reached the store's head (read after the
// drain, so every acknowledged event is before it), stops it and returns
// its state. A snapshot rule whose moment never came snapshots the end.
func (f *liveFold) finish(ctx context.Context, control drivers.Driver, timeout time.Duration) (liveState, error) {
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	head, err := control.Head(hctx)
	cancel()
	if err != nil {
		return liveState{}, fmt.Errorf("live read model: read head: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		f.mu.Lock()
		lag := drivers.Lag(head, f.cursor)
		f.mu.Unlock()
		if lag == 0 {
			break
		}
		if ctx.Err() != nil {
			return liveState{}, fmt.Errorf("%w: interrupted during rebuild", ErrIncomplete)
		}
		if time.Now().After(deadline) {
			return liveState{}, fmt.Errorf("live read model: %d events short of the head after %v, so the rebuilds cannot be checked against it; raise consumers.drain", lag, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.stop()
	// Read the head again: one behind the fold (not one that moved on, a
	// foreign writer's) means the store lost what it had delivered.
	hctx, cancel = context.WithTimeout(ctx, 5*time.Second)
	head, err = control.Head(hctx)
	cancel()
	if err != nil {
		return liveState{}, fmt.Errorf("live read model: read head: %w", err)
	}
	for part, at := range f.cursor {
		if h := head[part]; h < at {
			return liveState{}, fmt.Errorf("live read model: the store's head on partition %d (%d) is behind what the live read model folded (%d): the store lost events it had delivered, so no rebuild can reproduce the live read model", part, h, at)
		}
	}
	ls := liveState{cursor: f.cursor.Clone(), digest: f.model.Digest(), events: f.model.Events(), keys: f.model.Keys()}
	if f.rule != "" {
		trigger := f.rule
		if f.snap == nil {
			f.takeSnapshot()
			trigger += " (taken at the end)"
		}
		ls.snap = f.snap
		ls.info = &measure.RebuildSnapshot{Trigger: trigger, Events: f.snap.Events, Keys: f.snap.Keys(), AtS: f.snapAt.Sub(f.start).Seconds()}
	}
	return ls, nil
}

// rebuildModes runs, after the plain rebuild, a full rebuild from the
// run's first position with each worker count and, with a snapshot, a
// snapshot+tail rebuild with each, each ending where the live read model
// ended; it records them in r.rebuilds. A digest mismatch is a result
// (judgeRebuilds fails the run); a rebuild that cannot finish is an error.
func (r *run) rebuildModes(ctx context.Context, consumer, control drivers.Driver, from drivers.Cursor, fold *liveFold) error {
	if fold == nil {
		return nil
	}
	live, err := fold.finish(ctx, control, r.sc.Consumers.Drain.D())
	if err != nil {
		return err
	}
	c := r.sc.Consumers
	out := &measure.Rebuilds{ProjectionCostUS: float64(c.ProjectionCost.D()) / float64(time.Microsecond),
		LiveDigest: live.digest, LiveEvents: live.events, Keys: live.keys, Snapshot: live.info, Runs: []measure.RebuildRun{}}
	r.rebuilds = out
	modes := []string{measure.RebuildModeFull}
	if live.snap != nil {
		modes = append(modes, measure.RebuildModeSnapshot)
	}
	for _, mode := range modes {
		for _, p := range c.Workers() {
			opts := readmodel.RebuildOptions{Workers: p, From: from, Target: live.cursor, Cost: c.ProjectionCost.D(),
				OnError: func(err error) { r.errs.add("rebuild", err, 1) }}
			if mode == measure.RebuildModeSnapshot {
				opts.Snapshot = live.snap
			}
			rctx, cancel := context.WithTimeout(ctx, r.cfg.RebuildTimeout)
			cpu0 := processCPU()
			res, err := readmodel.Rebuild(rctx, consumer, opts)
			cpu := processCPU() - cpu0
			cancel()
			if ctx.Err() != nil {
				return fmt.Errorf("%w: interrupted during rebuild", ErrIncomplete)
			}
			if err != nil {
				return fmt.Errorf("%s rebuild: %w", mode, err)
			}
			out.Runs = append(out.Runs, measure.RebuildRun{Mode: mode, Workers: p, Events: res.Events, RestoredEvents: res.Restored,
				Seconds: res.Elapsed.Seconds(), EventsPerSec: res.EventsPerSec, CPUSeconds: cpu.Seconds(), Digest: res.Digest, DigestOK: res.Digest == live.digest})
			r.cfg.Logf("rebuild %s with %d worker(s): %d events in %.2fs (%.2fs CPU), digest %s", mode, p, res.Events, res.Elapsed.Seconds(), cpu.Seconds(),
				map[bool]string{true: "matches the live read model", false: "DIFFERS from the live read model"}[res.Digest == live.digest])
		}
	}
	summarizeRebuilds(out, c.Workers())
	return nil
}

// summarizeRebuilds fills the speed-ups and the overall digest verdict.
func summarizeRebuilds(out *measure.Rebuilds, workers []int) {
	lo, hi := workers[0], workers[0]
	for _, w := range workers {
		lo, hi = min(lo, w), max(hi, w)
	}
	secs := func(mode string, p int) float64 {
		for _, run := range out.Runs {
			if run.Mode == mode && run.Workers == p {
				return run.Seconds
			}
		}
		return 0
	}
	out.DigestOK = len(out.Runs) > 0
	for _, run := range out.Runs {
		out.DigestOK = out.DigestOK && run.DigestOK
	}
	if full, fast := secs(measure.RebuildModeFull, lo), secs(measure.RebuildModeFull, hi); lo != hi && full > 0 && fast > 0 {
		out.Speedup = full / fast
		out.SpeedupWorkers = []int{lo, hi}
	}
	if full, snap := secs(measure.RebuildModeFull, lo), secs(measure.RebuildModeSnapshot, lo); full > 0 && snap > 0 {
		out.SnapshotSpeedup = full / snap
	}
}

// judgeRebuilds fails the run when a rebuilt read model differs from the
// live one: a store that does not replay what it delivered is not
// deterministic, whatever the gates say.
func (r *run) judgeRebuilds(res *measure.Result) {
	rb := res.Rebuilds
	if rb == nil || rb.DigestOK {
		return
	}
	res.Passed = false
	var bad []string
	for _, run := range rb.Runs {
		if !run.DigestOK {
			bad = append(bad, fmt.Sprintf("%s with %d worker(s) %s", run.Mode, run.Workers, run.Digest))
		}
	}
	reason := fmt.Sprintf("rebuild is not deterministic: the rebuilt read model's digest differs from the live one's (%s) for %s", rb.LiveDigest, strings.Join(bad, ", "))
	if len(rb.Runs) == 0 {
		reason = "rebuild modes ran no rebuild"
	}
	if res.Reason == "" {
		res.Reason = reason
	} else {
		res.Notes = append(res.Notes, reason)
	}
}
