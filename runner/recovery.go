package runner

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/evbench/evbench/chaos"
	"github.com/evbench/evbench/reports/gate"
	"github.com/evbench/evbench/reports/measure"
)

// storeCause names a store fault in catch-ups and recoveries.
func storeCause(f measure.FaultWindow) string {
	return fmt.Sprintf("fault %s on store at %.1fs", f.Kind, f.AtS)
}

// recoveries measures RTO and RPO per store fault that took the store's
// process away (kill, power-loss, restart):
//   - rto_append: the fault's start until the first successful append
//     after it (the end of the append outage it caused; 0 when no append
//     failed);
//   - rto_projection: the fault's start until its catch-up ended (the
//     projectors live again, lag back at steady state);
//   - rpo: acknowledged events the durable scan did not find, dated by the
//     ack ring and attributed to the first such fault after they were due.
func (r *run) recoveries(res *measure.Result) []measure.Recovery {
	var out []measure.Recovery
	var ats []float64
	for _, f := range res.Faults {
		if f.Path != chaos.PathStore || (f.Kind != "kill" && f.Kind != "power-loss" && f.Kind != "restart") {
			continue
		}
		c := measure.Recovery{Fault: f.Kind, AtS: round3(f.AtS)}
		c.RTOAppendS, c.AppendRecovered = 0, true
		for _, o := range res.Outages {
			if o.Op == opAppend && o.StartedS >= f.AtS-0.5 && o.StartedS <= f.AtS+f.ForS+1 {
				c.RTOAppendS, c.AppendRecovered = round3(math.Max(o.EndedS-f.AtS, 0)), o.Recovered
				break
			}
		}
		c.RTOProjectionS = round3(f.ForS)
		if len(r.projs) == 0 {
			c.ProjectionRecovered = true
		}
		for _, cu := range res.CatchUp {
			if cu.Cause == storeCause(f) {
				c.RTOProjectionS = round3(f.ForS + cu.Seconds)
				c.ProjectionRecovered = cu.Recovered
			}
		}
		out = append(out, c)
		ats = append(ats, f.AtS)
	}
	if len(out) == 0 || r.scan == nil {
		if len(out) > 0 {
			out[0].Note = "the store was not read back after the run (interrupted or unreachable), so RPO is unknown"
		}
		return out
	}
	lost := r.ledger.lostRanges(r.scan.seenKey)
	var total int64
	for _, rs := range lost {
		total += int64(count(rs))
	}
	dues := r.gen.acks.dues(lost)
	per := make([][]float64, len(out))
	for _, due := range dues {
		t := r.clockOffset(due)
		i := len(out) - 1
		for j, at := range ats {
			if t <= at {
				i = j
				break
			}
		}
		per[i] = append(per[i], t)
	}
	for i := range out {
		out[i].RPOEvents = int64(len(per[i]))
		if ts := per[i]; len(ts) > 0 {
			out[i].RPOSeconds = round3(slices.Max(ts) - slices.Min(ts))
		}
	}
	if undated := total - int64(len(dues)); undated > 0 {
		last := &out[len(out)-1]
		last.RPOEvents += undated
		last.Note = fmt.Sprintf("%d lost event(s) were older than the ack ring holds; counted here, not dated", undated)
	}
	return out
}

// clockOffset is a scheduled wall time (unix ns) as seconds of the run.
func (r *run) clockOffset(due int64) float64 {
	return newRunClock(r.start).offset(due).Seconds()
}

// gatesOn reports whether any gate expression judges metric.
func gatesOn(gates []string, metric string) bool {
	for _, g := range gates {
		if e, err := gate.Parse(g); err == nil && e.Metric() == metric {
			return true
		}
		if strings.Contains(g, metric) {
			return true
		}
	}
	return false
}
