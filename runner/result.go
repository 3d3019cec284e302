package runner

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/evbench/evbench/chaos"
	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// Version is the evbench version, set with -ldflags "-X ...runner.Version=v".
var Version = ""

func environment() measure.Environment {
	host, _ := os.Hostname()
	v := Version
	if v == "" {
		v = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v = "dev-" + s.Value[:12]
				}
			}
		}
	}
	return measure.Environment{Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.NumCPU(), Hostname: host, Version: v}
}

// finish fills the result from whatever ran, complete or not. err is the
// reason the run did not complete (nil when it did).
func (r *run) finish(res *measure.Result, err error) {
	res.Complete = err == nil
	if err != nil {
		res.Reason = r.scrub(strings.TrimPrefix(err.Error(), ErrIncomplete.Error()+": "))
	}
	if r.gen == nil { // failed during setup
		res.Passed = false
		return
	}
	end := r.end
	if end.IsZero() {
		end = time.Now()
	}
	res.DurationS = end.Sub(r.start).Seconds()
	g := r.gen
	res.Events = measure.EventCounts{
		Scheduled: r.sched.Total(), Sent: g.sent.Load(), Acked: g.acked.Load(),
		Failed: g.failed.Load(), Late: g.late.Load(), WindowFull: g.windowFull.Load(),
		Retried: g.retried.Load(), GaveUp: g.gaveUp.Load(),
	}
	res.Events.Unsent = res.Events.Scheduled - res.Events.Sent
	res.Concurrency = g.commands.result()
	res.OfferedRate = r.sched.OfferedRate()
	// Achieved: acknowledged events over the load phase (first schedule to
	// last ack), so a drain or rebuild after the load does not dilute it.
	var span float64
	if last := g.lastAck.Load(); last > 0 {
		span = max(time.Unix(0, last).Sub(r.start).Seconds(), r.sched.Span().Seconds())
		if span > 0 {
			res.AchievedRate = float64(res.Events.Acked) / span
		}
	}
	r.splitWarmup(res, span)
	res.Commit = measure.Summarize(r.commit.Total())
	res.ServiceTime = measure.Summarize(r.service.Total())
	res.E2E = measure.Summarize(r.e2e.Total())
	res.SendDelay = measure.Summarize(r.sendDelay.Total())
	res.FailedLatency = measure.Summarize(r.failedLat.Total())
	if err := measure.FillHistograms(res, r.recorders()...); err != nil {
		r.cfg.Logf("%v", err)
	}
	for _, rec := range r.recorders() {
		if err := rec.SinkErr(); err != nil {
			r.cfg.Logf("%v", err)
		}
	}
	res.Client = r.judgeClient(res)

	samples := r.sampler.all()
	var lags []int64
	for _, s := range samples {
		lags = append(lags, s.lag)
		if s.lag > res.Lag.Max {
			res.Lag.Max = s.lag
		}
	}
	res.Lag.P95 = percentile(lags, 95)
	res.Lag.SampleMS = float64(r.cfg.LagEvery) / float64(time.Millisecond)
	r.fillOutbox(res)
	res.Freshness = r.fresh.result()

	if r.chaos != nil {
		res.Faults = r.chaos.Windows()
	}
	if r.storeTL != nil {
		res.Faults = append(res.Faults, r.storeTL.Windows()...)
		sort.SliceStable(res.Faults, func(i, j int) bool { return res.Faults[i].AtS < res.Faults[j].AtS })
	}
	r.consumerRestartResults(res)
	for i := range res.Faults {
		f := &res.Faults[i]
		f.Errors = r.errs.between(f.AtS, f.AtS+f.ForS+1)
	}
	var dropped int
	res.Outages, dropped = r.outages.list(end)
	if dropped > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d further outages (beyond %d) are counted in errors, not listed", dropped, maxOutages))
	}
	res.CatchUp = r.catchUps(samples, res.Faults)
	res.CommitRecovery = r.commitRecoveries(res.Faults)
	r.delivery(res)
	res.Recovery = r.recoveries(res)
	for _, p := range r.projs {
		if n := p.rewinds.Load(); n > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("projector %d found the store's head behind its position %d time(s) (the store lost events it had delivered) and resumed from the head", p.id, n))
		}
	}
	if r.rebuilt != nil {
		rb := r.rebuilt.Rebuild
		res.Rebuild = &rb
		res.Series.RebuildT = r.rebuilt.progressT
		res.Series.RebuildN = r.rebuilt.progressN
	}
	res.Rebuilds = r.rebuilds
	r.series(res, samples)
	r.fillHandling(res)
	for _, e := range r.errsList() {
		res.Errors = append(res.Errors, e)
	}
	if r.drainErr != nil && res.Reason == "" {
		res.Reason = r.scrub(r.drainErr.Error())
	}
	if e := res.Events; e.Sent > 0 && float64(e.Failed)/float64(e.Sent) > 0.001 {
		res.Notes = append(res.Notes, fmt.Sprintf("%.2f%% of appends failed: commit and service-time percentiles cover successful appends only; failed_latency_ms and outages show the failures (load.retry models a client that retries)",
			100*float64(e.Failed)/float64(e.Sent)))
	}
	for _, c := range res.CatchUp {
		if c.Note != "" {
			res.Notes = append(res.Notes, c.Cause+": "+c.Note)
		}
	}

	r.schemaResult(res)
	r.shardResult(res)
	res.Gates = measure.EvaluateGates(res, r.sc.Gates, nil)
	res.SteadyState = r.steadyState(res, samples)
	res.Passed = res.Complete && res.Delivery.OK
	r.judgeRebuilds(res) // a rebuilt read model that differs from the live one fails the run
	for _, gr := range append(append([]measure.GateResult(nil), res.Gates...), res.SteadyState...) {
		if !gr.Pass {
			res.Passed = false
		}
	}
}

// delivery checks every projector's deliveries against the appends and
// judges them against the scenario's declared guarantees. Counts are per
// event over all projectors, with each projector's own below. Only a run
// whose projectors reached the head after the last acknowledgement can
// call an event lost; otherwise missing events are reported as undelivered.
func (r *run) delivery(res *measure.Result) {
	d := measure.Delivery{Expect: measure.Expect{Delivery: r.sc.Expect.Delivery, Order: r.sc.Expect.Order}}
	views := make([]func(int) *keyDelivery, len(r.projs))
	for i, p := range r.projs {
		views[i] = p.seenKey
	}
	if r.scan != nil {
		views = append(views, r.scan.seenKey)
	}
	all, each := r.ledger.check(views)
	if r.scan != nil {
		v := each[len(each)-1]
		each = each[:len(each)-1]
		d.DurableScan = &measure.ProjectorDelivery{Projector: -1, Lost: v.lost, Duplicated: v.duplicated, Reordered: v.reordered,
			RetryReordered: v.retryReordered, Misrouted: r.scan.misrouted.Load(), Unexpected: v.unexpected, Delivered: v.delivered,
			Foreign: r.scan.foreign.Load()}
		if gatesOn(r.sc.Gates, "rpo.events") {
			d.RPOBudget = v.lost
		}
	}
	d.Lost, d.Duplicated, d.Reordered, d.RetryReordered = all.lost, all.duplicated, all.reordered, all.retryReordered
	d.Unexpected, d.Ambiguous, d.Delivered = all.unexpected, all.ambiguous, all.delivered
	for i, p := range r.projs {
		v := each[i]
		pd := measure.ProjectorDelivery{Projector: p.id, Lost: v.lost, Duplicated: v.duplicated, Reordered: v.reordered,
			RetryReordered: v.retryReordered, Misrouted: p.misrouted.Load(), Unexpected: v.unexpected, Delivered: v.delivered,
			Foreign: p.foreign.Load()}
		d.Misrouted = max(d.Misrouted, pd.Misrouted)
		if !r.drained {
			pd.Lost = 0
		}
		d.Projectors = append(d.Projectors, pd)
	}
	d.Checked = r.drained
	if !r.drained {
		// The projectors never caught up with the last acknowledgement: an
		// acked event missing now may simply not have been read yet.
		d.Undelivered, d.Lost = d.Lost, 0
	}
	d.OK, d.Failures = measure.JudgeDelivery(d)
	res.Delivery = d
}

// catchUps measures catch-up after every consumer pause and every fault
// that touched the consumer path.
func (r *run) catchUps(samples []lagSample, faults []measure.FaultWindow) []measure.CatchUp {
	out := []measure.CatchUp{}
	if len(r.projs) > 0 {
		var ds []disruption
		for _, p := range r.sc.Consumers.Pause {
			ds = append(ds, disruption{cause: fmt.Sprintf("pause at %v for %v", p.At, p.For), start: p.At.D(), end: p.At.D() + p.For.D()})
		}
		for _, f := range faults {
			if f.Path == chaos.PathStore {
				ds = append(ds, disruption{cause: storeCause(f), start: secs(f.AtS), end: secs(f.AtS + f.ForS)})
				continue
			}
			if f.Path == "consumer" || f.Path == "both" {
				ds = append(ds, disruption{cause: fmt.Sprintf("fault %s on %s at %.1fs", f.Kind, f.Path, f.AtS),
					start: secs(f.AtS), end: secs(f.AtS + f.ForS)})
			}
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i].end < ds[j].end })
		var lastSample time.Duration
		if n := len(samples); n > 0 {
			lastSample = samples[n-1].t
		}
		for _, d := range ds {
			if d.end >= lastSample {
				continue // the run stopped before (or as) it ended: nothing to measure
			}
			c := catchUp(samples, d, r.sched.RateAt(d.end), r.cfg.LagEvery)
			out = append(out, measure.CatchUp{Cause: c.cause, StartedS: d.end.Seconds(), Seconds: round3(c.seconds),
				Recovered: c.recovered, Threshold: c.threshold, Note: c.note})
		}
	}
	return out
}

// commitRecoveries measures, for each fault on the producer path, the time
// until commit latency is back near its pre-fault level.
func (r *run) commitRecoveries(faults []measure.FaultWindow) []measure.CommitRecovery {
	out := []measure.CommitRecovery{}
	// A producer fault hits what writes to the store: the generator's
	// appends, or with an outbox the relays (the commands commit to the
	// outbox's Postgres, off the producer path). There, the relay lag is
	// what recovers.
	rec, hlog, what := r.commit, r.hlogPath("commit"), ""
	if r.outbox != nil {
		rec, hlog, what = r.outbox.lag, filepath.Join(r.outDir, outboxRelayLagHlog), " (outbox relay lag: the relays publish on the producer path)"
	}
	summaries := rec.Summaries()
	for _, f := range faults {
		if f.Path != "producer" && f.Path != "both" {
			continue
		}
		pre, err := measure.ReadIntervals(hlog, r.start, f.AtS-10, f.AtS)
		if err != nil {
			// Without the pre-fault level nothing can be said: an entry that
			// never recovered fails a commit_recovery.max gate instead of the
			// fault silently vanishing from the result.
			r.cfg.Logf("commit recovery: %v", err)
			out = append(out, measure.CommitRecovery{Cause: fmt.Sprintf("fault %s on %s at %.1fs%s (interval log unreadable: %v)", f.Kind, f.Path, f.AtS, what, err), StartedS: f.AtS + f.ForS})
			continue
		}
		if c, ok := commitRecovery(pre, summaries, f); ok {
			c.Cause += what
			out = append(out, c)
		}
	}
	return out
}

// commitRecovery: seconds from a producer fault's end until the first full
// second whose commit p95 is within 20% (+1 ms) of the p95 over the 10 s
// before the fault.
// pre holds the interval histograms of the 10 s before the fault, after the
// per-second summaries of the whole run.
func commitRecovery(preIv []measure.Interval, iv []measure.Summary, f measure.FaultWindow) (measure.CommitRecovery, bool) {
	start, end := f.AtS, f.AtS+f.ForS
	pre := measure.NewHistogram()
	for _, i := range preIv {
		if i.EndS <= start && i.StartS >= start-10 {
			pre.Merge(i.Hist)
		}
	}
	c := measure.CommitRecovery{Cause: fmt.Sprintf("fault %s on %s at %.1fs", f.Kind, f.Path, f.AtS), StartedS: end}
	if pre.TotalCount() == 0 {
		return c, false
	}
	limit := float64(pre.ValueAtQuantile(95))*1.2 + 1e6
	c.ThresholdMS = round3(limit / 1e6)
	for _, i := range iv {
		if i.StartS < math.Floor(end) || i.Count == 0 {
			continue
		}
		if i.P95*1e6 <= limit {
			c.Recovered = true
			c.Seconds = round3(math.Max(i.StartS-end, 0))
			return c, true
		}
	}
	if n := len(iv); n > 0 {
		c.Seconds = round3(math.Max(iv[n-1].EndS-end, 0))
	}
	return c, true
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// series builds the per-second time series for plots.
func (r *run) series(res *measure.Result, samples []lagSample) {
	n := int(math.Ceil(r.end.Sub(r.start).Seconds()))
	if n < 1 {
		n = 1
	}
	s := &res.Series
	s.T = make([]float64, n)
	s.Offered = make([]float64, n)
	s.Achieved = make([]float64, n)
	s.CommitP50, s.CommitP95, s.CommitP99 = make([]float64, n), make([]float64, n), make([]float64, n)
	s.E2EP50, s.E2EP95, s.E2EP99 = make([]float64, n), make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		s.T[i] = float64(i)
		a := r.sched.CountAt(time.Duration(i) * time.Second)
		b := r.sched.CountAt(time.Duration(i+1) * time.Second)
		s.Offered[i] = b - a
	}
	fill := func(rec *measure.Recorder, p50, p95, p99 []float64, count []float64) {
		for _, iv := range rec.Summaries() {
			i := int(iv.StartS)
			if i < 0 || i >= n || iv.Count == 0 {
				continue
			}
			p50[i], p95[i], p99[i] = iv.P50, iv.P95, iv.P99
			if count != nil {
				count[i] = float64(iv.Count)
			}
		}
	}
	s.Failed = r.errs.series("append", n)
	for _, o := range res.Outages {
		s.Outages = append(s.Outages, measure.Window{Label: o.Op + " outage", StartS: o.StartedS, EndS: o.EndedS})
	}
	fill(r.commit, s.CommitP50, s.CommitP95, s.CommitP99, s.Achieved)
	fill(r.e2e, s.E2EP50, s.E2EP95, s.E2EP99, nil)
	for _, smp := range samples {
		s.LagT = append(s.LagT, round3(smp.t.Seconds()))
		s.Lag = append(s.Lag, smp.lag)
	}
	for _, p := range r.sc.Consumers.Pause {
		s.Pauses = append(s.Pauses, measure.Window{Label: "consumer pause", StartS: p.At.D().Seconds(), EndS: (p.At.D() + p.For.D()).Seconds()})
	}
}

// scrub masks the secrets of the DSN and the toxiproxy URL in text that
// may echo them (errors from client libraries, reasons).
func (r *run) scrub(text string) string {
	return drivers.Scrub(drivers.Scrub(text, r.cfg.DSN), r.cfg.Toxiproxy)
}

func (r *run) errsList() []measure.ErrorCount {
	e := r.errs
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []measure.ErrorCount
	for _, k := range e.order {
		out = append(out, measure.ErrorCount{Op: k[0], Message: r.scrub(k[1]), Count: e.counts[k]})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	if e.other > 0 {
		out = append(out, measure.ErrorCount{Op: "other", Message: "further distinct errors not itemised", Count: e.other})
	}
	return out
}

// IsIncomplete reports whether err means the run could not complete.
func IsIncomplete(err error) bool { return errors.Is(err, ErrIncomplete) }

// splitWarmup reports the warm-up apart and takes it out of the run's
// rates (the recorders already keep its intervals out of the totals).
// span is the load phase in seconds (0 when nothing was acknowledged).
func (r *run) splitWarmup(res *measure.Result, span float64) {
	w := warmupLength(r.sc.Load)
	if w <= 0 {
		return
	}
	warm := &measure.Warmup{Seconds: w.Seconds(),
		Commit: measure.Summarize(r.commit.Warmup()), ServiceTime: measure.Summarize(r.service.Warmup()),
		E2E: measure.Summarize(r.e2e.Warmup())}
	res.Warmup = warm
	due := r.sched.CountAt(w)
	warm.OfferedRate = due / w.Seconds()
	if s := r.sched.Span().Seconds() - w.Seconds(); s > 0 {
		res.OfferedRate = (float64(r.sched.Total()) - due) / s
	}
	acked := r.warmAcked.Load()
	if acked < 0 { // the run ended within the warm-up
		res.Notes = append(res.Notes, "the run ended during the warm-up: its rates and percentiles cover no measured load")
		warm.Acked = res.Events.Acked
		res.AchievedRate = 0
		return
	}
	warm.Acked = acked
	warm.AchievedRate = float64(acked) / w.Seconds()
	if s := span - w.Seconds(); s > 0 {
		res.AchievedRate = float64(res.Events.Acked-acked) / s
	}
}

// warmupLength is load.warmup rounded up to whole seconds: the recorders
// split at 1 s interval boundaries, and rates use the same boundary.
func warmupLength(l scenarios.Load) time.Duration {
	return (l.Warmup.D() + time.Second - 1) / time.Second * time.Second
}

// judgeClient decides whether evbench itself limited the run. Lateness
// behind a full in-flight window is the store's backpressure (it answered
// too slowly and the generator waited for it), not the harness's limit:
// only late events that did not wait for the window count, and the send
// delay p99, which such waits inflate, is left out once the window filled.
// The reported figures stay the whole run's.
func (r *run) judgeClient(res *measure.Result) measure.Client {
	cpu := r.cpu.percent(runtime.NumCPU())
	var lateFraction, freeFraction float64
	if res.Events.Scheduled > 0 {
		lateFraction = float64(res.Events.Late) / float64(res.Events.Scheduled)
		freeFraction = float64(r.gen.lateFree.Load()) / float64(res.Events.Scheduled)
	}
	var c measure.Client
	if res.Events.WindowFull == 0 {
		c = measure.JudgeClient(cpu, res.SendDelay.P99, lateFraction)
	} else {
		c = measure.JudgeClient(cpu, 0, freeFraction)
		c.SendDelayP99MS, c.LateFraction = res.SendDelay.P99, lateFraction
	}
	c.HarnessLateFraction = freeFraction
	return c
}
