package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/evbench/evbench/reports/measure"
)

// ProbeComparison puts several probes side by side, the first being the
// reference for relative changes. Probes and runs are not mixed: a run
// has no maximum sustainable rate and a probe no single latency figure.
type ProbeComparison struct {
	Names    []string
	Results  []*measure.ProbeResult
	Rows     []CompareRow
	Warnings []string
	// Notes say which interpolated cells are missing and why.
	Notes []string
}

// probeLoadPoints are the fractions of each probe's own max sustainable
// rate at which commit p99 is interpolated.
var probeLoadPoints = []float64{0.5, 0.8}

// NewProbeComparison builds the table and the warnings: different
// scenarios or SLOs (the max rates then answer different questions), a
// different durability label, incomplete probes, client-limited probes.
func NewProbeComparison(names []string, rs []*measure.ProbeResult) *ProbeComparison {
	c := &ProbeComparison{Names: names, Results: rs}
	row := func(metric, unit, worse string, get func(r *measure.ProbeResult) (float64, bool)) {
		cr := CompareRow{Metric: metric, Unit: unit, Worse: worse}
		for _, r := range rs {
			v, ok := get(r)
			cr.Values = append(cr.Values, v)
			cr.Present = append(cr.Present, ok)
		}
		c.Rows = append(c.Rows, cr)
	}
	row("max sustainable rate", "events/s", "lower", func(r *measure.ProbeResult) (float64, bool) { return r.MaxSustainableRate, len(r.Steps) > 0 })
	row("first failing rate", "events/s", "lower", func(r *measure.ProbeResult) (float64, bool) { return r.FirstFailingRate, r.FirstFailingRate > 0 })
	for _, f := range probeLoadPoints {
		row(fmt.Sprintf("commit p99 at %s%% of max, interpolated", num(100*f)), "ms", "higher", func(r *measure.ProbeResult) (float64, bool) {
			if r.MaxSustainableRate <= 0 {
				return 0, false
			}
			return ProbeP99At(r, f*r.MaxSustainableRate)
		})
	}
	for i, r := range rs {
		for k, f := range probeLoadPoints {
			if c.Rows[2+k].Present[i] {
				continue
			}
			if r.MaxSustainableRate <= 0 {
				c.Notes = append(c.Notes, fmt.Sprintf("%s: no max sustainable rate, so no p99 at %s%% of it", names[i], num(100*f)))
				continue
			}
			c.Notes = append(c.Notes, fmt.Sprintf("%s: no steps on both sides of %s (%s%% of max) to interpolate p99 from", names[i], rate(f*r.MaxSustainableRate), num(100*f)))
		}
	}
	if len(rs) == 0 {
		return c
	}
	ref := rs[0]
	for i, r := range rs[1:] {
		n := names[i+1]
		if r.Scenario != ref.Scenario {
			c.Warnings = append(c.Warnings, fmt.Sprintf("WARNING: different scenarios: %s probed %q, %s probed %q; the rates measure different workloads", names[0], ref.Scenario, n, r.Scenario))
		}
		if !slices.Equal(r.SLO, ref.SLO) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("WARNING: different SLOs: %s was judged by %s, %s by %s; their max sustainable rates answer different questions", names[0], probeSLOText(ref), n, probeSLOText(r)))
		}
	}
	labels := make([]*measure.Durability, len(rs))
	for i, r := range rs {
		labels[i] = r.Durability
	}
	c.Warnings = append(c.Warnings, durabilityLabelWarnings(names, labels)...)
	for i, r := range rs {
		if !r.Complete {
			c.Warnings = append(c.Warnings, fmt.Sprintf("WARNING: %s is an incomplete probe: %s", names[i], orDash(r.Reason)))
		}
	}
	for i, r := range rs {
		if r.ClientLimitedAt > 0 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("WARNING: probe %s: client limited from %s; rates at and above it measure evbench, not the store", names[i], rate(r.ClientLimitedAt)))
		}
	}
	return c
}

// probeHeaderRows are the descriptive rows above the figures.
func (c *ProbeComparison) probeHeaderRows() [][]string {
	rows := [][]string{{"scenario / driver"}, {"complete"}, {"SLO"}, {"resolution"}, {"client limited from"}, {"ack after fsync"}, {"replication"}}
	for _, r := range c.Results {
		res, lim := "-", "never"
		if r.Resolution > 0 {
			res = num(100*r.Resolution) + "%"
		}
		if r.ClientLimitedAt > 0 {
			lim = rate(r.ClientLimitedAt)
		}
		dur, repl := "-", "-"
		if d := r.Durability; d != nil {
			dur, repl = orDash(d.AckAfterFsync), orDash(d.Replication)
		}
		for k, v := range []string{r.Scenario + " / " + r.Driver.Name, yesNo(r.Complete), probeSLOText(r), res, lim, dur, repl} {
			rows[k] = append(rows[k], v)
		}
	}
	return rows
}

// Text renders the comparison as an aligned plain-text table: warnings
// first, then the table, then notes on missing interpolations.
func (c *ProbeComparison) Text() string {
	var b strings.Builder
	for _, w := range c.Warnings {
		b.WriteString(w + "\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "probe\t")
	for _, n := range c.Names {
		fmt.Fprint(tw, n+"\t")
	}
	fmt.Fprintln(tw)
	for _, row := range c.probeHeaderRows() {
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	for _, row := range c.Rows {
		fmt.Fprintf(tw, "%s (%s)\t", row.Metric, row.Unit)
		for i := range c.Results {
			fmt.Fprint(tw, compareCell(row, i)+"\t")
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, n := range c.Notes {
		b.WriteString("note: " + n + "\n")
	}
	b.WriteString("p99 at a fraction of max is interpolated linearly between the two steps around that rate (client-limited steps left out), each probe at its own max.\n")
	if len(c.Results) > 1 {
		b.WriteString("Changes are relative to " + c.Names[0] + "; \"worse\" marks the direction that hurts (rate down, latency up).\n")
	}
	return b.String()
}

var probeCompareTmpl = template.Must(template.New("probecompare").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>evbench probe comparison</title>
<style>{{.CSS}}</style><script>{{.JS}}</script></head><body>
<div id="render-check" data-rendered="no"></div>
<pre id="js-errors" data-count="0" style="display:none"></pre>
<h1>evbench probe comparison</h1>
{{range .C.Warnings}}<div class="warn">{{.}}</div>{{end}}
<h2>Max sustainable rate</h2>
<table id="summary"><tr><th class="l">probe</th>{{range .C.Names}}<th>{{.}}</th>{{end}}</tr>
<tr><td class="l">verdict</td>{{range .Status}}<td><span class="s {{.}}">{{.}}</span></td>{{end}}</tr>
{{range .Rows}}<tr><td class="l">{{index . 0}}</td>{{range slice . 1}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{range .C.Notes}}<p class="meta">Note: {{.}}</p>{{end}}
<p class="meta">p99 at a fraction of max is interpolated linearly between the two steps around that rate (client-limited steps left out), each probe at its own max. Changes are relative to the first probe.</p>
<h2>Curves</h2>
{{range .Plots}}<figure id="plot-{{.Name}}"><img alt="{{.Title}}" src="{{.URI}}"><figcaption>{{.Title}}. Filled markers: steps that passed; hollow red: steps that failed; grey crosses: client-limited steps.</figcaption></figure>
{{else}}<p>No steps to plot.</p>{{end}}
</body></html>
`))

// RenderProbeCompareHTML renders a self-contained page with the table and
// every probe's commit p99 against offered rate on one chart.
func RenderProbeCompareHTML(c *ProbeComparison) ([]byte, error) {
	var plots []Plot
	if p := probeOverlayPlot(c); p != nil {
		pl, err := encodePlot("probe_p99", "Commit p99 against offered rate", p)
		if err != nil {
			return nil, err
		}
		pl.PNG = nil // SVG is enough inside HTML
		plots = append(plots, pl)
	}
	var rows [][]string
	rows = append(rows, c.probeHeaderRows()...)
	for _, row := range c.Rows {
		cells := []string{row.Metric + " (" + row.Unit + ")"}
		for i := range c.Results {
			cells = append(cells, compareCell(row, i))
		}
		rows = append(rows, cells)
	}
	var status []string
	for _, r := range c.Results {
		status = append(status, ProbeStatus(r))
	}
	var buf bytes.Buffer
	err := probeCompareTmpl.Execute(&buf, map[string]any{
		"C": c, "CSS": template.CSS(pageCSS), "JS": template.JS(errorCatcherJS),
		"Rows": rows, "Status": status, "Plots": htmlPlots(plots),
	})
	if err != nil {
		return nil, fmt.Errorf("render probe comparison: %w", err)
	}
	return buf.Bytes(), nil
}

// probeOverlayPlot draws each probe's p99 curve in its own colour.
func probeOverlayPlot(c *ProbeComparison) *plot.Plot {
	p := newPlot("Commit p99 against offered rate", "offered rate (events/s)", "commit p99 (ms)")
	p.Legend.Left, p.Legend.XOffs = true, vg.Points(4)
	drew := false
	lo, hi := math.Inf(1), 0.0
	for i, r := range c.Results {
		ss := stepsByOffered(r)
		xs, ys := make([]float64, len(ss)), make([]float64, len(ss))
		for k, s := range ss {
			xs[k], ys[k] = s.Offered, s.P99
			if s.P99 > 0 {
				lo, hi = math.Min(lo, s.P99), math.Max(hi, s.P99)
			}
		}
		if addLine(p, c.Names[i], xs, ys, i, true) {
			drew = true
			addStepMarkers(p, ss, func(s measure.ProbeStep) float64 { return s.P99 }, palette[i%len(palette)])
		}
	}
	if !drew {
		return nil
	}
	p.X.Min = 0
	if hi/lo >= 10 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Label.Text = "commit p99 (ms, log scale)"
		p.Y.Min = lo / 1.5
		headroomLog(p)
	} else {
		p.Y.Min = 0
		headroom(p)
	}
	return p
}
