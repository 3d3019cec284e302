package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/evbench/evbench/reports/measure"
	"html/template"
	"strings"
	"text/tabwriter"
)

// CompareRow is one metric across results; Values[i] is absent when
// Present[i] is false.
type CompareRow struct {
	Metric  string
	Unit    string
	Values  []float64
	Present []bool
	// Worse is "higher" or "lower": which direction of change is worse.
	Worse string
}

// Comparison puts several results side by side, the first being the
// reference for relative changes.
type Comparison struct {
	Names    []string
	Results  []*measure.Result
	Rows     []CompareRow
	Warnings []string
}

// compareMetrics are the rows of a comparison: metric, unit, worse direction.
var compareMetrics = []struct{ metric, label, unit, worse string }{
	{"commit.p50", "commit p50", "ms", "higher"},
	{"commit.p95", "commit p95", "ms", "higher"},
	{"commit.p99", "commit p99", "ms", "higher"},
	{"e2e.p99", "e2e p99", "ms", "higher"},
	{"achieved_rate", "achieved rate", "events/s", "lower"},
	{"rebuild.events_per_sec", "rebuild", "events/s", "lower"},
	{"catch_up.max", "catch-up max", "s", "higher"},
	{"delivery.lost", "lost", "events", "higher"},
}

// NewComparison builds the table and the warnings: different scenarios
// (allowed, but the numbers then measure different things), a differently
// resolved scenario under the same name, a different durability label
// (commit latency with and without an fsync), incomplete runs.
func NewComparison(names []string, rs []*measure.Result) *Comparison {
	c := &Comparison{Names: names, Results: rs}
	ms := make([]map[string]float64, len(rs))
	for i, r := range rs {
		ms[i] = measure.Metrics(r)
	}
	for _, cm := range compareMetrics {
		row := CompareRow{Metric: cm.label, Unit: cm.unit, Worse: cm.worse}
		for _, m := range ms {
			v, ok := m[cm.metric]
			row.Values = append(row.Values, v)
			row.Present = append(row.Present, ok)
		}
		c.Rows = append(c.Rows, row)
	}
	if len(rs) == 0 {
		return c
	}
	ref := rs[0]
	for i, r := range rs[1:] {
		n := names[i+1]
		switch {
		case r.Scenario.Name != ref.Scenario.Name:
			c.Warnings = append(c.Warnings, fmt.Sprintf("WARNING: different scenarios: %s ran %q, %s ran %q; the numbers measure different workloads", names[0], ref.Scenario.Name, n, r.Scenario.Name))
		case !sameJSON(r.Scenario.Resolved, ref.Scenario.Resolved):
			c.Warnings = append(c.Warnings, fmt.Sprintf("WARNING: scenario %q was resolved differently in %s and %s (--set, --duration or --rate-scale differ)", r.Scenario.Name, names[0], n))
		}
	}
	c.Warnings = append(c.Warnings, durabilityWarnings(names, rs)...)
	c.Warnings = append(c.Warnings, emulatedWarnings(names, rs)...)
	for i, r := range rs {
		if !r.Complete {
			c.Warnings = append(c.Warnings, fmt.Sprintf("WARNING: %s is an incomplete run: %s", names[i], orDash(r.Reason)))
		}
	}
	for i, r := range rs {
		if ClientLimited(r) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("WARNING: run %s: client limited: %s; its figures measure evbench, not the store", names[i], ClientReasons(r)))
		}
	}
	return c
}

// clientLimitedCell is a run's client verdict in a comparison: yes, no, or
// "-" for a result written before evbench judged its client.
func clientLimitedCell(r *measure.Result) string {
	if !ClientJudged(r) {
		return "-"
	}
	return yesNo(ClientLimited(r))
}

func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// cell formats one value with its change relative to the first result,
// marking a change in the worse direction with "worse".
func (c *Comparison) cell(row CompareRow, i int) string { return compareCell(row, i) }

// compareCell is Comparison.cell, shared with probe comparisons.
func compareCell(row CompareRow, i int) string {
	if !row.Present[i] {
		return "-"
	}
	s := num(row.Values[i])
	if i == 0 || !row.Present[0] {
		return s
	}
	a, b := row.Values[0], row.Values[i]
	s += " (" + relChange(a, b)
	if (row.Worse == "higher" && b > a) || (row.Worse == "lower" && b < a) {
		s += ", worse"
	}
	return s + ")"
}

// Text renders the comparison as an aligned plain-text table, warnings
// first, with changes relative to the first result.
func (c *Comparison) Text() string {
	var b strings.Builder
	for _, w := range c.Warnings {
		b.WriteString(w + "\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "metric\t")
	for _, n := range c.Names {
		fmt.Fprint(tw, n+"\t")
	}
	fmt.Fprintln(tw)
	fmt.Fprint(tw, "scenario / driver\t")
	for _, r := range c.Results {
		fmt.Fprintf(tw, "%s / %s\t", r.Scenario.Name, r.Driver.Name)
	}
	fmt.Fprintln(tw)
	fmt.Fprint(tw, "client limited\t")
	for _, r := range c.Results {
		fmt.Fprint(tw, clientLimitedCell(r)+"\t")
	}
	fmt.Fprintln(tw)
	fmt.Fprint(tw, "ack after fsync\t")
	for _, r := range c.Results {
		fmt.Fprint(tw, durabilityCell(r)+"\t")
	}
	fmt.Fprintln(tw)
	fmt.Fprint(tw, "replication\t")
	for _, r := range c.Results {
		fmt.Fprint(tw, replicationCell(r)+"\t")
	}
	fmt.Fprintln(tw)
	for _, row := range c.Rows {
		fmt.Fprintf(tw, "%s (%s)\t", row.Metric, row.Unit)
		for i := range c.Results {
			fmt.Fprint(tw, c.cell(row, i)+"\t")
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if len(c.Results) > 1 {
		b.WriteString("Changes are relative to " + c.Names[0] + "; \"worse\" marks the direction that hurts (latency up, throughput down).\n")
	}
	return b.String()
}

var compareTmpl = template.Must(template.New("compare").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>evbench comparison</title>
<style>{{.CSS}}</style><script>{{.JS}}</script></head><body>
<div id="render-check" data-rendered="no"></div>
<pre id="js-errors" data-count="0" style="display:none"></pre>
<h1>evbench comparison</h1>
{{range .C.Warnings}}<div class="warn">{{.}}</div>{{end}}
<h2>Key numbers</h2>
<table id="summary"><tr><th class="l">metric</th>{{range .C.Names}}<th>{{.}}</th>{{end}}</tr>
<tr><td class="l">scenario / driver</td>{{range .C.Results}}<td>{{.Scenario.Name}} / {{.Driver.Name}}</td>{{end}}</tr>
<tr><td class="l">verdict</td>{{range .Verdicts}}<td><span class="s {{.}}">{{.}}</span></td>{{end}}</tr>
<tr><td class="l">client limited</td>{{range .Limited}}<td>{{if eq . "yes"}}<span class="s FAIL">yes</span>{{else}}{{.}}{{end}}</td>{{end}}</tr>
<tr><td class="l">ack after fsync</td>{{range .Durable}}<td>{{.}}</td>{{end}}</tr>
<tr><td class="l">replication</td>{{range .Replication}}<td>{{.}}</td>{{end}}</tr>
{{range .Rows}}<tr><td class="l">{{index . 0}}</td>{{range slice . 1}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
<p class="meta">Changes are relative to the first result.</p>
<h2>Percentile spectra</h2>
{{range .Plots}}<figure id="plot-{{.Name}}"><img alt="{{.Title}}" src="{{.URI}}"><figcaption>{{.Title}}</figcaption></figure>
{{else}}<p>No histograms to plot.</p>{{end}}
</body></html>
`))

// RenderCompareHTML renders a self-contained comparison page with the
// table and the overlaid commit and end-to-end percentile spectra.
func RenderCompareHTML(c *Comparison) ([]byte, error) {
	var plots []Plot
	for _, k := range []struct{ name, title, which string }{
		{"commit_spectrum", "Commit latency percentile spectrum", "commit"},
		{"e2e_spectrum", "End-to-end latency percentile spectrum", "end-to-end"},
	} {
		var hs []NamedHist
		for i, r := range c.Results {
			for _, h := range resultHists(r, "") {
				if h.Label == k.which {
					hs = append(hs, NamedHist{Label: c.Names[i], Hist: h.Hist})
				}
			}
		}
		p, err := SpectrumPlot(k.title, hs)
		if err != nil || p == nil {
			continue
		}
		pl, err := encodePlot(k.name, k.title, p)
		if err != nil {
			return nil, err
		}
		pl.PNG = nil // SVG is enough inside HTML
		plots = append(plots, pl)
	}
	var rows [][]string
	for _, row := range c.Rows {
		cells := []string{row.Metric + " (" + row.Unit + ")"}
		for i := range c.Results {
			cells = append(cells, c.cell(row, i))
		}
		rows = append(rows, cells)
	}
	var verdicts, limited, durable, replication []string
	for _, r := range c.Results {
		verdicts = append(verdicts, Verdict(r))
		limited = append(limited, clientLimitedCell(r))
		durable = append(durable, durabilityCell(r))
		replication = append(replication, replicationCell(r))
	}
	var buf bytes.Buffer
	err := compareTmpl.Execute(&buf, map[string]any{
		"C": c, "CSS": template.CSS(pageCSS), "JS": template.JS(errorCatcherJS),
		"Rows": rows, "Verdicts": verdicts, "Limited": limited, "Durable": durable, "Replication": replication, "Plots": htmlPlots(plots),
	})
	if err != nil {
		return nil, fmt.Errorf("render comparison: %w", err)
	}
	return buf.Bytes(), nil
}

// durabilityWarnings warns for each run whose durability label differs
// from the first run's: a different ack_after_fsync or replication, or a
// label on one side only. Commit latency with an fsync in it and commit
// latency without measure different things.
func durabilityWarnings(names []string, rs []*measure.Result) []string {
	labels := make([]*measure.Durability, len(rs))
	for i, r := range rs {
		labels[i] = r.Durability
	}
	return durabilityLabelWarnings(names, labels)
}

// durabilityLabelWarnings is durabilityWarnings over the labels alone
// (shared with probe comparisons).
func durabilityLabelWarnings(names []string, labels []*measure.Durability) []string {
	var out []string
	ref := labels[0]
	for i, d := range labels[1:] {
		if !durabilityDiffers(ref, d) {
			continue
		}
		repl := ref != nil && d != nil && ref.Replication != d.Replication
		out = append(out, fmt.Sprintf("WARNING: durability differs: %s %s, %s %s: their commit latencies are not comparable",
			names[0], durabilityPhrase(ref, repl), names[i+1], durabilityPhrase(d, repl)))
	}
	return out
}

// durabilityDiffers reports whether two labels differ; two results
// without a label (written before evbench labelled durability) do not.
func durabilityDiffers(a, b *measure.Durability) bool {
	if a == nil || b == nil {
		return (a == nil) != (b == nil)
	}
	return a.AckAfterFsync != b.AckAfterFsync || a.Replication != b.Replication
}

// durabilityPhrase says what a run's acknowledgement means, for warnings:
// "acks after fsync", with its replication when repl.
func durabilityPhrase(d *measure.Durability, repl bool) string {
	if d == nil {
		return "has no durability label"
	}
	s := ackPhrase(d.AckAfterFsync)
	if repl {
		s += " (replication: " + orDash(d.Replication) + ")"
	}
	return s
}

func ackPhrase(ack string) string {
	switch ack {
	case "true":
		return "acks after fsync"
	case "false":
		return "acks before fsync"
	default:
		return "does not say whether it acks after fsync"
	}
}

// durabilityCell is a run's ack_after_fsync in a comparison: true, false,
// unknown, or "-" for a result without a label.
func durabilityCell(r *measure.Result) string {
	if r.Durability == nil {
		return "-"
	}
	return orDash(r.Durability.AckAfterFsync)
}

// replicationCell is a run's replication in a comparison.
func replicationCell(r *measure.Result) string {
	if r.Durability == nil {
		return "-"
	}
	return orDash(r.Durability.Replication)
}

// DurabilityText is the label shown beside commit latency in report.md and
// report.html: "ack after fsync: false (detail; replication: ...; source: ...)".
func DurabilityText(r *measure.Result) string {
	d := r.Durability
	if d == nil {
		return "not recorded in this result: commit latency may or may not include an fsync"
	}
	var parts []string
	if d.Detail != "" {
		parts = append(parts, d.Detail)
	}
	if d.Replication != "" {
		parts = append(parts, "replication: "+d.Replication)
	}
	if d.Source != "" {
		parts = append(parts, "source: "+d.Source)
	}
	s := "ack after fsync: " + orDash(d.AckAfterFsync)
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, "; ") + ")"
	}
	return s
}
