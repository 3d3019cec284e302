package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/evbench/evbench/reports"
	"github.com/evbench/evbench/reports/measure"
)

// printSummary is the ten-second read after a run.
func printSummary(w io.Writer, r *measure.Result, out string) {
	status := "COMPLETE"
	if !r.Complete {
		status = "INCOMPLETE: " + r.Reason
	}
	verdict := "PASS"
	if !r.Passed {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n%s on %s  [%s]  %s\n", r.Scenario.Name, r.Driver.Name, status, verdict)
	if reports.ClientLimited(r) {
		fmt.Fprintf(w, "  CLIENT LIMITED  evbench was the bottleneck: %s\n", reports.ClientReasons(r))
	}
	if reports.Emulated(r) {
		fmt.Fprintf(w, "  %s\n", reports.EmulatedText)
	}
	if r.Events.Sent == 0 && !r.Complete {
		fmt.Fprintf(w, "  nothing was sent; result written to %s\n", out)
		return
	}
	if r.Driver.Describe != "" {
		fmt.Fprintf(w, "  store      %s\n", r.Driver.Describe)
	}
	if d := r.Durability; d != nil {
		fmt.Fprintf(w, "  durability ack after fsync: %s%s (%s; source: %s)\n", d.AckAfterFsync, prefixed(", replication ", d.Replication), d.Detail, d.Source)
	}
	e := r.Events
	fmt.Fprintf(w, "  events     scheduled %d  sent %d  acked %d  failed %d  late %d  unsent %d\n",
		e.Scheduled, e.Sent, e.Acked, e.Failed, e.Late, e.Unsent)
	if e.Retried > 0 || e.GaveUp > 0 {
		fmt.Fprintf(w, "  retries    %d events retried, %d gave up (load.retry)\n", e.Retried, e.GaveUp)
	}
	if e.WindowFull > 0 {
		fmt.Fprintf(w, "  window     %d events waited for the in-flight cap (load.max_in_flight): the harness, not the store, was the limit for them\n", e.WindowFull)
	}
	fmt.Fprintf(w, "  rate       offered %.0f/s  achieved %.0f/s  over %.1fs\n", r.OfferedRate, r.AchievedRate, r.DurationS)
	if wt := reports.WarmupText(r); wt != "" {
		fmt.Fprintf(w, "  warm-up    %s\n", wt)
	}
	if ft := reports.FreshnessText(r); ft != "" {
		fmt.Fprintf(w, "  freshness  %s\n", ft)
	}
	if ot := reports.OutboxText(r); ot != "" {
		fmt.Fprintf(w, "  outbox     %s\n", ot)
	}
	if ct := reports.ConcurrencyText(r); ct != "" {
		fmt.Fprintf(w, "  commands   %s\n", ct)
	}
	if ct := reports.ConsumerRestartText(r); ct != "" {
		fmt.Fprintf(w, "  restarts   %s\n", ct)
	}
	if ht := reports.HandlingText(r); ht != "" {
		fmt.Fprintf(w, "  handling   %s\n", ht)
	}
	pct := func(name string, p measure.Percentiles) {
		if p.Count == 0 {
			fmt.Fprintf(w, "  %-10s (no samples)\n", name)
			return
		}
		fmt.Fprintf(w, "  %-10s p50 %s  p95 %s  p99 %s  p99.9 %s  max %s\n", name,
			ms(p.P50), ms(p.P95), ms(p.P99), ms(p.P999), ms(p.Max))
	}
	pct("commit", r.Commit)
	pct("service", r.ServiceTime)
	pct("e2e", r.E2E)
	pct("send delay", r.SendDelay)
	if r.FailedLatency.Count > 0 {
		pct("failed", r.FailedLatency)
	}
	for _, o := range r.Outages {
		rec := ""
		if !o.Recovered {
			rec = " (NOT recovered by the end of the run)"
		}
		fmt.Fprintf(w, "  outage     %s %.2fs from %.1fs to %.1fs, %d failed%s\n", o.Op, o.Seconds, o.StartedS, o.EndedS, o.Failed, rec)
	}
	if reports.ClientJudged(r) {
		c := r.Client
		limited := "no"
		if c.Limited {
			limited = "YES"
		}
		fmt.Fprintf(w, "  client     cpu %.0f%%  send-delay p99 %s  late %.3g%%  limited %s\n",
			c.CPUPercent, ms(c.SendDelayP99MS), 100*c.LateFraction, limited)
	}
	if cl := clamped(r.Histograms.Clamped); cl != "" {
		fmt.Fprintf(w, "  clamped    %s (values above the 1 h histogram range, recorded as 1 h)\n", cl)
	}
	fmt.Fprintf(w, "  lag        max %d  p95 %d events\n", r.Lag.Max, r.Lag.P95)
	for _, c := range r.CatchUp {
		rec := ""
		if !c.Recovered {
			rec = " (NOT recovered)"
		}
		fmt.Fprintf(w, "  catch-up   %.2fs after %s%s\n", c.Seconds, c.Cause, rec)
	}
	for _, c := range r.CommitRecovery {
		rec := ""
		if !c.Recovered {
			rec = " (NOT recovered)"
		}
		fmt.Fprintf(w, "  recovery   %.2fs until commit p95 <= %.1fms after %s%s\n", c.Seconds, c.ThresholdMS, c.Cause, rec)
	}
	for _, c := range r.Recovery {
		rtoA, rtoP := fmt.Sprintf("%.2fs", c.RTOAppendS), fmt.Sprintf("%.2fs", c.RTOProjectionS)
		if !c.AppendRecovered {
			rtoA += " (NOT recovered)"
		}
		if !c.ProjectionRecovered {
			rtoP += " (NOT recovered)"
		}
		fmt.Fprintf(w, "  recovery   %s at %.1fs: RTO append %s, projection %s; RPO %d events over %.2fs%s\n",
			c.Fault, c.AtS, rtoA, rtoP, c.RPOEvents, c.RPOSeconds, prefixed("; ", c.Note))
	}
	if r.Rebuild != nil {
		fmt.Fprintf(w, "  rebuild    %d events in %.2fs: %.0f events/s, %.1f MB/s\n",
			r.Rebuild.Events, r.Rebuild.Seconds, r.Rebuild.EventsPerSec, r.Rebuild.MBPerSec)
	}
	if r.RebuildUnsupported != "" {
		fmt.Fprintf(w, "  rebuild    unsupported: %s\n", r.RebuildUnsupported)
	}
	for _, row := range reports.RebuildRows(r) {
		fmt.Fprintf(w, "  rebuild    %s %s\n", row[0][len("rebuild "):], row[1])
	}
	if st := reports.SchemaText(r); st != "" {
		fmt.Fprintf(w, "  schema     %s\n", st)
	}
	d := r.Delivery
	deliveryOK := "PASS"
	if !reports.DeliveryOK(r) {
		deliveryOK = "FAIL"
	}
	fmt.Fprintf(w, "  delivery   %s  lost %d  duplicated %d  reordered %d  unexpected %d  (ambiguous appends %d)\n",
		deliveryOK, d.Lost, d.Duplicated, d.Reordered, d.Unexpected, d.Ambiguous)
	if d.Misrouted > 0 || d.RetryReordered > 0 {
		fmt.Fprintf(w, "  delivery   misrouted %d  reordered by client retries %d (not the store's)\n", d.Misrouted, d.RetryReordered)
	}
	if d.Undelivered > 0 {
		fmt.Fprintf(w, "  delivery   undelivered %d: the projectors never reached the head, so the check is inconclusive\n", d.Undelivered)
	}
	if d.RPOBudget > 0 {
		fmt.Fprintf(w, "  delivery   %d of the lost events are the store's RPO after its crash: the rpo.events gate judges them\n", d.RPOBudget)
	}
	for _, f := range reports.DeliveryFailures(r) {
		fmt.Fprintf(w, "  delivery   FAIL: %s\n", f)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  NOTE       %s\n", n)
	}
	for _, g := range append(append([]measure.GateResult(nil), r.Gates...), r.SteadyState...) {
		mark := "PASS"
		if !g.Pass {
			mark = "FAIL"
		}
		extra := ""
		if g.Error != "" {
			extra = "  (" + g.Error + ")"
		}
		fmt.Fprintf(w, "  gate       %s  %s  = %.6g%s\n", mark, g.Expr, g.Value, extra)
	}
	const shownErrors = 5
	for i, e := range r.Errors {
		if i == shownErrors {
			fmt.Fprintf(w, "  errors     ... %d more kinds of error in result.json\n", len(r.Errors)-shownErrors)
			break
		}
		fmt.Fprintf(w, "  errors     %s x%d: %s\n", e.Op, e.Count, truncate(e.Message, 120))
	}
	fmt.Fprintf(w, "  result     %s\n", out)
}

// clamped lists the non-zero clamped counts by histogram name, sorted.
func clamped(m map[string]int64) string {
	var parts []string
	for n, c := range m {
		if c > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", n, c))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "  ")
}

func ms(v float64) string {
	switch {
	case v < 1:
		return fmt.Sprintf("%.0fµs", v*1000)
	case v < 100:
		return fmt.Sprintf("%.2fms", v)
	default:
		return fmt.Sprintf("%.0fms", v)
	}
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// prefixed is prefix+s, or "" when s is empty.
func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
