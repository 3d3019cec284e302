package probe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/evbench/evbench/reports/gate"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/runner"
	"github.com/evbench/evbench/scenarios"
)

// DefaultSLO is the SLO a probe judges each step by when none is given.
var DefaultSLO = []string{"commit.p99 < 50ms"}

// Defaults of Config.
const (
	DefaultMin        = 100.0
	DefaultMax        = 1e6
	DefaultStep       = 10 * time.Second
	DefaultWarmup     = 3 * time.Second
	DefaultResolution = 0.05
	// SubWindows is how many equal sub-windows of a step's measured part
	// are judged on their own; all but one must meet the SLO.
	SubWindows = 5
)

// minStep is the shortest measured step Check accepts: five sub-windows of
// at least one second each, the resolution of the interval logs. Tests
// lower it to keep runs short.
var minStep = SubWindows * time.Second

// Config is one probe.
type Config struct {
	// Scenario gives the event shape, keys, batch and consumers; its load
	// profile, pauses, faults, gates and steady state are replaced per step
	// (load.max_in_flight and load.retry are kept: they are the client's).
	Scenario    *scenarios.Scenario
	Driver, DSN string
	// SLO are gate expressions each step must meet; default DefaultSLO.
	// Lag-not-growing and client.limited are judged always.
	SLO []string
	// Min and Max bound the offered rate, events/s; defaults 100 and 1e6.
	Min, Max float64
	// Step is the measured length of each step (default 10s, at least 5s,
	// whole seconds); Warmup precedes it and is excluded from every
	// statistic (default 3s, whole seconds).
	Step, Warmup time.Duration
	// Resolution is the relative gap (fail-pass)/pass at which the
	// bisection stops, in (0, 0.5]; default 0.05.
	Resolution float64
	// OutDir is the probe directory: probe.json, and each step's result
	// directory under steps/NN-RATE/. Required.
	OutDir string
	Logf   func(string, ...any)
	// OnStep is called after each step (the CLI prints a table row).
	OnStep func(Step)
	// Run runs one step; default runner.Run (tests stub it).
	Run func(ctx context.Context, cfg runner.Config) (*measure.Result, error)
}

// withDefaults fills the zero fields of cfg.
func withDefaults(cfg Config) Config {
	if len(cfg.SLO) == 0 {
		cfg.SLO = DefaultSLO
	}
	if cfg.Min == 0 {
		cfg.Min = DefaultMin
	}
	if cfg.Max == 0 {
		cfg.Max = DefaultMax
	}
	if cfg.Step == 0 {
		cfg.Step = DefaultStep
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = DefaultWarmup
	}
	if cfg.Resolution == 0 {
		cfg.Resolution = DefaultResolution
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Run == nil {
		cfg.Run = runner.Run
	}
	return cfg
}

// latencyPrefixes are the distributions a step measures per window.
var latencyPrefixes = []string{"commit", "e2e", "service_time", "send_delay"}

// measurable reports whether a step can compute metric, and what the
// scenario must have for it ("" when nothing).
func measurable(metric string) (ok bool, needsProjectors bool) {
	switch metric {
	case "lag.max", "lag.p95":
		return true, true
	case "achieved_rate", "client.limited", "events.failed_rate":
		return true, false
	}
	prefix, stat, found := strings.Cut(metric, ".")
	if !found {
		return false, false
	}
	switch stat {
	case "p50", "p90", "p95", "p99", "p999", "max", "mean", "min":
	default:
		return false, false
	}
	for _, p := range latencyPrefixes {
		if p == prefix {
			return true, prefix == "e2e"
		}
	}
	return false, false
}

// Check validates cfg (after defaults) and returns one line naming the
// flag and the fix for the first problem.
func Check(cfg Config) error {
	cfg = withDefaults(cfg)
	switch {
	case cfg.Scenario == nil:
		return errors.New("probe: no scenario; give a built-in name or a YAML path")
	case cfg.OutDir == "":
		return errors.New("probe: no output directory; pass --out DIR")
	case cfg.Min <= 0 || math.IsNaN(cfg.Min) || math.IsInf(cfg.Min, 0):
		return fmt.Errorf("probe: --min %g must be a positive rate in events/s, e.g. --min 100", cfg.Min)
	case math.IsNaN(cfg.Max) || math.IsInf(cfg.Max, 0):
		return fmt.Errorf("probe: --max %g must be a finite rate in events/s, e.g. --max 1000000", cfg.Max)
	case cfg.Min > cfg.Max:
		return fmt.Errorf("probe: --min %g is above --max %g; lower --min or raise --max", cfg.Min, cfg.Max)
	case cfg.Step < minStep:
		return fmt.Errorf("probe: --step %v is too short; use at least %v (%d sub-windows of at least %v each)", cfg.Step, minStep, SubWindows, minStep/SubWindows)
	case cfg.Step%time.Second != 0:
		return fmt.Errorf("probe: --step %v is not a whole number of seconds (the interval logs' resolution); use e.g. --step %v", cfg.Step, cfg.Step.Round(time.Second))
	case cfg.Warmup < 0 || cfg.Warmup%time.Second != 0:
		return fmt.Errorf("probe: --warmup %v must be a whole number of seconds >= 0, e.g. --warmup 3s", cfg.Warmup)
	case !(cfg.Resolution > 0 && cfg.Resolution <= 0.5):
		return fmt.Errorf("probe: --resolution %g is outside (0, 0.5]; use e.g. --resolution 0.05 (5 %%)", cfg.Resolution)
	}
	for _, s := range cfg.SLO {
		e, err := gate.Parse(s)
		if err != nil {
			return fmt.Errorf("probe: --slo: %w", err)
		}
		if err := gate.Check(s); err != nil {
			return fmt.Errorf("probe: --slo: %w", err)
		}
		if e.UsesBaseline() {
			return fmt.Errorf("probe: --slo %q refers to a baseline; a probe step has none, write an absolute threshold such as \"commit.p99 < 50ms\"", s)
		}
		ok, needsProj := measurable(e.Metric())
		if !ok {
			return fmt.Errorf("probe: --slo %q: a probe step cannot measure %s; use commit.*, e2e.*, service_time.* or send_delay.* percentiles, max, min or mean, lag.max, lag.p95, achieved_rate, client.limited or events.failed_rate", s, e.Metric())
		}
		if needsProj && cfg.Scenario.Consumers.Projectors <= 0 {
			return fmt.Errorf("probe: --slo %q needs projectors, and the scenario has none; add --set consumers.projectors=1 or drop the SLO", s)
		}
	}
	return nil
}

// stepScenario is the scenario of one step: sc's events and consumers at
// a constant rate for d, with nothing that disturbs a steady state.
func stepScenario(sc *scenarios.Scenario, rate float64, d, step time.Duration) *scenarios.Scenario {
	c := *sc
	c.Load = scenarios.Load{Start: rate, Duration: scenarios.Duration(d),
		MaxInFlight: sc.Load.MaxInFlight, Retry: sc.Load.Retry}
	c.Consumers.Pause = nil
	c.Consumers.Rebuild = "none"
	// The delivery check is not the probe's business: do not wait for
	// a lagging projection much longer than a step.
	if c.Consumers.Drain.D() > step || c.Consumers.Drain == 0 {
		c.Consumers.Drain = scenarios.Duration(step)
	}
	c.Faults = nil
	c.Gates = nil
	c.SteadyState = scenarios.SteadyState{}
	return &c
}

// prober is one probe in progress.
type prober struct {
	ctx context.Context
	cfg Config
	res *Result
	n   int // steps run so far
	err error
}

// Run probes cfg's store: a geometric ramp from Min (x2 per step, Max
// tried last) until the first failing step, then bisection between the
// highest passing and the lowest failing rate until their relative gap is
// at most Resolution. It writes OutDir/probe.json after every step.
//
// A client-limited step stops the search (ClientLimitedAt): it says
// nothing about the store. A step whose run could not complete stops it
// too: Run then returns the result (Complete false) and an error wrapping
// runner.ErrIncomplete (the CLI's exit 3). A bad Config is an error
// without a result (exit 2). Otherwise the error is nil, even when Min
// already failed (MaxSustainableRate 0: the CLI's exit 1).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := Check(cfg); err != nil {
		return nil, err
	}
	cfg = withDefaults(cfg)
	if err := os.MkdirAll(filepath.Join(cfg.OutDir, "steps"), 0o755); err != nil {
		return nil, fmt.Errorf("%w: probe: create %s: %w; check --out", runner.ErrIncomplete, cfg.OutDir, err)
	}
	p := &prober{ctx: ctx, cfg: cfg, res: &Result{
		Schema: SchemaV1, Complete: true, Scenario: cfg.Scenario.Name, StartedAt: time.Now().UTC(),
		SLO: cfg.SLO, Resolution: cfg.Resolution, Steps: []Step{},
	}}
	p.search()
	r := p.res
	if p.err == nil && r.MaxSustainableRate > 0 && p.ctx.Err() == nil {
		p.measureRebuild(r.MaxSustainableRate)
	}
	switch {
	case p.err != nil:
		r.Complete = false
		r.Reason = p.err.Error()
	case r.ClientLimitedAt > 0:
		r.Reason = fmt.Sprintf("evbench itself was the limit at %s events/s (client limited); the store's limit may be higher", fmtRate(r.ClientLimitedAt))
	case r.MaxSustainableRate == 0:
		r.Reason = fmt.Sprintf("even --min %s events/s failed the SLO", fmtRate(cfg.Min))
	case r.FirstFailingRate == 0:
		r.Reason = fmt.Sprintf("every step passed up to --max %s events/s; raise --max to find the limit", fmtRate(cfg.Max))
	}
	if err := WriteResult(cfg.OutDir, r); err != nil {
		return r, errors.Join(p.err, err)
	}
	return r, p.err
}

// search runs the ramp and the bisection, filling p.res.
func (p *prober) search() {
	cfg, r := p.cfg, p.res
	var pass, fail float64
	rate := cfg.Min
	for {
		ok, stop := p.judge(rate)
		if stop {
			return
		}
		if !ok {
			fail = rate
			break
		}
		pass = rate
		if rate >= cfg.Max {
			return
		}
		rate = math.Min(rate*2, cfg.Max)
	}
	r.FirstFailingRate = fail
	if pass == 0 {
		return
	}
	for (fail-pass)/pass > cfg.Resolution {
		mid := math.Sqrt(pass * fail) // halves the ratio fail/pass
		if m := math.Round(mid); m > pass && m < fail {
			mid = m
		}
		ok, stop := p.judge(mid)
		if stop {
			return
		}
		if ok {
			pass = mid
		} else {
			fail = mid
			r.FirstFailingRate = fail
		}
	}
}

// judge runs the step at rate (and its repeat when borderline) and
// records it. stop is true when the search must end (client limited or
// incomplete).
func (p *prober) judge(rate float64) (pass, stop bool) {
	st, border, err := p.step(rate, false)
	if err == nil && border {
		p.cfg.Logf("probe: %s events/s is borderline (%s); repeating it once", fmtRate(rate), strings.Join(st.Reasons, "; "))
		st, _, err = p.step(rate, true)
	}
	if err != nil {
		p.err = err
		return false, true
	}
	if st.ClientLimited && !st.Pass {
		p.res.ClientLimitedAt = rate
		return false, true
	}
	if st.Pass && rate > p.res.MaxSustainableRate {
		p.res.MaxSustainableRate = rate
	}
	return st.Pass, false
}

// step runs one step and appends it to the result.
func (p *prober) step(rate float64, repeated bool) (Step, bool, error) {
	cfg := p.cfg
	p.n++
	rel := filepath.Join("steps", fmt.Sprintf("%02d-%s", p.n, fmtRate(rate)))
	dir := filepath.Join(cfg.OutDir, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Step{}, false, fmt.Errorf("%w: probe: create %s: %w", runner.ErrIncomplete, dir, err)
	}
	sc := stepScenario(cfg.Scenario, rate, cfg.Warmup+cfg.Step, cfg.Step)
	cfg.Logf("probe: step %d: %s events/s for %v (+%v warm-up)", p.n, fmtRate(rate), cfg.Step, cfg.Warmup)
	res, runErr := cfg.Run(p.ctx, runner.Config{Scenario: sc, Driver: cfg.Driver, DSN: cfg.DSN, OutDir: dir, Logf: cfg.Logf})
	if res != nil {
		if err := measure.WriteResult(filepath.Join(dir, measure.ResultFile), res); err != nil {
			cfg.Logf("%v", err)
		}
		if len(p.res.Steps) == 0 || p.res.Driver.Name == "" {
			p.res.Driver, p.res.Durability, p.res.Environment = res.Driver, res.Durability, res.Environment
		}
	}
	st := Step{Offered: rate, Dir: rel, DurationS: cfg.Step.Seconds(), Repeated: repeated}
	var border bool
	if runErr == nil && (res == nil || !res.Complete) {
		runErr = fmt.Errorf("%w: step at %s events/s did not complete", runner.ErrIncomplete, fmtRate(rate))
	}
	if runErr == nil {
		var err error
		border, err = verdict(&st, res, dir, cfg)
		if err != nil {
			runErr = fmt.Errorf("%w: probe: step at %s events/s: %w", runner.ErrIncomplete, fmtRate(rate), err)
		}
	}
	if runErr != nil {
		if !errors.Is(runErr, runner.ErrIncomplete) {
			runErr = fmt.Errorf("%w: %w", runner.ErrIncomplete, runErr)
		}
		st.Pass = false
		st.Reasons = append(st.Reasons, "run incomplete: "+strings.TrimPrefix(runErr.Error(), runner.ErrIncomplete.Error()+": "))
		runErr = fmt.Errorf("probe: step %d at %s events/s: %w", p.n, fmtRate(rate), runErr)
	}
	p.res.Steps = append(p.res.Steps, st)
	if err := WriteResult(cfg.OutDir, p.res); err != nil {
		cfg.Logf("%v", err)
	}
	if cfg.OnStep != nil {
		cfg.OnStep(st)
	}
	return st, border, runErr
}

// fmtRate formats a rate without exponent or trailing zeros.
func fmtRate(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }

// measureRebuild runs once more at rate with a full replay at the end, for
// the rebuild throughput and bytes per event capacity planning needs. It
// is not a step of the search; a failure only leaves Rebuild empty.
func (p *prober) measureRebuild(rate float64) {
	cfg := p.cfg
	dir := filepath.Join(cfg.OutDir, "steps", "rebuild")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		cfg.Logf("probe: rebuild measurement: %v", err)
		return
	}
	sc := stepScenario(cfg.Scenario, rate, cfg.Warmup+cfg.Step, cfg.Step)
	sc.Consumers.Rebuild = "end"
	cfg.Logf("probe: measuring a rebuild after %v at %s events/s", cfg.Warmup+cfg.Step, fmtRate(rate))
	res, err := cfg.Run(p.ctx, runner.Config{Scenario: sc, Driver: cfg.Driver, DSN: cfg.DSN, OutDir: dir, Logf: cfg.Logf})
	if res != nil {
		if werr := measure.WriteResult(filepath.Join(dir, measure.ResultFile), res); werr != nil {
			cfg.Logf("%v", werr)
		}
	}
	if err != nil || res == nil || res.Rebuild == nil {
		cfg.Logf("probe: rebuild measurement failed: %v", err)
		return
	}
	p.res.Rebuild = res.Rebuild
}
