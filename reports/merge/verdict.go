package merge

import (
	"fmt"
	"slices"
	"strings"

	"github.com/evbench/evbench/reports/gate"
	"github.com/evbench/evbench/reports/measure"
)

// delivery adds the shards' verdict counts up: each shard checked the
// delivery of its own events only (its projectors skip the other shards'
// events), so the events of the run are the disjoint union of theirs and
// every count is a sum. The check is conclusive only if every shard's was;
// the verdict is judged again on the sums (ok only if every shard's was).
func (m *merger) delivery(res *measure.Result) {
	d := &res.Delivery
	d.Expect = m.shards[0].res.Delivery.Expect
	d.Checked = true
	allOK := true
	m.each(func(s *shard, r *measure.Result) {
		x := r.Delivery
		allOK = allOK && x.OK
		d.Checked = d.Checked && x.Checked
		d.Lost += x.Lost
		d.Duplicated += x.Duplicated
		d.Reordered += x.Reordered
		d.RetryReordered += x.RetryReordered
		d.Misrouted += x.Misrouted
		d.Unexpected += x.Unexpected
		d.Delivered += x.Delivered
		d.Ambiguous += x.Ambiguous
		d.Undelivered += x.Undelivered
		d.RPOBudget += x.RPOBudget
		d.OtherShards += x.OtherShards
		for _, p := range x.Projectors {
			i := slices.IndexFunc(d.Projectors, func(q measure.ProjectorDelivery) bool { return q.Projector == p.Projector })
			if i < 0 {
				d.Projectors = append(d.Projectors, p)
				continue
			}
			addProjector(&d.Projectors[i], p)
		}
		if x.DurableScan != nil {
			if d.DurableScan == nil {
				d.DurableScan = &measure.ProjectorDelivery{Projector: x.DurableScan.Projector}
			}
			addProjector(d.DurableScan, *x.DurableScan)
		}
		for _, f := range x.Failures {
			d.Failures = append(d.Failures, fmt.Sprintf("shard %d: %s", s.index(), f))
		}
	})
	ok, failures := measure.JudgeDelivery(*d)
	d.OK = ok && allOK
	if len(d.Failures) == 0 {
		d.Failures = failures
	}
}

func addProjector(dst *measure.ProjectorDelivery, p measure.ProjectorDelivery) {
	dst.Lost += p.Lost
	dst.Duplicated += p.Duplicated
	dst.Reordered += p.Reordered
	dst.RetryReordered += p.RetryReordered
	dst.Misrouted += p.Misrouted
	dst.Unexpected += p.Unexpected
	dst.Delivered += p.Delivered
	dst.Foreign += p.Foreign
}

// client: the merged run was limited by the harness if any shard was;
// lateness is over all scheduled events, CPU the busiest shard's, send
// delay the merged histogram's p99.
func (m *merger) client(res *measure.Result) {
	c := &res.Client
	c.Reasons = []string{}
	var harnessLate float64
	m.each(func(s *shard, r *measure.Result) {
		c.CPUPercent = max(c.CPUPercent, r.Client.CPUPercent)
		harnessLate += r.Client.HarnessLateFraction * float64(r.Events.Scheduled)
		if r.Client.Limited {
			c.Limited = true
		}
		for _, why := range r.Client.Reasons {
			c.Reasons = append(c.Reasons, fmt.Sprintf("shard %d: %s", s.index(), why))
		}
	})
	c.SendDelayP99MS = res.SendDelay.P99
	if n := res.Events.Scheduled; n > 0 {
		c.LateFraction = float64(res.Events.Late) / float64(n)
		c.HarnessLateFraction = harnessLate / float64(n)
	}
}

// environment lists every shard's host; CPUs are the load generators'
// cores together.
func (m *merger) environment(res *measure.Result) {
	e := m.shards[0].res.Environment
	e.CPUs = 0
	var distinct []string
	m.each(func(s *shard, r *measure.Result) {
		e.CPUs += r.Environment.CPUs
		e.Hosts = append(e.Hosts, r.Environment.Hostname)
		if r.Environment.Hostname != "" && !slices.Contains(distinct, r.Environment.Hostname) {
			distinct = append(distinct, r.Environment.Hostname)
		}
		if r.Environment.Version != e.Version {
			m.notef("shard %d ran evbench %s, shard %d ran %s", s.index(), r.Environment.Version, m.shards[0].index(), e.Version)
		}
	})
	e.Hostname = strings.Join(distinct, ",")
	res.Environment = e
}

// rest merges the rebuild and freshness figures and the shards' notes
// (the optional sections are merged by sections).
func (m *merger) rest(res *measure.Result) {
	noteShards := map[string][]int{}
	var noteOrder []string
	m.each(func(s *shard, r *measure.Result) {
		if rb := r.Rebuild; rb != nil {
			if res.Rebuild == nil {
				res.Rebuild = &measure.Rebuild{Complete: true}
			}
			x := res.Rebuild
			x.Events += rb.Events
			x.Bytes += rb.Bytes
			x.Seconds = max(x.Seconds, rb.Seconds)
			x.EventsPerSec += rb.EventsPerSec // the shards rebuilt side by side
			x.MBPerSec += rb.MBPerSec
			x.Complete = x.Complete && rb.Complete
		}
		for _, f := range r.Freshness {
			i := slices.IndexFunc(res.Freshness, func(x measure.Freshness) bool { return x.Type == f.Type })
			if i < 0 {
				res.Freshness = append(res.Freshness, measure.Freshness{Type: f.Type, MaxS: f.MaxS, P95S: f.P95S})
				continue
			}
			res.Freshness[i].MaxS = max(res.Freshness[i].MaxS, f.MaxS)
			res.Freshness[i].P95S = max(res.Freshness[i].P95S, f.P95S)
		}
		for _, n := range r.Notes {
			if _, ok := noteShards[n]; !ok {
				noteOrder = append(noteOrder, n)
			}
			noteShards[n] = append(noteShards[n], s.index())
		}
	})
	for _, n := range noteOrder { // a note every shard made is said once
		word := "shard"
		if len(noteShards[n]) > 1 {
			word = "shards"
		}
		m.notef("%s %s: %s", word, joinInts(noteShards[n]), n)
	}
	if len(res.Freshness) > 0 {
		m.notef("freshness per type is the worst shard's (max and p95 of per-second worst ages)")
	}
}

// judge evaluates the scenario's gates on the merged figures. Steady-state
// checks were judged on each shard's own window: one passes only if it
// passed on every shard, with the first failing shard's value. The run
// passes when complete, delivered, its rebuilds matched and every gate
// passed.
func (m *merger) judge(res *measure.Result, first *measure.Result) {
	var exprs []string
	for _, g := range first.Gates {
		if e, err := gate.Parse(g.Expr); err == nil && e.UsesBaseline() {
			continue // judged with `evbench gate --baseline` on the merged result
		}
		exprs = append(exprs, g.Expr)
	}
	res.Gates = measure.EvaluateGates(res, exprs, nil)
	for i, g := range first.SteadyState {
		merged := g
		m.each(func(s *shard, r *measure.Result) {
			if i < len(r.SteadyState) && r.SteadyState[i].Expr == g.Expr && !r.SteadyState[i].Pass && merged.Pass {
				merged = r.SteadyState[i]
				merged.Error = strings.TrimSpace(fmt.Sprintf("shard %d: %s", s.index(), merged.Error))
			}
		})
		res.SteadyState = append(res.SteadyState, merged)
	}
	// A rebuilt read model that differed from the live one failed its
	// shard whatever the gates said (runner's judgeRebuilds): it fails the
	// merged run too.
	res.Passed = res.Complete && res.Delivery.OK && (res.Rebuilds == nil || res.Rebuilds.DigestOK)
	for _, g := range append(slices.Clone(res.Gates), res.SteadyState...) {
		if !g.Pass {
			res.Passed = false
		}
	}
}
