package merge

import (
	"cmp"
	"math"
	"slices"

	"github.com/evbench/evbench/reports/measure"
)

// sameInstantS is how close two shards' records of one event (a fault the
// lead shard ran, a catch-up after it) must lie on the merged clock to be
// taken as the same event.
const sameInstantS = 1.5

func near(a, b float64) bool { return math.Abs(a-b) <= sameInstantS }

// timeline places every shard's faults, outages, catch-ups, recoveries,
// lag and per-second series on the merged clock.
func (m *merger) timeline(res *measure.Result) {
	m.faults(res)
	m.outages(res)
	m.recoveries(res)
	m.series(res)
}

// faults: the lead shard runs the faults and every shard records them, so
// one fault appears once per shard; the copies are one fault whose error
// counts are the sum of what each shard's clients saw.
func (m *merger) faults(res *measure.Result) {
	m.each(func(s *shard, r *measure.Result) {
		for _, f := range r.Faults {
			f.AtS += m.shift(s)
			i := slices.IndexFunc(res.Faults, func(x measure.FaultWindow) bool {
				return x.Kind == f.Kind && x.Path == f.Path && near(x.AtS, f.AtS)
			})
			if i < 0 {
				f.Errors = addCounts(nil, f.Errors)
				res.Faults = append(res.Faults, f)
				continue
			}
			g := &res.Faults[i]
			g.Errors = addCounts(g.Errors, f.Errors)
			g.ForS = max(g.ForS, f.ForS)
			if g.Error == "" {
				g.Error = f.Error
			}
		}
	})
	slices.SortStableFunc(res.Faults, func(a, b measure.FaultWindow) int { return cmp.Compare(a.AtS, b.AtS) })
}

func addCounts(dst, src map[string]int64) map[string]int64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]int64{}
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}

// outages: the union, per operation, of the shards' failure spans (a
// client somewhere failed throughout it), with their failures summed.
func (m *merger) outages(res *measure.Result) {
	var all []measure.Outage
	m.each(func(s *shard, r *measure.Result) {
		for _, o := range r.Outages {
			o.StartedS += m.shift(s)
			o.EndedS += m.shift(s)
			all = append(all, o)
		}
	})
	slices.SortStableFunc(all, func(a, b measure.Outage) int {
		return cmp.Or(cmp.Compare(a.Op, b.Op), cmp.Compare(a.StartedS, b.StartedS))
	})
	for _, o := range all {
		if n := len(res.Outages); n > 0 {
			last := &res.Outages[n-1]
			if last.Op == o.Op && o.StartedS <= last.EndedS {
				last.EndedS = max(last.EndedS, o.EndedS)
				last.Seconds = last.EndedS - last.StartedS
				last.Failed += o.Failed
				last.Recovered = last.Recovered && o.Recovered
				continue
			}
		}
		res.Outages = append(res.Outages, o)
	}
	slices.SortStableFunc(res.Outages, func(a, b measure.Outage) int { return cmp.Compare(a.StartedS, b.StartedS) })
	for _, o := range res.Outages {
		res.Series.Outages = append(res.Series.Outages, measure.Window{Label: o.Op + " outage", StartS: o.StartedS, EndS: o.EndedS})
	}
}

// recoveries: one disruption seen by every shard is over when the slowest
// shard is back, so catch-ups, commit recoveries and RTOs take the longest
// (recovered only if every shard recovered); RPO events add up.
func (m *merger) recoveries(res *measure.Result) {
	m.each(func(s *shard, r *measure.Result) {
		sh := m.shift(s)
		for _, c := range r.CatchUp {
			c.StartedS += sh
			if i := slices.IndexFunc(res.CatchUp, func(x measure.CatchUp) bool { return x.Cause == c.Cause && near(x.StartedS, c.StartedS) }); i >= 0 {
				x := &res.CatchUp[i]
				x.Seconds, x.Threshold = max(x.Seconds, c.Seconds), max(x.Threshold, c.Threshold)
				x.Recovered = x.Recovered && c.Recovered
				if x.Note == "" {
					x.Note = c.Note
				}
				continue
			}
			res.CatchUp = append(res.CatchUp, c)
		}
		for _, c := range r.CommitRecovery {
			c.StartedS += sh
			if i := slices.IndexFunc(res.CommitRecovery, func(x measure.CommitRecovery) bool { return x.Cause == c.Cause && near(x.StartedS, c.StartedS) }); i >= 0 {
				x := &res.CommitRecovery[i]
				x.Seconds, x.ThresholdMS = max(x.Seconds, c.Seconds), max(x.ThresholdMS, c.ThresholdMS)
				x.Recovered = x.Recovered && c.Recovered
				continue
			}
			res.CommitRecovery = append(res.CommitRecovery, c)
		}
		for _, c := range r.Recovery {
			c.AtS += sh
			if i := slices.IndexFunc(res.Recovery, func(x measure.Recovery) bool { return x.Fault == c.Fault && near(x.AtS, c.AtS) }); i >= 0 {
				x := &res.Recovery[i]
				x.RTOAppendS, x.RTOProjectionS = max(x.RTOAppendS, c.RTOAppendS), max(x.RTOProjectionS, c.RTOProjectionS)
				x.AppendRecovered = x.AppendRecovered && c.AppendRecovered
				x.ProjectionRecovered = x.ProjectionRecovered && c.ProjectionRecovered
				x.RPOEvents += c.RPOEvents
				x.RPOSeconds = max(x.RPOSeconds, c.RPOSeconds)
				continue
			}
			res.Recovery = append(res.Recovery, c)
		}
	})
}

// series: per-second counts (offered, achieved, failed) add up in the
// merged second nearest each shard's; the latency percentiles per second
// are left empty here and recomputed from the merged interval logs when
// the result is written (reports.WriteAll). Lag is per shard (each shard's
// projectors against the store's head): the merged sample on the lag grid
// is the worst shard's, and lag.max and lag.p95 are the worst shard's.
func (m *merger) series(res *measure.Result) {
	n := 0
	m.each(func(s *shard, r *measure.Result) {
		for _, t := range r.Series.T {
			n = max(n, int(math.Round(t+m.shift(s)))+1)
		}
	})
	if n > 0 {
		res.Series.T = make([]float64, n)
		for i := range res.Series.T {
			res.Series.T[i] = float64(i)
		}
		res.Series.Offered = make([]float64, n)
		res.Series.Achieved = make([]float64, n)
		res.Series.Failed = make([]float64, n)
	}
	lagMS := 0.0
	lag := map[int64]int64{}
	var pauses []measure.Window
	m.each(func(s *shard, r *measure.Result) {
		sh := m.shift(s)
		for i, t := range r.Series.T {
			k := int(math.Round(t + sh))
			if k < 0 || k >= n {
				continue
			}
			res.Series.Offered[k] += at(r.Series.Offered, i)
			res.Series.Achieved[k] += at(r.Series.Achieved, i)
			res.Series.Failed[k] += at(r.Series.Failed, i)
		}
		res.Lag.Max = max(res.Lag.Max, r.Lag.Max)
		res.Lag.P95 = max(res.Lag.P95, r.Lag.P95)
		if r.Lag.SampleMS > 0 && lagMS == 0 {
			lagMS = r.Lag.SampleMS
		}
		step := max(lagMS, 1) / 1000
		for i, t := range r.Series.LagT {
			if i < len(r.Series.Lag) {
				k := int64(math.Round((t + sh) / step))
				lag[k] = max(lag[k], r.Series.Lag[i])
			}
		}
		for _, p := range r.Series.Pauses {
			p.StartS, p.EndS = p.StartS+sh, p.EndS+sh
			if !slices.ContainsFunc(pauses, func(x measure.Window) bool { return x.Label == p.Label && near(x.StartS, p.StartS) }) {
				pauses = append(pauses, p)
			}
		}
	})
	res.Lag.SampleMS = lagMS
	step := max(lagMS, 1) / 1000
	keys := make([]int64, 0, len(lag))
	for k := range lag {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		res.Series.LagT = append(res.Series.LagT, round3(float64(k)*step))
		res.Series.Lag = append(res.Series.Lag, lag[k])
	}
	res.Series.Pauses = pauses
}

func at(xs []float64, i int) float64 {
	if i < len(xs) {
		return xs[i]
	}
	return 0
}
