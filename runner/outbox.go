package runner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/internal/pace"
	"github.com/evbench/evbench/patterns/outbox"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// outboxRun is the transactional outbox of a run with an outbox section:
// the generator's appends become commands through the Writer (so commit
// latency is the command's transaction), and one relay per shard publishes
// the committed rows to the run's producer driver, whose connections go
// through the chaos proxies' producer path like any producer's. The
// projectors read that driver as usual, so e2e and the delivery check span
// the relay.
type outboxRun struct {
	cfg   *scenarios.Outbox
	store *outbox.Store
	lag   *measure.Recorder
	start time.Time

	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	relays  []*outbox.Relay // every relay started, crashed ones included
	current []*outbox.Relay // the running relay of each shard
	restart []time.Duration // per shard: how long a crashed relay stays down
	crashes int
	unsent  int64
	stopped bool
	dedupe  bool // the target stores a republished event ID once
	// backlog samples (under mu)
	backlogT     []float64
	backlog      []int64
	oldestUnsent []float64
}

// outboxRelayLagHlog is the relay lag's interval log in the result directory.
const outboxRelayLagHlog = "relay_lag.hlog"

// startOutbox opens the outbox (creating its tables), makes the generator
// write commands through it and starts the relays and the relay-crash
// timeline. Nothing happens without an outbox section.
func (r *run) startOutbox(ctx context.Context, target drivers.Driver) error {
	oc := r.sc.Outbox
	if oc == nil {
		return nil
	}
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	store, err := outbox.Open(octx, outbox.Config{DSN: oc.DSN, Prefix: oc.Prefix, Relays: oc.Relays, Batch: oc.Batch,
		Interval: oc.Interval.D(), Conns: oc.Conns, Keep: oc.Keep, Logf: r.cfg.Logf})
	if err != nil {
		return err
	}
	w, err := measure.CreateHlog(filepath.Join(r.outDir, outboxRelayLagHlog), r.start)
	if err != nil {
		store.Close(context.WithoutCancel(ctx))
		return err
	}
	r.logs = append(r.logs, w)
	cfg := store.Config()
	o := &outboxRun{cfg: oc, store: store, lag: measure.NewRecorder("relay_lag", r.start, w), start: r.start,
		current: make([]*outbox.Relay, cfg.Relays), restart: make([]time.Duration, cfg.Relays)}
	o.lag.SetWarmup(warmupLength(r.sc.Load))
	r.outbox = o
	if d, ok := target.(drivers.Deduplicator); ok {
		o.dedupe = d.DeduplicatesByID()
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	o.cancel = stop
	for shard := 0; shard < cfg.Relays; shard++ {
		o.wg.Add(1)
		go func() { defer o.wg.Done(); o.superviseRelay(rctx, shard, target) }()
	}
	o.wg.Add(3)
	go func() { defer o.wg.Done(); o.runCrashes(rctx, r.cfg.Logf) }()
	go func() { defer o.wg.Done(); o.roll(rctx) }()
	go func() { defer o.wg.Done(); o.sampleBacklog(rctx) }()
	r.cfg.Logf("%s, tables %s_*", oc, store.Prefix())
	return nil
}

// route makes the generator's appends commands through the outbox Writer.
// A key's commands then go through one worker (startWorkers), one after
// another: the outbox ids of a key are in sequence order, which the
// relays' per-key order relies on. Nothing happens without an outbox.
func (o *outboxRun) route(g *generator) {
	if o == nil {
		return
	}
	g.drv, g.async = commandDriver{w: o.store.Writer()}, nil
}

// superviseRelay keeps one relay of the shard running: a crashed relay is
// replaced after its crash's For, as a process supervisor would.
func (o *outboxRun) superviseRelay(ctx context.Context, shard int, target drivers.Driver) {
	for ctx.Err() == nil {
		rel, err := o.store.NewRelay(shard, target, o.lag)
		if err != nil {
			return // cannot happen: shard < relays
		}
		o.mu.Lock()
		o.relays = append(o.relays, rel)
		o.current[shard] = rel
		o.mu.Unlock()
		if err := rel.Run(ctx); !errors.Is(err, outbox.ErrCrashed) {
			return
		}
		o.mu.Lock()
		down := o.restart[shard]
		o.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(down):
		}
	}
}

// runCrashes executes outbox.relay_crashes on the run's clock.
func (o *outboxRun) runCrashes(ctx context.Context, logf func(string, ...any)) {
	for _, c := range o.cfg.RelayCrashes {
		if !pace.SleepUntil(ctx, o.start.Add(c.At.D())) {
			return
		}
		o.mu.Lock()
		o.restart[c.Relay] = c.For.D()
		if rel := o.current[c.Relay]; rel != nil {
			rel.CrashAfterNextPublish()
			o.crashes++
		}
		o.mu.Unlock()
		logf("outbox relay %d crashes after its next publish (at %v), restarts %v later", c.Relay, c.At, c.For)
	}
}

// roll closes the relay-lag recorder's one-second intervals.
func (o *outboxRun) roll(ctx context.Context) {
	for sec := 1; ; sec++ {
		if !pace.SleepUntil(ctx, o.start.Add(time.Duration(sec)*time.Second)) {
			return
		}
		o.lag.Roll(time.Now())
	}
}

// backlogEvery is how often the unsent backlog is sampled.
const backlogEvery = 250 * time.Millisecond

// sampleBacklog records the unsent rows and the oldest one's age: the
// relays' lag as it grows, before any of it is published.
func (o *outboxRun) sampleBacklog(ctx context.Context) {
	for i := 1; ; i++ {
		if !pace.SleepUntil(ctx, o.start.Add(time.Duration(i)*backlogEvery)) {
			return
		}
		qctx, cancel := context.WithTimeout(ctx, backlogEvery)
		rows, oldest, err := o.store.Backlog(qctx)
		cancel()
		if err != nil {
			continue
		}
		now := time.Now()
		var age float64
		if !oldest.IsZero() {
			age = max(float64(now.Sub(oldest))/float64(time.Millisecond), 0)
		}
		o.mu.Lock()
		o.backlogT = append(o.backlogT, now.Sub(o.start).Seconds())
		o.backlog = append(o.backlog, rows)
		o.oldestUnsent = append(o.oldestUnsent, age)
		o.mu.Unlock()
	}
}

// outboxDrain waits, after the load, until the relays published every
// committed command, bounded by consumers.drain: only then can the
// projectors' drain see every acknowledged event at the store's head.
func (r *run) outboxDrain(ctx context.Context) error {
	if r.outbox == nil {
		return nil
	}
	timeout := r.sc.Consumers.Drain.D()
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := r.outbox.store.WaitSent(dctx, 10*time.Millisecond); err != nil {
		return fmt.Errorf("outbox relays did not publish every committed command within consumers.drain=%v: %w", timeout, err)
	}
	return nil
}

// stopOutbox stops the relays, counts what stayed unsent and drops the
// tables (unless outbox.keep).
func (r *run) stopOutbox(ctx context.Context) {
	o := r.outbox
	if o == nil {
		return
	}
	o.cancel()
	o.wg.Wait()
	o.lag.Close(time.Now())
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if n, err := o.store.Unsent(cctx); err == nil {
		o.unsent = n
	} else {
		r.cfg.Logf("%v", err)
	}
	if err := o.store.Close(cctx); err != nil {
		r.cfg.Logf("%v", err)
	}
	o.stopped = true
}

// fillOutbox adds the outbox's figures to the result.
func (r *run) fillOutbox(res *measure.Result) {
	o := r.outbox
	if o == nil {
		return
	}
	if !o.stopped {
		r.stopOutbox(context.Background())
	}
	cfg := o.store.Config()
	out := &measure.Outbox{Relays: cfg.Relays, Batch: cfg.Batch, IntervalMS: float64(cfg.Interval) / float64(time.Millisecond),
		Prefix: cfg.Prefix, CommandCommit: res.Commit, RelayLag: measure.Summarize(o.lag.Total()), Unsent: o.unsent,
		StoreDeduplicates: o.dedupe}
	o.mu.Lock()
	out.RelayCrashes = o.crashes
	for _, rel := range o.relays {
		out.Published += rel.Published.Load()
		out.Batches += rel.Batches.Load()
		out.Duplicates += rel.Duplicates.Load()
		out.RelayErrors += rel.Errors.Load()
	}
	series := measure.OutboxSeriesOf(o.lag.Summaries())
	series.BacklogT, series.Backlog, series.OldestUnsentMS = o.backlogT, o.backlog, o.oldestUnsent
	for i, n := range o.backlog {
		out.BacklogMax = max(out.BacklogMax, n)
		out.OldestUnsentMaxMS = max(out.OldestUnsentMaxMS, o.oldestUnsent[i])
	}
	o.mu.Unlock()
	res.Outbox = out
	res.Series.Outbox = series
	res.Notes = append(res.Notes, fmt.Sprintf("appends went through a transactional outbox on Postgres (%d relay(s), batch %d): commit latency is the command's transaction, e2e and the delivery check span the relay", cfg.Relays, cfg.Batch))
	switch {
	case out.Duplicates > 0 && o.dedupe:
		res.Notes = append(res.Notes, fmt.Sprintf("%d event(s) were published twice after %d relay crash(es) between publish and mark; the store deduplicates by event ID, so the projectors saw them once", out.Duplicates, out.RelayCrashes))
	case out.Duplicates > 0:
		res.Notes = append(res.Notes, fmt.Sprintf("%d event(s) were published twice after %d relay crash(es) between publish and mark: expected duplicates, counted in delivery.duplicated", out.Duplicates, out.RelayCrashes))
	}
}

// commandDriver is the outbox Writer as the generator's driver: Append is
// a command transaction; the generator uses nothing else.
type commandDriver struct{ w *outbox.Writer }

func (c commandDriver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	return c.w.Append(ctx, batch)
}

func (commandDriver) Subscribe(context.Context, drivers.Cursor, func([]drivers.Delivered) error) error {
	return fmt.Errorf("outbox commands: subscribe: %w (read the relays' target)", drivers.ErrUnsupported)
}

func (commandDriver) Head(context.Context) (drivers.Cursor, error) {
	return nil, fmt.Errorf("outbox commands: head: %w (read the relays' target)", drivers.ErrUnsupported)
}

func (commandDriver) Close() error { return nil }
