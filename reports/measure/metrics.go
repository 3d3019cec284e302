package measure

import (
	"fmt"
	"math"
	"strings"

	"github.com/evbench/evbench/reports/gate"
)

// Metrics flattens a result into the metric names gates use (see
// docs/reports.md). A metric is absent when the run did not measure it
// (rebuild off, no latency samples, no lag sampler), so a gate on it fails
// instead of passing on a zero; counters whose zero is the true value
// (delivery.*, events.*, catch_up.max with no catch-ups) are always present.
func Metrics(r *Result) map[string]float64 {
	m := map[string]float64{}
	if r == nil {
		return m
	}
	lat := func(prefix string, p Percentiles) {
		if p.Count == 0 {
			return
		}
		m[prefix+".count"] = float64(p.Count)
		m[prefix+".min"] = p.Min
		m[prefix+".mean"] = p.Mean
		m[prefix+".p50"] = p.P50
		m[prefix+".p90"] = p.P90
		m[prefix+".p95"] = p.P95
		m[prefix+".p99"] = p.P99
		m[prefix+".p999"] = p.P999
		m[prefix+".max"] = p.Max
	}
	lat("commit", r.Commit)
	lat("service_time", r.ServiceTime)
	lat("e2e", r.E2E)
	lat("send_delay", r.SendDelay)
	lat("failed_latency", r.FailedLatency)
	outboxMetrics(r, m)
	concurrencyMetrics(r, m)
	if len(r.Freshness) > 0 {
		var worst float64
		for _, f := range r.Freshness {
			m["freshness."+f.Type+".max"] = f.MaxS
			m["freshness."+f.Type+".p95"] = f.P95S
			worst = math.Max(worst, f.MaxS)
		}
		m["freshness.max"] = worst
	}

	for _, prefix := range []string{"catch_up", "commit_recovery"} {
		var max float64
		var unrec int
		rs := recoveries(r, prefix)
		for _, c := range rs {
			max = math.Max(max, c.seconds)
			if !c.recovered {
				unrec++
			}
		}
		m[prefix+".max"] = max
		m[prefix+".count"] = float64(len(rs))
		m[prefix+".unrecovered"] = float64(unrec)
	}

	if rb := r.Rebuild; rb != nil {
		m["rebuild.events_per_sec"] = rb.EventsPerSec
		m["rebuild.mb_per_sec"] = rb.MBPerSec
		m["rebuild.seconds"] = rb.Seconds
		m["rebuild.events"] = float64(rb.Events)
	}
	rebuildsMetrics(r, m)
	schemaMetrics(r, m)
	handlingMetrics(r, m)
	resumeMetrics(r, m)

	if len(r.Recovery) > 0 {
		var rpo int64
		var rtoA, rtoP float64
		for _, c := range r.Recovery {
			rpo += c.RPOEvents
			rtoA = math.Max(rtoA, c.RTOAppendS)
			rtoP = math.Max(rtoP, c.RTOProjectionS)
		}
		m["rpo.events"] = float64(rpo)
		m["rto.append.max"] = rtoA
		m["rto.projection.max"] = rtoP
	}

	d := r.Delivery
	m["delivery.lost"] = float64(d.Lost)
	m["delivery.duplicated"] = float64(d.Duplicated)
	m["delivery.reordered"] = float64(d.Reordered)
	m["delivery.unexpected"] = float64(d.Unexpected)
	m["delivery.delivered"] = float64(d.Delivered)
	m["delivery.ambiguous"] = float64(d.Ambiguous)
	m["delivery.undelivered"] = float64(d.Undelivered)
	m["delivery.misrouted"] = float64(d.Misrouted)
	m["delivery.retry_reordered"] = float64(d.RetryReordered)
	m["delivery.ok"] = 0
	if ok, _ := JudgeDelivery(d); ok {
		m["delivery.ok"] = 1
	}
	var outMax float64
	var outOpen int
	for _, o := range r.Outages {
		outMax = math.Max(outMax, o.Seconds)
		if !o.Recovered {
			outOpen++
		}
	}
	m["outages.count"] = float64(len(r.Outages))
	m["outages.max"] = outMax
	m["outages.unrecovered"] = float64(outOpen)

	e := r.Events
	m["events.scheduled"] = float64(e.Scheduled)
	m["events.sent"] = float64(e.Sent)
	m["events.acked"] = float64(e.Acked)
	m["events.failed"] = float64(e.Failed)
	m["events.late"] = float64(e.Late)
	m["events.window_full"] = float64(e.WindowFull)
	m["events.unsent"] = float64(e.Unsent)
	m["events.retried"] = float64(e.Retried)
	m["events.gave_up"] = float64(e.GaveUp)
	if e.Sent > 0 {
		m["events.failed_rate"] = float64(e.Failed) / float64(e.Sent)
	}
	if e.Scheduled > 0 {
		m["events.late_rate"] = float64(e.Late) / float64(e.Scheduled)
	}
	if r.Client.Reasons != nil { // judged (results before the client verdict lack it)
		m["client.limited"] = 0
		if r.Client.Limited {
			m["client.limited"] = 1
		}
		m["client.cpu_percent"] = r.Client.CPUPercent
	}
	m["achieved_rate"] = r.AchievedRate
	m["offered_rate"] = r.OfferedRate
	if r.Lag.SampleMS > 0 || len(r.Series.Lag) > 0 {
		m["lag.max"] = float64(r.Lag.Max)
		m["lag.p95"] = float64(r.Lag.P95)
	}
	return m
}

// lookup turns Metrics into a gate.Lookup (nil result -> nil lookup).
func lookup(r *Result) gate.Lookup {
	if r == nil {
		return nil
	}
	m := Metrics(r)
	return func(k string) (float64, bool) { v, ok := m[k]; return v, ok }
}

// EvaluateGates evaluates each expression against r (and baseline, for
// expressions that use "baseline"; nil when there is none). An invalid
// expression or a missing metric gives a failing GateResult with Error set;
// it never panics. A catch_up.max or commit_recovery.max gate fails when one
// of them never recovered, whatever its duration.
func EvaluateGates(r *Result, exprs []string, baseline *Result) []GateResult {
	out := make([]GateResult, 0, len(exprs))
	lk, bl := lookup(r), lookup(baseline)
	for _, s := range exprs {
		out = append(out, evalOne(r, s, lk, bl))
	}
	return out
}

func evalOne(r *Result, s string, lk, bl gate.Lookup) GateResult {
	g := GateResult{Expr: s}
	e, err := gate.Parse(s)
	if err != nil {
		g.Error = err.Error()
		return g
	}
	g.Unit, _ = gate.Unit(e.Metric())
	g.Worse = e.Worse()
	if th, err := e.Threshold(bl); err == nil {
		g.Threshold = th
	}
	if e.UsesBaseline() && bl != nil {
		if v, ok := bl(e.Metric()); ok {
			g.Baseline = &v
		}
	}
	v, pass, err := e.Eval(lk, bl)
	g.Value, g.Pass = v, pass
	if err != nil {
		g.Error = err.Error()
		g.Pass = false
		return g
	}
	if prefix, ok := strings.CutSuffix(e.Metric(), ".max"); ok && r != nil && pass {
		for _, c := range recoveries(r, prefix) {
			if !c.recovered {
				g.Pass = false
				g.Error = fmt.Sprintf("%s after %s at %.1fs never recovered (%.1fs observed before the run ended)",
					strings.ReplaceAll(prefix, "_", " "), c.cause, c.started, c.seconds)
				break
			}
		}
	}
	return g
}

// recovery is one catch-up or commit recovery, for the metrics and gates
// both families share: a *.max gate fails when any of them never recovered,
// whatever its duration, since the run ended before the system came back.
type recovery struct {
	cause            string
	started, seconds float64
	recovered        bool
}

func recoveries(r *Result, prefix string) []recovery {
	var out []recovery
	switch prefix {
	case "catch_up":
		for _, c := range r.CatchUp {
			out = append(out, recovery{c.Cause, c.StartedS, c.Seconds, c.Recovered})
		}
	case "commit_recovery":
		for _, c := range r.CommitRecovery {
			out = append(out, recovery{c.Cause, c.StartedS, c.Seconds, c.Recovered})
		}
	case "rto.append":
		for _, c := range r.Recovery {
			out = append(out, recovery{"store fault " + c.Fault, c.AtS, c.RTOAppendS, c.AppendRecovered})
		}
	case "rto.projection":
		for _, c := range r.Recovery {
			out = append(out, recovery{"store fault " + c.Fault, c.AtS, c.RTOProjectionS, c.ProjectionRecovered})
		}
	}
	return out
}

// DefaultRegressions are the baseline checks `evbench gate --baseline`
// applies when no expression mentions "baseline". The tolerances keep run-
// to-run noise from failing CI: latency may worsen by 10% plus 1 ms absolute
// slack (sub-millisecond percentiles jitter by more than 10%), rebuild and
// achieved throughput may drop by 10%.
var DefaultRegressions = []string{
	"commit.p99 <= baseline * 1.10 + 1ms",
	"e2e.p99 <= baseline * 1.10 + 1ms",
	"rebuild.events_per_sec >= baseline * 0.90",
}

// EvaluateRegressions evaluates DefaultRegressions, skipping a check when
// neither result has the metric (rebuild off in both runs). A metric present
// in only one of the two fails with an Error saying which one lacks it.
func EvaluateRegressions(r, baseline *Result) []GateResult {
	cur, base := Metrics(r), Metrics(baseline)
	var exprs []string
	for _, s := range DefaultRegressions {
		e, err := gate.Parse(s)
		if err != nil {
			continue // cannot happen: the list is tested
		}
		_, inCur := cur[e.Metric()]
		_, inBase := base[e.Metric()]
		if !inCur && !inBase {
			continue
		}
		exprs = append(exprs, s)
	}
	return EvaluateGates(r, exprs, baseline)
}
