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
	"sync"
	"time"

	"github.com/evbench/evbench/chaos"
	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/internal/pace"
	"github.com/evbench/evbench/reports"
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
	// LagEvery is the lag sampling interval, default 100 ms.
	LagEvery time.Duration
	// RebuildTimeout bounds the final rebuild, default 5 minutes.
	RebuildTimeout time.Duration
	// Seed fixes key choice and payloads; 0 = random.
	Seed uint64
	Logf func(format string, args ...any)
	// Progress, when set, is called about once a second during the load.
	Progress func(Progress)
}

// Progress is a live snapshot for the terminal.
type Progress struct {
	Elapsed, Total time.Duration
	Acked, Failed  int64
	Lag            int64
}

// ErrIncomplete wraps every reason a run could not complete (store
// unreachable, interrupted, setup failed): the CLI exits 3 for it.
var ErrIncomplete = errors.New("run incomplete")

// Recordings are the latency recorders of a run, for the HDR logs.
type Recordings = reports.Recordings

// Run executes cfg. It always returns a Result (marked incomplete when the
// run could not finish) unless the configuration itself is invalid.
func Run(ctx context.Context, cfg Config) (*reports.Result, Recordings, error) {
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
	err := r.execute(ctx, res)
	r.finish(res, err)
	if err != nil && !errors.Is(err, ErrIncomplete) {
		err = fmt.Errorf("%w: %w", ErrIncomplete, err)
	}
	return res, r.recordings(), err
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
	pauses    []reports.Window
	rebuilt   *rebuildResult
	drainErr  error
	drained   bool // projectors reached the head after the last ack
	commit    *reports.Recorder
	service   *reports.Recorder
	e2e       *reports.Recorder
	sendDelay *reports.Recorder
	embedded  drivers.Embedded
}

func (r *run) recordings() Recordings {
	return Recordings{Commit: r.commit, ServiceTime: r.service, E2E: r.e2e}
}

func (r *run) newResult() *reports.Result {
	resolved, _ := json.Marshal(r.sc)
	return &reports.Result{
		Schema:      reports.SchemaV1,
		Scenario:    reports.ScenarioInfo{Name: r.sc.Name, Source: r.sc.Source, Resolved: resolved},
		Driver:      reports.DriverInfo{Name: r.cfg.Driver, DSN: drivers.RedactDSN(r.cfg.DSN), Embedded: r.cfg.DSN == ""},
		StartedAt:   time.Now().UTC(),
		CatchUp:     []reports.CatchUp{},
		Faults:      []reports.FaultWindow{},
		Gates:       []reports.GateResult{},
		Environment: environment(),
	}
}

// execute sets up, runs the load and the consumers, and tears down.
// Every resource is released by a defer, in reverse order, whatever happens.
func (r *run) execute(ctx context.Context, res *reports.Result) (err error) {
	reg, err := drivers.Lookup(r.cfg.Driver)
	if err != nil {
		return err
	}
	r.reg = reg
	res.Driver.DSN = reg.RedactDSN(r.cfg.DSN)
	if err := CheckFaultsReachable(reg, r.sc); err != nil {
		return err
	}

	dsn := r.cfg.DSN
	if dsn == "" {
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
		res.Driver.DSN = reg.RedactDSN(dsn)
		res.Driver.Describe = emb.Describe()
	}

	prodOpts := drivers.Options{Role: "producer", Logf: r.cfg.Logf, Reset: r.cfg.Reset}
	consOpts := drivers.Options{Role: "consumer", Logf: r.cfg.Logf}
	if len(r.sc.Faults) > 0 {
		ch, err := chaos.New(ctx, chaos.Options{External: r.cfg.Toxiproxy, Logf: r.cfg.Logf})
		if err != nil {
			return err
		}
		r.chaos = ch
		defer ch.Close()
		prodOpts.Dial = ch.Dialer("producer")
		consOpts.Dial = ch.Dialer("consumer")
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
	if reg.InProcess && len(sc.Faults) > 0 {
		return fmt.Errorf("driver %s opens no network connection, so its %d fault(s) could not be injected; use a networked driver (e.g. --driver refstore) or remove faults with --set faults=[]", reg.Name, len(sc.Faults))
	}
	return nil
}

// MaxEvents bounds one run: the delivery ledger costs a byte per event and
// projector.
const MaxEvents = 1 << 30

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
func (r *run) load(ctx context.Context, res *reports.Result, producer, consumer, control drivers.Driver, from drivers.Cursor) error {
	sc := r.sc
	r.sched = NewSchedule(sc.Load)
	if total := r.sched.Total(); total > MaxEvents {
		return fmt.Errorf("scenario %s schedules %d events, more than the %d one run can track (one byte each per projector); shorten the run, lower the rate, or cap it with load.events", sc.Name, total, MaxEvents)
	}
	r.ledger = newLedger(randomRunID(), r.sched.Total())
	seed := r.cfg.Seed
	if seed == 0 {
		seed = binary.BigEndian.Uint64(r.ledger.runID[:])
	}
	src, err := newScenarioSource(sc, seed, r.ledger)
	if err != nil {
		return fmt.Errorf("scenario %s: %w", sc.Name, err)
	}

	r.start = time.Now()
	r.errs.setStart(r.start)
	res.StartedAt = r.start.UTC()
	r.commit = reports.NewRecorder("commit", r.start)
	r.service = reports.NewRecorder("service_time", r.start)
	r.e2e = reports.NewRecorder("e2e", r.start)
	r.sendDelay = reports.NewRecorder("send_delay", r.start)

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
		source: src, ledger: r.ledger, commit: r.commit, service: r.service, sendDelay: r.sendDelay, errs: r.errs,
	}
	if a, ok := producer.(drivers.AsyncAppender); ok {
		r.gen.async = a
	}

	consCtx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()
	var wg sync.WaitGroup
	for i := 0; i < sc.Consumers.Projectors; i++ {
		p := newProjector(i, consumer, from, r.ledger, r.e2e, r.errs)
		r.projs = append(r.projs, p)
		wg.Add(1)
		go func() { defer wg.Done(); p.run(consCtx) }()
	}
	r.sampler = &lagSampler{control: control, projectors: r.projs, start: r.start, every: r.cfg.LagEvery, errs: r.errs}
	wg.Add(1)
	go func() { defer wg.Done(); r.sampler.run(consCtx) }()
	wg.Add(1)
	go func() { defer wg.Done(); r.runPauses(consCtx) }()
	if r.chaos != nil {
		if err := r.chaos.Start(consCtx, r.start, sc.Faults); err != nil {
			return err
		}
	}
	if r.cfg.Progress != nil {
		wg.Add(1)
		go func() { defer wg.Done(); r.reportProgress(consCtx) }()
	}

	r.gen.run(ctx)
	r.end = time.Now()
	interrupted := ctx.Err() != nil
	if !interrupted {
		r.drainErr = r.drain(ctx, control)
		r.drained = r.drainErr == nil
	}
	stopConsumers()
	wg.Wait()
	r.commit.Flush(time.Now(), true)
	r.service.Flush(time.Now(), true)
	r.e2e.Flush(time.Now(), true)

	if interrupted || ctx.Err() != nil {
		return fmt.Errorf("%w: interrupted", ErrIncomplete)
	}
	if sc.Consumers.Rebuild == "end" {
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
	}
	return nil
}

// drain waits until every projector has consumed everything acknowledged,
// bounded by consumers.drain. The head is read after the last append
// completed, so lag 0 means every acked event was offered to the projector.
func (r *run) drain(ctx context.Context, control drivers.Driver) error {
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

func (r *run) reportProgress(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var lag int64
		if s := r.sampler.all(); len(s) > 0 {
			lag = s[len(s)-1].lag
		}
		r.cfg.Progress(Progress{Elapsed: time.Since(r.start), Total: r.sched.Duration(),
			Acked: r.gen.acked.Load(), Failed: r.gen.failed.Load(), Lag: lag})
	}
}
