package runner

import (
	"fmt"
	"time"

	"github.com/evbench/evbench/reports/measure"
)

// steadyState evaluates the scenario's steady-state hypothesis (Chaos
// Toolkit style): its checks must hold over a window before the first fault,
// and again over some window that starts after the last fault ends and
// closes within recovery_timeout. Both are judged from the recorded
// intervals and lag samples, at one-second granularity.
func (r *run) steadyState(res *measure.Result, samples []lagSample) []measure.GateResult {
	ss := r.sc.SteadyState
	if len(ss.Checks) == 0 || len(res.Faults) == 0 {
		return nil
	}
	window := ss.Window.D()
	if window <= 0 {
		window = 5 * time.Second
	}
	recovery := ss.RecoveryTimeout.D()
	if recovery <= 0 {
		recovery = 30 * time.Second
	}
	first, last := res.Faults[0].AtS, 0.0
	for _, f := range res.Faults {
		if f.AtS < first {
			first = f.AtS
		}
		if e := f.AtS + f.ForS; e > last {
			last = e
		}
	}
	var out []measure.GateResult
	beforeFrom := first - window.Seconds()
	if beforeFrom < 0 {
		beforeFrom = 0
	}
	for _, g := range measure.EvaluateGates(r.windowResult(beforeFrom, first, samples), ss.Checks, nil) {
		g.Expr = "before faults: " + g.Expr
		out = append(out, g)
	}
	// After: the earliest window [t, t+window] with t >= last that passes
	// every check and ends by last+recovery.
	runEnd := r.end.Sub(r.start).Seconds()
	var afterGates []measure.GateResult
	for t := last; t+window.Seconds() <= last+recovery.Seconds() && t+window.Seconds() <= runEnd+1e-9; t++ {
		gs := measure.EvaluateGates(r.windowResult(t, t+window.Seconds(), samples), ss.Checks, nil)
		afterGates = gs
		if allPass(gs) {
			break
		}
	}
	if afterGates == nil {
		return append(out, measure.GateResult{Expr: "after faults: steady state", Pass: false,
			Error: fmt.Sprintf("the run ended %.1fs after the last fault: too soon to observe a %v window; lengthen the run or shorten steady_state.window", runEnd-last, window)})
	}
	for _, g := range afterGates {
		g.Expr = fmt.Sprintf("after faults (within %v): %s", recovery, g.Expr)
		out = append(out, g)
	}
	return out
}

func allPass(gs []measure.GateResult) bool {
	for _, g := range gs {
		if !g.Pass {
			return false
		}
	}
	return true
}

// windowResult summarises [from, to) seconds of the run as a Result, so the
// same gate expressions work over a window.
func (r *run) windowResult(from, to float64, samples []lagSample) *measure.Result {
	w := &measure.Result{Complete: true}
	// Per-second intervals belong to the window their middle falls in:
	// fault times are measured, not whole seconds. They are read back from
	// the interval logs, which hold the run's full resolution.
	merge := func(rec *measure.Recorder) measure.Percentiles {
		h := measure.NewHistogram()
		ivs, err := measure.ReadIntervals(r.hlogPath(rec.Name()), r.start, from, to)
		if err != nil {
			r.cfg.Logf("steady state: %v", err)
		}
		for _, iv := range ivs {
			h.Merge(iv.Hist)
		}
		return measure.Summarize(h)
	}
	w.Commit = merge(r.commit)
	w.ServiceTime = merge(r.service)
	w.E2E = merge(r.e2e)
	if to > from {
		w.AchievedRate = float64(w.Commit.Count) / (to - from)
	}
	var lags []int64
	for _, s := range samples {
		if t := s.t.Seconds(); t >= from && t < to {
			lags = append(lags, s.lag)
			if s.lag > w.Lag.Max {
				w.Lag.Max = s.lag
			}
		}
	}
	w.Lag.P95 = percentile(lags, 95)
	if len(lags) > 0 {
		w.Lag.SampleMS = float64(r.cfg.LagEvery) / float64(time.Millisecond)
	}
	return w
}
