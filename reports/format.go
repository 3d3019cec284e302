package reports

import (
	"fmt"
	"github.com/evbench/evbench/reports/measure"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Verdict summarises a result for people: PASS, FAIL or INCOMPLETE.
func Verdict(r *measure.Result) string {
	switch {
	case !r.Complete:
		return "INCOMPLETE"
	case !DeliveryOK(r) || !GatesOK(r.Gates) || !GatesOK(r.SteadyState) || !RebuildsOK(r):
		return "FAIL"
	}
	return "PASS"
}

// DeliveryOK is the delivery check judged against the scenario's declared
// guarantees (measure.JudgeDelivery): nothing lost or misrouted, a
// conclusive check, no duplicates under exactly-once, no reorders under
// per-key order.
func DeliveryOK(r *measure.Result) bool {
	ok, _ := measure.JudgeDelivery(r.Delivery)
	return ok
}

// DeliveryFailures are the reasons the delivery check failed, one each.
func DeliveryFailures(r *measure.Result) []string {
	_, f := measure.JudgeDelivery(r.Delivery)
	return f
}

// GatesOK reports whether every gate passed.
func GatesOK(gs []measure.GateResult) bool {
	for _, g := range gs {
		if !g.Pass {
			return false
		}
	}
	return true
}

// deliveryText is the one-line delivery verdict used by every format.
func deliveryText(r *measure.Result) string {
	d := r.Delivery
	s := fmt.Sprintf("lost %d, duplicated %d, reordered %d, unexpected %d, delivered %d, ambiguous %d",
		d.Lost, d.Duplicated, d.Reordered, d.Unexpected, d.Delivered, d.Ambiguous)
	if d.Misrouted > 0 {
		s += fmt.Sprintf(", misrouted %d", d.Misrouted)
	}
	if d.RetryReordered > 0 {
		s += fmt.Sprintf(", reordered by client retries %d (not the store's)", d.RetryReordered)
	}
	if d.Undelivered > 0 {
		s += fmt.Sprintf(", undelivered %d (projectors never reached the head: inconclusive)", d.Undelivered)
	}
	if d.RPOBudget > 0 {
		s += fmt.Sprintf(", of the lost %d are the store's RPO, judged by the rpo.events gate", d.RPOBudget)
	}
	exp := d.Expect
	if exp.Delivery == "" {
		exp = measure.Expect{Delivery: measure.ExactlyOnce, Order: measure.PerKey}
	}
	s += fmt.Sprintf("; expected %s, order %s", exp.Delivery, exp.Order)
	if f := DeliveryFailures(r); len(f) > 0 {
		s += "; FAIL: " + strings.Join(f, "; ")
	}
	return s
}

// outageColumns are the header and one row per outage, shared by the
// Markdown and HTML reports.
var outageColumns = []string{"op", "started (s)", "ended (s)", "seconds", "failed", "recovered"}

func outageRows(r *measure.Result) [][]string {
	var rows [][]string
	for _, o := range r.Outages {
		rows = append(rows, []string{o.Op, num(o.StartedS), num(o.EndedS), num(o.Seconds), fmt.Sprint(o.Failed), yesNo(o.Recovered)})
	}
	return rows
}

// recoveryColumns and recoveryRows are the RTO/RPO table every report shows.
var recoveryColumns = []string{"fault", "at (s)", "RTO append (s)", "RTO projection (s)", "RPO events", "RPO span (s)", "note"}

func recoveryRows(r *measure.Result) [][]string {
	var rows [][]string
	for _, c := range r.Recovery {
		a, p := num(c.RTOAppendS), num(c.RTOProjectionS)
		if !c.AppendRecovered {
			a += " (not recovered)"
		}
		if !c.ProjectionRecovered {
			p += " (not recovered)"
		}
		rows = append(rows, []string{c.Fault, num(c.AtS), a, p, fmt.Sprint(c.RPOEvents), num(c.RPOSeconds), orDash(c.Note)})
	}
	return rows
}

// batchText says what one append of a batch is on the store, "" when the
// driver did not say.
func batchText(r *measure.Result) string {
	switch b := r.Driver.BatchAtomic; {
	case b == nil:
		return ""
	case *b:
		return "atomic (all-or-nothing)"
	}
	return "not atomic (independent writes that may land in part)"
}

// latencyRows are the latency distributions every report lists, with the
// failed appends' only when some failed.
func latencyRows(r *measure.Result) []struct {
	Name string
	P    measure.Percentiles
} {
	rows := []struct {
		Name string
		P    measure.Percentiles
	}{{"commit latency", r.Commit}, {"service time", r.ServiceTime}, {"end-to-end latency", r.E2E}, {"send delay", r.SendDelay}}
	if r.FailedLatency.Count > 0 {
		rows = append(rows, struct {
			Name string
			P    measure.Percentiles
		}{"failed appends", r.FailedLatency})
	}
	if w := r.Warmup; w != nil {
		rows = append(rows, struct {
			Name string
			P    measure.Percentiles
		}{"warm-up commit latency (excluded)", w.Commit}, struct {
			Name string
			P    measure.Percentiles
		}{"warm-up end-to-end latency (excluded)", w.E2E})
	}
	return rows
}

// WarmupText describes the warm-up (load.warmup) in one line, "" without
// one: what it measured and that the run's figures leave it out.
func WarmupText(r *measure.Result) string {
	w := r.Warmup
	if w == nil {
		return ""
	}
	return fmt.Sprintf("first %s s: %d acked, offered %s / achieved %s events/s; excluded from the rates, percentiles and gates above",
		num(w.Seconds), w.Acked, num(w.OfferedRate), num(w.AchievedRate))
}

// ClientJudged reports whether the result carries the client verdict:
// results written before it existed have no reasons list (nil), and every
// format then shows nothing about the client.
func ClientJudged(r *measure.Result) bool { return r.Client.Reasons != nil || r.Client.Limited }

// ClientLimited reports whether evbench itself was the limit of the run, so
// its figures measure the harness, not the store.
func ClientLimited(r *measure.Result) bool { return r.Client.Limited }

// ClientReasons joins the client verdict's reasons with "; ".
func ClientReasons(r *measure.Result) string {
	if len(r.Client.Reasons) == 0 {
		if r.Client.Limited {
			return "no reason recorded"
		}
		return "-"
	}
	return strings.Join(r.Client.Reasons, "; ")
}

// clientLimitedText is the one-sentence warning every format shows at the
// top of a client-limited result.
func clientLimitedText(r *measure.Result) string {
	return "evbench was the bottleneck of this run, so its figures measure evbench, not the store: " + ClientReasons(r)
}

// clientText is the client verdict's figures on one line, with the limits.
func clientText(r *measure.Result) string {
	c := r.Client
	return fmt.Sprintf("cpu %s%% (limit %s%%), send delay p99 %s ms (limit %s ms), late %s%% (limit %s%%), limited %s",
		num(c.CPUPercent), num(measure.ClientCPUPercent), num(c.SendDelayP99MS), num(measure.ClientSendDelayP99MS),
		num(100*c.LateFraction), num(100*measure.ClientLateFraction), yesNo(c.Limited))
}

// clampedText lists, by histogram name, the values above the histograms'
// one-hour range that were recorded as its top value ("" when none).
func clampedText(r *measure.Result) string {
	var names []string
	for n, c := range r.Histograms.Clamped {
		if c > 0 {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, r.Histograms.Clamped[n]))
	}
	return strings.Join(parts, ", ")
}

// num formats a float with 3 significant digits and no exponent for
// ordinary magnitudes (12.3, 0.0456, 45600).
func num(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	a := math.Abs(v)
	if a >= 1000 {
		return groupThousands(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	}
	digits := 2 - int(math.Floor(math.Log10(a)))
	if digits < 0 {
		digits = 0
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// groupThousands inserts thin separators: 1234567 -> 1,234,567.
func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// withUnit formats a value with its unit ("12.3 ms", "4 events").
func withUnit(v float64, unit string) string {
	switch unit {
	case "", "ratio":
		return num(v)
	}
	return num(v) + " " + unit
}

// relChange formats b relative to a ("+12.3%", "-4%", "n/a").
func relChange(a, b float64) string {
	if a == 0 {
		if b == 0 {
			return "0%"
		}
		return "n/a"
	}
	if a > 0 && b/a >= 10 { // "+859,024%" reads worse than "8,591x"
		return num(b/a) + "x"
	}
	c := (b - a) / math.Abs(a) * 100
	s := num(c) + "%"
	if c > 0 {
		s = "+" + s
	}
	return s
}

// gateStatus is PASS, FAIL or ERROR (could not be evaluated).
func gateStatus(g measure.GateResult) string {
	switch {
	case g.Error != "":
		return "ERROR"
	case g.Pass:
		return "PASS"
	}
	return "FAIL"
}

// gateDetail says the value, threshold and direction of a gate.
func gateDetail(g measure.GateResult) string {
	if g.Error != "" {
		return g.Error
	}
	s := "value " + withUnit(g.Value, g.Unit) + ", threshold " + withUnit(g.Threshold, g.Unit)
	if g.Baseline != nil {
		s += ", baseline " + withUnit(*g.Baseline, g.Unit)
	}
	if g.Worse != "" {
		s += " (" + g.Worse + ")"
	}
	return s
}

// environmentText is the Markdown reports' environment sentence, up to the
// driver: version, Go, OS/arch, CPUs and host.
func environmentText(env measure.Environment, cell func(string) string) string {
	s := fmt.Sprintf("evbench %s, %s, %s/%s, %d CPUs", orDash(env.Version), orDash(env.Go), orDash(env.OS), orDash(env.Arch), env.CPUs)
	if env.Hostname != "" {
		s += ", host " + cell(env.Hostname)
	}
	return s
}

// FreshnessText is the worst age of the oldest unapplied event per type,
// "" when not measured: "OrderPlaced max 1.52 s (p95 0.2 s), ...".
func FreshnessText(r *measure.Result) string {
	var parts []string
	for _, f := range r.Freshness {
		parts = append(parts, fmt.Sprintf("%s max %s s (p95 %s s)", f.Type, num(f.MaxS), num(f.P95S)))
	}
	return strings.Join(parts, ", ")
}
