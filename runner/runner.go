// Package runner is the engine: it opens the store (embedded or by DSN),
// places the chaos proxies, runs the open-loop generator, the projectors,
// the lag sampler, the pause and fault timelines, then drains, verifies
// delivery, rebuilds, and assembles the result.
package runner

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evbench/evbench/chaos"
	"github.com/evbench/evbench/chaos/supervisor"
	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/internal/pace"
	"github.com/evbench/evbench/live"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// Config is one run.
type Config struct {
	Scenario *scenarios.Scenario
	Driver   string
	DSN      string // "" = the driver's embedded store
	// DataDir is where an embedded store keeps its data; "" = a temp dir
	// removed afterwards unless KeepData.
	DataDir   string
	KeepData  bool
	Reset     bool   // drop what the driver created before the run
	Toxiproxy string // external toxiproxy API URL; "" = in-process
	// Managed starts the driver's store as a child process evbench
	// controls (chaos/supervisor); store faults need it. The embedded
	// refstore becomes managed by itself when the scenario has store faults.
	Managed bool
	// ManagedParams configure the managed store (refstore sync=..., nats
	// sync=default|always, postgres fsync=..., synchronous_commit=...).
	ManagedParams map[string]string
	// Binary is the evbench binary managed refstore and nats children run
	// ("" = this process's executable).
	Binary string
	// LagEvery is the lag sampling interval, default 100 ms.
	LagEvery time.Duration
	// RebuildTimeout bounds the final rebuild, default 5 minutes.
	RebuildTimeout time.Duration
	// Seed fixes key choice and payloads; 0 = random.
	Seed uint64
	// OutDir is the result directory: the .hlog interval logs are streamed
	// into it while the run goes. "" = a temporary directory, removed when
	// Run returns (the result then has no interval logs).
	OutDir string
	// Pacer selects the generator's waiter (internal/pace kinds: timerfd,
	// timer, nanosleep); "" = pace.NewWaiter's default. For A/B runs.
	Pacer string
	// HeapProfile, when set, receives a heap profile taken when the load
	// ends (before drain and rebuild): what the run itself holds.
	HeapProfile string
	Logf        func(format string, args ...any)
	// Live, when set, receives a snapshot of the run about once a second
	// from the start of the load to the end of the drain, and one at each
	// phase change (live/term, live/prom, live/dashboard consume them).
	Live live.Sink
	// Shard, when set, runs one part of a sharded run (shard.go).
	Shard *Shard
}

// ErrIncomplete wraps every reason a run could not complete (store
// unreachable, interrupted, setup failed): the CLI exits 3 for it.
var ErrIncomplete = errors.New("run incomplete")

// Run executes cfg. It always returns a Result (marked incomplete when the
// run could not finish) unless the configuration itself is invalid.
func Run(ctx context.Context, cfg Config) (*measure.Result, error) {
	r := &run{cfg: cfg, sc: cfg.Scenario, errs: newErrorCounter()}
	if cfg.LagEvery <= 0 {
		r.cfg.LagEvery = 100 * time.Millisecond
	}
	if cfg.RebuildTimeout <= 0 {
		r.cfg.RebuildTimeout = 5 * time.Minute
	}
	if cfg.Logf == nil {
		r.cfg.Logf = func(string, ...any) {}
	}
	res := r.newResult()
	r.applyShard(res)
	err := r.execute(ctx, res)
	r.finish(res, err)
	if r.feed != nil {
		r.feed.setPhase(live.PhaseDone)
		r.feed.publish()
	}
	r.closeLogs()
	if r.tmpOut != "" {
		os.RemoveAll(r.tmpOut)
	}
	if err != nil && !errors.Is(err, ErrIncomplete) {
		err = fmt.Errorf("%w: %w", ErrIncomplete, err)
	}
	return res, err
}

type run struct {
	cfg  Config
	sc   *scenarios.Scenario
	reg  drivers.Registration
	errs *errorCounter

	start     time.Time
	end       time.Time
	sched     *Schedule
	ledger    *ledger
	gen       *generator
	projs     []*projector
	sampler   *lagSampler
	chaos     *chaos.Chaos
	pauses    []measure.Window
	rebuilt   *rebuildResult
	drainErr  error
	drained   bool // projectors reached the head after the last ack
	commit    *measure.Recorder
	service   *measure.Recorder
	e2e       *measure.Recorder
	sendDelay *measure.Recorder
	failedLat *measure.Recorder
	outages   *outageTracker
	embedded  drivers.Embedded
	managed   *supervisor.Store
	storeTL   *chaos.StoreTimeline
	scan      *projector // the durable scan after store faults
	outDir    string     // where the interval logs go
	tmpOut    string     // a temporary outDir to remove
	logs      []*measure.HlogWriter
	cpu       cpuClock
	feed      *liveFeed
	outbox    *outboxRun // the transactional outbox (scenario section outbox)
	fresh     *freshness
	handling  *handling         // consumer handling (handler.go); nil: none
	rebuilds  *measure.Rebuilds // rebuild modes compared (consumers.rebuild_workers, snapshot)
	schema    *schemaReaders    // schema-evolution readers (events.versions, consumers.canary)
	shard     *shardRun         // a part of a sharded run (shard.go); nil: unsharded
	// warmAcked is the acked count when the warm-up ended (-1 until then).
	warmAcked atomic.Int64
}

// recorders are the run's latency recorders, in result order.
func (r *run) recorders() []*measure.Recorder {
	return []*measure.Recorder{r.commit, r.service, r.e2e, r.sendDelay, r.failedLat}
}

// newRecorder starts a recorder whose intervals stream to its .hlog file.
func (r *run) newRecorder(name string) (*measure.Recorder, error) {
	w, err := measure.CreateHlog(filepath.Join(r.outDir, measure.HlogNames[name]), r.start)
	if err != nil {
		return nil, err
	}
	r.logs = append(r.logs, w)
	return measure.NewRecorder(name, r.start, w), nil
}

func (r *run) closeLogs() {
	for _, w := range r.logs {
		if err := w.Close(); err != nil {
			r.cfg.Logf("%v", err)
		}
	}
	r.logs = nil
}

// hlogPath is the interval log of a recorder.
func (r *run) hlogPath(name string) string { return filepath.Join(r.outDir, measure.HlogNames[name]) }

func (r *run) newResult() *measure.Result {
	resolved, _ := json.Marshal(r.sc)
	return &measure.Result{
		Schema:      measure.SchemaV1,
		Scenario:    measure.ScenarioInfo{Name: r.sc.Name, Source: r.sc.Source, Resolved: resolved},
		Driver:      measure.DriverInfo{Name: r.cfg.Driver, DSN: drivers.RedactDSN(r.cfg.DSN), Embedded: r.cfg.DSN == ""},
		StartedAt:   time.Now().UTC(),
		CatchUp:     []measure.CatchUp{},
		Faults:      []measure.FaultWindow{},
		Gates:       []measure.GateResult{},
		Environment: environment(),
	}
}

// execute sets up, runs the load and the consumers, and tears down.
// Every resource is released by a defer, in reverse order, whatever happens.
func (r *run) execute(ctx context.Context, res *measure.Result) (err error) {
	reg, err := drivers.Lookup(r.cfg.Driver)
	if err != nil {
		return err
	}
	r.reg = reg
	res.Driver.DSN = drivers.RedactDSN(r.cfg.DSN)
	if err := CheckFaultsReachable(reg, r.sc); err != nil {
		return err
	}
	if err := CheckCapabilities(reg, r.sc); err != nil {
		return err
	}
	if err := CheckDurable(reg, r.sc); err != nil {
		return err
	}
	managed, err := ManagedFor(reg.Name, r.cfg.DSN, r.cfg.Managed, r.sc)
	if err != nil {
		return err
	}

	dsn := r.cfg.DSN
	if managed {
		store, err := r.startManaged(ctx)
		if err != nil {
			return fmt.Errorf("start managed %s: %w", reg.Name, err)
		}
		r.managed = store
		defer store.Close()
		dsn = store.DSN()
		res.Driver.Managed, res.Driver.Embedded = true, false
		res.Driver.DSN = drivers.RedactDSN(dsn)
		res.Driver.Describe = store.Describe()
	} else if dsn == "" {
		if reg.Embed == nil {
			return fmt.Errorf("driver %s has no embedded store: pass --dsn, e.g. %s", reg.Name, reg.DSNExample)
		}
		dir := r.cfg.DataDir
		if dir == "" {
			dir, err = os.MkdirTemp("", "evbench-"+reg.Name+"-")
			if err != nil {
				return fmt.Errorf("create data dir: %w", err)
			}
			if !r.cfg.KeepData {
				defer os.RemoveAll(dir)
			} else {
				r.cfg.Logf("keeping embedded data in %s", dir)
			}
		}
		emb, err := reg.Embed(ctx, dir)
		if err != nil {
			return fmt.Errorf("start embedded %s: %w", reg.Name, err)
		}
		r.embedded = emb
		defer emb.Close()
		dsn = emb.DSN()
		res.Driver.DSN = drivers.RedactDSN(dsn)
		res.Driver.Describe = emb.Describe()
	}

	prodOpts := drivers.Options{Role: "producer", Logf: r.cfg.Logf, Reset: r.cfg.Reset}
	consOpts := drivers.Options{Role: "consumer", Logf: r.cfg.Logf}
	if len(chaos.NetworkFaults(r.sc.Faults)) > 0 {
		ch, err := chaos.New(ctx, chaos.Options{External: r.cfg.Toxiproxy, Logf: r.cfg.Logf})
		if err != nil {
			return err
		}
		r.chaos = ch
		defer ch.Close()
		prodOpts.Dial = ch.Dialer("producer")
		consOpts.Dial = ch.Dialer("consumer")
	}

	if err := checkDSN(reg, dsn, r.sc); err != nil {
		return err
	}
	producer, err := openDriver(ctx, reg, dsn, prodOpts)
	if err != nil {
		return err
	}
	defer producer.Close()
	consumer, err := openDriver(ctx, reg, dsn, consOpts)
	if err != nil {
		return err
	}
	defer consumer.Close()
	control, err := openDriver(ctx, reg, dsn, drivers.Options{Role: "control", Logf: r.cfg.Logf})
	if err != nil {
		return err
	}
	defer control.Close()
	if d, ok := producer.(interface{ Describe() string }); ok && res.Driver.Describe == "" {
		res.Driver.Describe = d.Describe()
	}
	if d := r.durability(ctx, producer); d != nil {
		res.Durability = &measure.Durability{AckAfterFsync: d.AckAfterFsync, Replication: d.Replication, Detail: d.Detail, Source: d.Source}
	}
	res.Driver.Emulated, _ = drivers.IsEmulated(producer) // pstest, SQS emulators: latency not meaningful
	if b, ok := producer.(drivers.BatchAtomicity); ok {
		atomic := b.BatchAtomic()
		res.Driver.BatchAtomic = &atomic
	}

	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	from, err := control.Head(hctx)
	cancel()
	if err != nil {
		return fmt.Errorf("%s: read head: %w", reg.Name, err)
	}
	return r.load(ctx, res, producer, consumer, control, from)
}

// CheckFaultsReachable refuses a scenario with faults on a driver the
// chaos proxies cannot stand in front of.
func CheckFaultsReachable(reg drivers.Registration, sc *scenarios.Scenario) error {
	if n := len(chaos.NetworkFaults(sc.Faults)); reg.InProcess && n > 0 {
		return fmt.Errorf("driver %s opens no network connection, so its %d fault(s) could not be injected; use a networked driver (e.g. --driver refstore) or remove faults with --set faults=[]", reg.Name, n)
	}
	return nil
}

// startLead is how far after setup begins the schedule's t=0 lies.
const startLead = 50 * time.Millisecond

// MaxTrackedBytes bounds the delivery state one run may keep: per key, the
// ledger's counter and name and each projector's state. Events cost
// nothing, so any number of them can be verified.
const MaxTrackedBytes = 4 << 30

// bytesPerKey is a generous estimate of one key's delivery state: the
// ledger's counter (8 B) and the source's name string (~32 B), and per
// projector a map entry and its keyState (~120 B).
const bytesPerKey, bytesPerKeyProjector = 48, 120

// CheckCapacity refuses a scenario whose delivery state would not fit the
// limit, before anything starts.
func CheckCapacity(sc *scenarios.Scenario) error {
	keys, projs := int64(sc.Events.Keys.Count), int64(sc.Consumers.Projectors)
	need := keys * (bytesPerKey + projs*bytesPerKeyProjector)
	if need > MaxTrackedBytes {
		return fmt.Errorf("scenario %s: events.keys.count %d with %d projector(s) needs about %.1f GiB of delivery state, more than the %d GiB limit; use fewer keys or projectors",
			sc.Name, keys, projs, float64(need)/(1<<30), MaxTrackedBytes>>30)
	}
	return nil
}

// openDriver opens with the 5 s budget the CLI promises for unreachable stores.
func openDriver(ctx context.Context, reg drivers.Registration, dsn string, opts drivers.Options) (drivers.Driver, error) {
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d, err := reg.Open(octx, dsn, opts)
	if err != nil {
		return nil, fmt.Errorf("open %s (%s): %w", reg.Name, opts.Role, err)
	}
	return d, nil
}

func randomRunID() (id [8]byte) {
	if _, err := rand.Read(id[:]); err != nil {
		binary.BigEndian.PutUint64(id[:], uint64(time.Now().UnixNano()))
	}
	return id
}

// load runs the measured part: generator, projectors, sampler, timelines,
// then drain, delivery check and rebuild.
func (r *run) load(ctx context.Context, res *measure.Result, producer, consumer, control drivers.Driver, from drivers.Cursor) error {
	sc := r.sc
	r.sched = NewSchedule(sc.Load)
	if r.shard != nil {
		// The whole profile, every N-th event: the shards interleave and
		// together send exactly what one run would.
		sh := r.shard.cfg
		r.sched = NewSchedule(r.shard.whole.Load).Stride(sh.Index, sh.Count)
	}
	if err := CheckCapacity(sc); err != nil {
		return err
	}
	if err := r.agreeStart(ctx, control); err != nil {
		return err
	}
	r.ledger = r.newRunLedger(sc.Events.Keys.Count)
	seed := r.cfg.Seed
	if seed == 0 {
		seed = binary.BigEndian.Uint64(r.ledger.runID[:])
	}
	src, err := newScenarioSource(sc, seed, r.ledger)
	if err != nil {
		return fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	if r.handling, err = openHandling(ctx, sc, r.ledger.runID, seed, consumer); err != nil {
		return fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	defer r.handling.close()
	var waiter *pace.Waiter
	if r.cfg.Pacer != "" {
		if waiter, err = pace.New(r.cfg.Pacer); err != nil {
			return fmt.Errorf("pacer: %w", err)
		}
	} else {
		waiter = pace.NewWaiter()
	}
	defer waiter.Close()

	r.outDir = r.cfg.OutDir
	if r.outDir == "" {
		if r.outDir, err = os.MkdirTemp("", "evbench-run-"); err != nil {
			return fmt.Errorf("create temporary result directory: %w", err)
		}
		r.tmpOut = r.outDir
	} else if err := os.MkdirAll(r.outDir, 0o755); err != nil {
		return fmt.Errorf("create result directory: %w", err)
	}
	// Warm up before the clock starts: what the first second would
	// otherwise pay (key names, a heap with the setup's garbage) is not the
	// store's latency.
	src.warm()
	runtime.GC()
	if r.managed != nil && r.managed.FS() != nil {
		// The store's setup (stream, schema, first segment) counts as
		// written back, as on a store that had been running: a power cut
		// measures what the store loses of the load (faultfs.Settle).
		r.managed.FS().Settle()
	}
	// The schedule starts a little after now, so the setup below (interval
	// logs, projectors, sampler) cannot make the first events late.
	r.start = r.startInstant()
	r.errs.setStart(r.start)
	r.outages = newOutageTracker(r.start)
	res.StartedAt = r.start.UTC()
	for _, x := range []struct {
		rec  **measure.Recorder
		name string
	}{{&r.commit, "commit"}, {&r.service, "service_time"}, {&r.e2e, "e2e"}, {&r.sendDelay, "send_delay"}, {&r.failedLat, "failed"}} {
		if *x.rec, err = r.newRecorder(x.name); err != nil {
			return err
		}
		(*x.rec).SetWarmup(warmupLength(sc.Load))
	}
	r.cpu = startCPUClock()

	if err := r.startOutbox(ctx, producer); err != nil {
		return err
	}
	defer r.stopOutbox(ctx)
	window := sc.Load.MaxInFlight
	if window <= 0 {
		window = 1024
	}
	batch := sc.Events.Batch
	if batch <= 0 {
		batch = 1
	}
	r.gen = &generator{
		sched: r.sched, start: r.start, drv: producer, batch: batch, window: window,
		source: src, ledger: r.ledger, waiter: waiter, commit: r.commit, service: r.service, sendDelay: r.sendDelay,
		failedLat: r.failedLat, errs: r.errs, outages: r.outages, retry: sc.Load.Retry,
	}
	if a, ok := producer.(drivers.AsyncAppender); ok {
		r.gen.async = a
	}
	if err := r.gen.useCommands(sc, producer); err != nil {
		return err
	}
	r.outbox.route(r.gen) // appends become outbox commands
	storeFaults := chaos.StoreFaults(sc.Faults)
	if len(storeFaults) > 0 {
		r.gen.acks = newAckRing(ackRingCapacity(sc.Load))
	}

	r.fresh = newFreshness(r.start, src.pool.Types(), sc.Consumers.Projectors)
	r.gen.fresh = r.fresh
	consCtx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()
	var wg sync.WaitGroup
	if err := r.checkDurableConsumer(consumer); err != nil {
		return err
	}
	for i := 0; i < sc.Consumers.Projectors; i++ {
		p := newProjector(i, consumer, from, r.ledger, r.e2e, r.errs, newRunClock(r.start), r.outages)
		p.fresh = r.fresh
		r.durableFor(p, consumer)
		p.handler = r.handling.forProjector(i, r.start)
		r.projs = append(r.projs, p)
		wg.Add(1)
		go func() { defer wg.Done(); p.run(consCtx) }()
	}
	r.startSchemaReaders(consCtx, consumer, from, &wg)
	fold := r.startLiveFold(ctx, control, from) // the live read model rebuilds are checked against
	defer fold.stop()
	r.sampler = &lagSampler{control: control, projectors: r.projs, start: r.start, every: r.cfg.LagEvery, errs: r.errs, outages: r.outages,
		rewind: len(storeFaults) > 0}
	wg.Add(1)
	go func() { defer wg.Done(); r.sampler.run(consCtx) }()
	wg.Add(1)
	go func() { defer wg.Done(); r.runPauses(consCtx) }()
	wg.Add(1)
	go func() { defer wg.Done(); r.runConsumerRestarts(consCtx) }()
	wg.Add(1)
	go func() { defer wg.Done(); r.fresh.run(consCtx, r.cfg.LagEvery) }()
	wg.Add(1)
	go func() { defer wg.Done(); r.rollIntervals(consCtx) }()
	if r.chaos != nil {
		if err := r.chaos.Start(consCtx, r.start, chaos.NetworkFaults(sc.Faults)); err != nil {
			return err
		}
	}
	if len(storeFaults) > 0 {
		tl, err := chaos.StartStoreFaults(consCtx, r.start, storeFaults, storeControl{r.managed}, r.cfg.Logf)
		if err != nil {
			return err
		}
		r.storeTL = tl
	}
	r.warmAcked.Store(-1)
	if w := warmupLength(sc.Load); w > 0 {
		t := time.AfterFunc(time.Until(r.start.Add(w)), func() { r.warmAcked.Store(r.gen.acked.Load()) })
		defer t.Stop()
	}
	r.feed = newLiveFeed(r, res)
	r.feed.setPhase(live.PhaseLoad)
	if r.cfg.Live != nil {
		r.feed.publish() // t=0: the display shows the run before its first second ends
		wg.Add(1)
		go func() { defer wg.Done(); r.feed.run(consCtx) }()
	}

	r.gen.run(ctx)
	r.end = time.Now()
	r.feed.setPhase(live.PhaseDrain)
	r.feed.publish()
	r.cpu.stop()
	if r.cfg.HeapProfile != "" {
		if err := writeHeapProfile(r.cfg.HeapProfile); err != nil {
			r.cfg.Logf("%v", err)
		}
	}
	if r.storeTL != nil {
		r.storeTL.Wait() // the store is back before the drain looks for the head
	}
	interrupted := ctx.Err() != nil
	if !interrupted {
		r.drainErr = r.drain(ctx, control)
		r.drained = r.drainErr == nil
	}
	r.drainSchemaReaders(ctx, control)
	if r.storeTL != nil && ctx.Err() == nil {
		r.scan = r.durableScan(ctx, consumer, control, from)
	}
	stopConsumers()
	wg.Wait()
	r.redriveDLQ(ctx)
	r.settleHandling()
	for _, rec := range r.recorders() {
		rec.Close(time.Now())
	}

	if interrupted || ctx.Err() != nil {
		return fmt.Errorf("%w: interrupted", ErrIncomplete)
	}
	if sc.Consumers.Rebuild == "end" && !rebuildUnsupported(res, consumer, r.cfg.Logf) {
		r.feed.setPhase(live.PhaseRebuild)
		r.feed.publish()
		rctx, cancel := context.WithTimeout(ctx, r.cfg.RebuildTimeout)
		rb, err := rebuild(rctx, consumer, control, from, r.errs)
		cancel()
		r.rebuilt = &rb
		if ctx.Err() != nil {
			return fmt.Errorf("%w: interrupted during rebuild", ErrIncomplete)
		}
		if err != nil {
			return err
		}
		if err := r.rebuildModes(ctx, consumer, control, from, fold); err != nil {
			return err
		}
	}
	return nil
}

// drain waits until every projector has consumed everything acknowledged,
// bounded by consumers.drain. The head is read after the last append
// completed, so lag 0 means every acked event was offered to the projector.
func (r *run) drain(ctx context.Context, control drivers.Driver) error {
	if err := r.outboxDrain(ctx); err != nil {
		return err
	}
	if len(r.projs) == 0 {
		return nil
	}
	timeout := r.sc.Consumers.Drain.D()
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		if l, ok := r.sampler.sample(ctx); ok && l == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("projectors did not reach the head within consumers.drain=%v", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// rollIntervals closes the recorders' one-second intervals on the run's
// clock, streaming each to its interval log.
func (r *run) rollIntervals(ctx context.Context) {
	for sec := 1; ; sec++ {
		if !pace.SleepUntil(ctx, r.start.Add(time.Duration(sec)*time.Second)) {
			return
		}
		now := time.Now()
		for _, rec := range r.recorders() {
			rec.Roll(now)
		}
	}
}

// runPauses executes consumers.pause on the run's clock.
func (r *run) runPauses(ctx context.Context) {
	for _, p := range r.sc.Consumers.Pause {
		if !pace.SleepUntil(ctx, r.start.Add(p.At.D())) {
			return
		}
		for _, pr := range r.projs {
			pr.pause()
		}
		r.cfg.Logf("consumers paused at %v for %v", p.At, p.For)
		ok := pace.SleepUntil(ctx, r.start.Add(p.At.D()+p.For.D()))
		for _, pr := range r.projs {
			pr.resume()
		}
		if !ok {
			return
		}
	}
}
