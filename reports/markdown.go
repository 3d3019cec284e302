package reports

import (
	"fmt"
	"github.com/evbench/evbench/reports/measure"
	"strings"
	"time"
)

// RenderMarkdown renders the summary for pull requests and wikis: verdict,
// gates, key numbers, delivery, catch-ups, rebuild, faults, environment.
// The output is deterministic (golden-file tested).
func RenderMarkdown(r *measure.Result) []byte { return RenderMarkdownWithPlots(r, nil) }

// RenderMarkdownWithPlots is RenderMarkdown plus links to the plots (PNG,
// relative to the result directory).
func RenderMarkdownWithPlots(r *measure.Result, plots []Plot) []byte {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	cell := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ") }

	p("# evbench: %s on %s: %s\n\n", cell(r.Scenario.Name), cell(r.Driver.Name), Verdict(r))
	if ClientLimited(r) {
		p("> [!WARNING]\n> **CLIENT LIMITED**: evbench was the bottleneck of this run, so its figures measure evbench, not the store.\n>\n")
		for _, x := range clientReasonList(r) {
			p("> - %s\n", cell(x))
		}
		p("\n")
	}
	if Emulated(r) {
		p("> [!WARNING]\n> **%s**\n\n", EmulatedText)
	}
	p("- Started: %s, duration %s s\n", r.StartedAt.UTC().Format(time.RFC3339), num(r.DurationS))
	if r.Driver.Describe != "" {
		p("- Driver: %s\n", cell(r.Driver.Describe))
	}
	if !r.Complete {
		p("- **Incomplete run**: %s\n", cell(orDash(r.Reason)))
	} else if r.Reason != "" {
		p("- Note: %s\n", cell(r.Reason))
	}
	p("- Delivery check: **%s** (%s)\n", passFail(DeliveryOK(r)), cell(deliveryText(r)))
	for _, n := range r.Notes {
		p("- **Note**: %s\n", cell(n))
	}
	p("\n")

	if len(r.Gates) > 0 || len(r.SteadyState) > 0 {
		p("## Gates\n\n| Gate | Result | Detail |\n|---|---|---|\n")
		for _, g := range append(append([]measure.GateResult(nil), r.SteadyState...), r.Gates...) {
			p("| `%s` | %s | %s |\n", cell(g.Expr), gateStatus(g), cell(gateDetail(g)))
		}
		p("\n")
	}

	p("## Key numbers\n\n| Metric | p50 | p90 | p95 | p99 | p99.9 | max | mean | count |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, x := range latencyRows(r) {
		if x.P.Count == 0 {
			p("| %s (ms) | - | - | - | - | - | - | - | 0 |\n", x.Name)
			continue
		}
		q := x.P
		p("| %s (ms) | %s | %s | %s | %s | %s | %s | %s | %d |\n", x.Name, num(q.P50), num(q.P90), num(q.P95), num(q.P99), num(q.P999), num(q.Max), num(q.Mean), q.Count)
	}
	p("\nCommit durability: %s\n", cell(DurabilityText(r)))
	p("\n| Throughput and load | Value |\n|---|---|\n")
	p("| offered rate | %s events/s |\n| achieved rate | %s events/s |\n", num(r.OfferedRate), num(r.AchievedRate))
	e := r.Events
	p("| events scheduled / sent / acked | %d / %d / %d |\n| events failed / late / unsent | %d / %d / %d |\n", e.Scheduled, e.Sent, e.Acked, e.Failed, e.Late, e.Unsent)
	if e.Retried > 0 || e.GaveUp > 0 {
		p("| events retried / gave up | %d / %d |\n", e.Retried, e.GaveUp)
	}
	p("| lag max / p95 | %d / %d events |\n", r.Lag.Max, r.Lag.P95)
	if wt := WarmupText(r); wt != "" {
		p("| warm-up | %s |\n", wt)
	}
	if st := SchemaText(r); st != "" {
		p("| schema evolution | %s |\n", cell(st))
	}
	if ft := FreshnessText(r); ft != "" {
		p("| freshness (oldest unapplied event) | %s |\n", ft)
	}
	if ot := OutboxText(r); ot != "" {
		p("| transactional outbox | %s |\n", cell(ot))
	}
	if ct := ConcurrencyText(r); ct != "" {
		p("| optimistic concurrency | %s |\n", cell(ct))
	}
	if ct := ConsumerRestartText(r); ct != "" {
		p("| consumer restarts (durable resume) | %s |\n", cell(ct))
	}
	if ht := HandlingText(r); ht != "" {
		p("| consumer handling (inbox, retries, DLQ) | %s |\n", cell(ht))
	}
	if rb := r.Rebuild; rb != nil {
		p("| rebuild | %s events/s, %s MB/s, %d events in %s s%s |\n", num(rb.EventsPerSec), num(rb.MBPerSec), rb.Events, num(rb.Seconds), map[bool]string{true: "", false: " (incomplete)"}[rb.Complete])
	}
	for _, row := range RebuildRows(r) {
		p("| %s | %s |\n", row[0], cell(row[1]))
	}
	if cl := clampedText(r); cl != "" {
		p("| values clamped at the 1 h histogram top | %s |\n", cl)
	}
	p("\n")

	if ClientJudged(r) {
		c := r.Client
		limited := "no"
		if c.Limited {
			limited = "**yes** (reasons above)"
		}
		p("## Client\n\nWhether evbench itself was the limit of the run.\n\n| Client | Value | Limit |\n|---|---|---|\n")
		p("| limited | %s | - |\n", limited)
		p("| CPU (of all cores) | %s%% | < %s%% |\n", num(c.CPUPercent), num(measure.ClientCPUPercent))
		p("| send delay p99 | %s ms | <= %s ms |\n", num(c.SendDelayP99MS), num(measure.ClientSendDelayP99MS))
		p("| late fraction | %s%% | <= %s%% |\n\n", num(100*c.LateFraction), num(100*measure.ClientLateFraction))
	}

	if len(r.CatchUp) > 0 {
		p("## Catch-up\n\n| Cause | Started (s) | Catch-up (s) | Recovered | Threshold (events) |\n|---|---|---|---|---|\n")
		for _, c := range r.CatchUp {
			p("| %s | %s | %s | %s | %d |\n", cell(c.Cause), num(c.StartedS), num(c.Seconds), yesNo(c.Recovered), c.Threshold)
		}
		p("\n")
	}
	if len(r.CommitRecovery) > 0 {
		p("## Commit latency recovery\n\n| Cause | Started (s) | Recovery (s) | Recovered | Threshold (ms) |\n|---|---|---|---|---|\n")
		for _, c := range r.CommitRecovery {
			p("| %s | %s | %s | %s | %s |\n", cell(c.Cause), num(c.StartedS), num(c.Seconds), yesNo(c.Recovered), num(c.ThresholdMS))
		}
		p("\n")
	}
	if rows := recoveryRows(r); len(rows) > 0 {
		p("## Recovery (RTO, RPO)\n\nPer store fault that took the store's process away: until appends succeeded again, until the projection was live at steady state, and the acknowledged events the store lost.\n\n| %s |\n|%s\n", strings.Join(recoveryColumns, " | "), strings.Repeat("---|", len(recoveryColumns)))
		for _, row := range rows {
			for i := range row {
				row[i] = cell(row[i])
			}
			p("| %s |\n", strings.Join(row, " | "))
		}
		p("\n")
	}
	if rows := outageRows(r); len(rows) > 0 {
		p("## Outages\n\nFrom an operation's first failure to its first success after it.\n\n| %s |\n|%s\n", strings.Join(outageColumns, " | "), strings.Repeat("---|", len(outageColumns)))
		for _, row := range rows {
			p("| %s |\n", strings.Join(row, " | "))
		}
		p("\n")
	}
	if len(r.Faults) > 0 {
		p("## Faults\n\n| Kind | Path | At (s) | For (s) | Error |\n|---|---|---|---|---|\n")
		for _, f := range r.Faults {
			p("| %s | %s | %s | %s | %s |\n", cell(f.Kind), cell(f.Path), num(f.AtS), num(f.ForS), cell(orDash(f.Error)))
		}
		p("\n")
	}
	if len(r.Errors) > 0 {
		p("## Errors\n\n| Op | Count | Message |\n|---|---|---|\n")
		for _, x := range r.Errors {
			p("| %s | %d | %s |\n", cell(x.Op), x.Count, cell(x.Message))
		}
		p("\n")
	}
	if len(plots) > 0 {
		p("## Plots\n\n")
		for _, pl := range plots {
			p("![%s](%s/%s.png)\n\n", pl.Title, PlotsDir, pl.Name)
		}
	}
	p("## Environment\n\n%s", environmentText(r.Environment, cell))
	if mt := MergeText(r); mt != "" {
		p("; %s", cell(mt))
	}
	p(". Driver %s (DSN `%s`, embedded %s", cell(r.Driver.Name), cell(r.Driver.DSN), yesNo(r.Driver.Embedded))
	if bt := batchText(r); bt != "" {
		p(", batch %s", bt)
	}
	p(").\n")
	return []byte(b.String())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func passFail(b bool) string {
	if b {
		return "PASS"
	}
	return "FAIL"
}
