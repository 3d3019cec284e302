package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/evbench/evbench/reports/measure"
)

// ProbeStepVerdict is a step's verdict as every probe view shows it:
// "pass", "FAIL" or "client limited" (evbench was the limit, so the step
// says nothing about the store), with ", repeated" for the second run of
// a borderline step (", borderline" on its first run).
func ProbeStepVerdict(s measure.ProbeStep) string {
	v := "FAIL"
	switch {
	case s.ClientLimited:
		v = "client limited"
	case s.Pass:
		v = "pass"
	}
	switch {
	case s.Repeated:
		v += ", repeated"
	case s.Borderline:
		v += ", borderline"
	}
	return v
}

// probeStepClass is the CSS class of a step's verdict badge.
func probeStepClass(s measure.ProbeStep) string {
	switch {
	case s.ClientLimited:
		return "INCOMPLETE"
	case s.Pass:
		return "PASS"
	}
	return "FAIL"
}

// lagSlopeText is "slope ± half-width of the 95 % CI" (events/s), the
// bare slope when the probe recorded no interval.
func lagSlopeText(s measure.ProbeStep) string {
	lo, hi := s.LagSlopeCI[0], s.LagSlopeCI[1]
	if lo == 0 && hi == 0 {
		return num(s.LagSlope)
	}
	return num(s.LagSlope) + " ± " + num(math.Abs(hi-lo)/2)
}

// rate formats an event rate ("4,000 events/s").
func rate(v float64) string { return num(v) + " events/s" }

// ProbeVerdict is the probe's headline in one sentence: the maximum
// sustainable rate, the first failing rate and the resolution.
func ProbeVerdict(r *measure.ProbeResult) string {
	var s string
	switch {
	case len(r.Steps) == 0:
		s = "no step ran"
	case r.MaxSustainableRate == 0:
		s = "no sustainable rate: every step failed"
		if r.FirstFailingRate > 0 {
			s += " (first failing rate " + rate(r.FirstFailingRate) + ")"
		}
	default:
		s = "max sustainable rate " + rate(r.MaxSustainableRate)
		if r.FirstFailingRate > 0 {
			s += ", first failing rate " + rate(r.FirstFailingRate)
		} else {
			s += ", no step failed up to " + rate(maxOffered(r)) + ": the limit is higher"
		}
	}
	if r.Resolution > 0 {
		s += fmt.Sprintf(", resolution %s%%", num(100*r.Resolution))
	}
	return s
}

// ProbeStatus is the badge of a probe: INCOMPLETE, FAIL (no sustainable
// rate) or PASS (a sustainable rate was found).
func ProbeStatus(r *measure.ProbeResult) string {
	switch {
	case !r.Complete:
		return "INCOMPLETE"
	case r.MaxSustainableRate == 0:
		return "FAIL"
	}
	return "PASS"
}

// probeClientLimitedText warns that the rates at and above ClientLimitedAt
// measured evbench, "" when the client was never the limit.
func probeClientLimitedText(r *measure.ProbeResult) string {
	if r.ClientLimitedAt <= 0 {
		return ""
	}
	return "evbench itself was the limit from " + rate(r.ClientLimitedAt) + ": no step at or above that rate says anything about the store, so the store's real limit may be higher"
}

// probeSLOText joins the SLO expressions, "-" when there were none.
func probeSLOText(r *measure.ProbeResult) string {
	if len(r.SLO) == 0 {
		return "-"
	}
	return strings.Join(r.SLO, ", ")
}

// probeDurabilityText is the durability label, as in run reports.
func probeDurabilityText(r *measure.ProbeResult) string {
	return DurabilityText(&measure.Result{Durability: r.Durability})
}

func maxOffered(r *measure.ProbeResult) float64 {
	m := 0.0
	for _, s := range r.Steps {
		m = math.Max(m, s.Offered)
	}
	return m
}

// probeStepRow is one step's cells, shared by Markdown and HTML: #,
// offered, achieved, verdict, p50, p95, p99, p99.9, lag slope, sub-windows,
// reasons.
var probeStepColumns = []string{"#", "offered (events/s)", "achieved (events/s)", "verdict", "p50 (ms)", "p95 (ms)", "p99 (ms)", "p99.9 (ms)", "lag slope (events/s, ± 95% CI)", "sub-windows passed", "reasons"}

func probeStepRow(i int, s measure.ProbeStep) []string {
	sub := "-"
	if s.SubWindows > 0 {
		sub = fmt.Sprintf("%d / %d", s.SubWindowsPassed, s.SubWindows)
	}
	reasons := "-"
	if len(s.Reasons) > 0 {
		reasons = strings.Join(s.Reasons, "; ")
	}
	return []string{fmt.Sprint(i + 1), num(s.Offered), num(s.Achieved), ProbeStepVerdict(s), num(s.P50), num(s.P95), num(s.P99), num(s.P999), lagSlopeText(s), sub, reasons}
}

// ProbeP99At interpolates the commit p99 (ms) at an offered rate from the
// probe's steps, linearly between the two steps around it. Client-limited
// steps, steps at or above ClientLimitedAt and steps without a p99 are
// left out; steps at the same offered
// rate (a repeated step) are averaged. ok is false when no step lies at or
// below rate and at or above it: the probe has no data there.
func ProbeP99At(r *measure.ProbeResult, rate float64) (p99 float64, ok bool) {
	type pt struct{ x, y float64 }
	sum := map[float64][2]float64{}
	for _, s := range r.Steps {
		if s.ClientLimited || !(s.P99 > 0) || !(s.Offered > 0) || (r.ClientLimitedAt > 0 && s.Offered >= r.ClientLimitedAt) {
			continue
		}
		a := sum[s.Offered]
		sum[s.Offered] = [2]float64{a[0] + s.P99, a[1] + 1}
	}
	var pts []pt
	for x, a := range sum {
		pts = append(pts, pt{x, a[0] / a[1]})
	}
	slices.SortFunc(pts, func(a, b pt) int { return cmpFloat(a.x, b.x) })
	if !(rate > 0) {
		return 0, false
	}
	for i, p := range pts {
		if p.x == rate {
			return p.y, true
		}
		if p.x > rate {
			if i == 0 {
				return 0, false
			}
			q := pts[i-1]
			return q.y + (p.y-q.y)*(rate-q.x)/(p.x-q.x), true
		}
	}
	return 0, false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
