package reports

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/evbench/evbench/reports/measure"
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// WriteProbe writes report.md, report.html and plots/probe_curve.{png,svg}
// into a probe directory. probe.json itself is the probe engine's to
// write. Like WriteAll it is best effort: it writes everything it can and
// returns every failure joined.
func WriteProbe(dir string, r *measure.ProbeResult) error {
	if r == nil {
		return fmt.Errorf("reports: WriteProbe %s: nil result", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("reports: create probe directory %s: %w", dir, err)
	}
	var errs []error
	write := func(path string, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			errs = append(errs, fmt.Errorf("reports: write %s: %w", path, err))
		}
	}
	var plots []Plot
	func() {
		defer func() {
			if x := recover(); x != nil {
				errs = append(errs, fmt.Errorf("reports: plot %s: internal error (please report): %v", ProbeCurveName, x))
			}
		}()
		var err error
		if plots, err = RenderProbePlots(r); err != nil {
			errs = append(errs, err)
		}
	}()
	if len(plots) > 0 {
		pdir := filepath.Join(dir, PlotsDir)
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("reports: create %s: %w", pdir, err))
		} else {
			for _, p := range plots {
				write(filepath.Join(pdir, p.Name+".svg"), p.SVG)
				write(filepath.Join(pdir, p.Name+".png"), p.PNG)
			}
		}
	}
	md, err := safeRender(func() ([]byte, error) { return RenderProbeMarkdown(r, plots), nil })
	if err != nil {
		errs = append(errs, fmt.Errorf("reports: render %s: %w", MarkdownFile, err))
	} else {
		write(filepath.Join(dir, MarkdownFile), md)
	}
	html, err := safeRender(func() ([]byte, error) { return RenderProbeHTML(r, plots) })
	if err != nil {
		errs = append(errs, fmt.Errorf("reports: render %s: %w", HTMLFile, err))
	} else {
		write(filepath.Join(dir, HTMLFile), html)
	}
	return errors.Join(errs...)
}

// RenderProbeMarkdown renders a probe's report.md: the verdict, the
// conditions it holds under (SLO, durability), the steps in run order and
// links to the curve. The output is deterministic (golden-file tested).
func RenderProbeMarkdown(r *measure.ProbeResult, plots []Plot) []byte {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	cell := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ") }

	p("# evbench probe: %s on %s: %s\n\n", cell(r.Scenario), cell(r.Driver.Name), ProbeStatus(r))
	p("**%s**\n\n", cell(ProbeVerdict(r)))
	if t := probeClientLimitedText(r); t != "" {
		p("> [!WARNING]\n> **CLIENT LIMITED**: %s.\n\n", cell(t))
	}
	p("- Started: %s, %d steps\n", r.StartedAt.UTC().Format(time.RFC3339), len(r.Steps))
	if r.Driver.Describe != "" {
		p("- Driver: %s\n", cell(r.Driver.Describe))
	}
	if !r.Complete {
		p("- **Incomplete probe**: %s\n", cell(orDash(r.Reason)))
	} else if r.Reason != "" {
		p("- Note: %s\n", cell(r.Reason))
	}
	p("- SLO (every sub-window of a step): ")
	if len(r.SLO) == 0 {
		p("-\n")
	}
	for i, s := range r.SLO {
		if i > 0 {
			p(", ")
		}
		p("`%s`", cell(s))
	}
	if len(r.SLO) > 0 {
		p("\n")
	}
	p("- Commit durability: %s\n\n", cell(probeDurabilityText(r)))

	p("## Steps\n\nIn run order. Latency is commit latency after each step's warm-up.\n\n")
	p("| %s |\n|%s\n", strings.Join(probeStepColumns, " | "), strings.Repeat("---|", len(probeStepColumns)))
	for i, s := range r.Steps {
		row := probeStepRow(i, s)
		for k := range row {
			row[k] = cell(row[k])
		}
		if !s.Pass && !s.ClientLimited {
			row[3] = "**" + row[3] + "**"
		}
		p("| %s |\n", strings.Join(row, " | "))
	}
	p("\n")
	if len(plots) > 0 {
		p("## Curve\n\n")
		for _, pl := range plots {
			p("![%s](%s/%s.png)\n\n", pl.Title, PlotsDir, pl.Name)
		}
	}
	p("## Environment\n\n%s", environmentText(r.Environment, cell))
	p(". Driver %s (DSN `%s`, embedded %s).\n", cell(r.Driver.Name), cell(r.Driver.DSN), yesNo(r.Driver.Embedded))
	return []byte(b.String())
}

var probeTmpl = template.Must(template.New("probe").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>evbench probe: {{.R.Scenario}} on {{.R.Driver.Name}}: {{.Status}}</title>
<style>{{.CSS}}</style>
<script>{{.JS}}</script>
</head><body>
<div id="render-check" data-rendered="no"></div>
<pre id="js-errors" data-count="0" style="display:none"></pre>
<h1>Probe: {{.R.Scenario}} on {{.R.Driver.Name}}</h1>
<div class="meta">Started {{.Started}} · {{len .R.Steps}} steps · driver {{.R.Driver.Describe}} · DSN <code>{{.R.Driver.DSN}}</code>{{if .R.Driver.Embedded}} (embedded){{end}}</div>
<div class="verdict {{.Status}}" id="verdict">{{.Verdict}}</div>
{{if .Limited}}<div class="warn limited" id="client-limited"><strong>CLIENT LIMITED</strong>: {{.Limited}}.</div>
{{end}}{{if not .R.Complete}}<div class="warn">Incomplete probe: {{.R.Reason}}</div>{{end}}
<h2>Summary</h2>
<table id="summary">
<tr><td class="l">max sustainable rate</td><td>{{.Max}}</td></tr>
<tr><td class="l">first failing rate</td><td>{{.First}}</td></tr>
<tr><td class="l">resolution</td><td>{{.Resolution}}</td></tr>
<tr><td class="l">client limited from</td><td>{{.LimitedAt}}</td></tr>
<tr><td class="l">SLO (every sub-window)</td><td class="l">{{range $i, $s := .R.SLO}}{{if $i}}, {{end}}<code>{{$s}}</code>{{else}}-{{end}}</td></tr>
</table>
<p class="meta" id="durability">Commit durability: {{.Durability}}</p>
<h2>Steps</h2>
<p class="meta">In run order. Latency is commit latency after each step's warm-up.</p>
<table id="steps"><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
{{range .Steps}}{{$st := .}}<tr>{{range $i, $c := .Cells}}{{if eq $i 3}}<td class="l"><span class="s {{$st.Class}}">{{$c}}</span></td>{{else if eq $i 10}}<td class="l">{{$c}}</td>{{else}}<td>{{$c}}</td>{{end}}{{end}}</tr>
{{end}}</table>
<h2>Curve</h2>
{{range .Plots}}<figure id="plot-{{.Name}}"><img alt="{{.Title}}" src="{{.URI}}"><figcaption>{{.Title}}. Filled markers: steps that passed; hollow red: steps that failed; grey crosses: client-limited steps; the dashed green line is the max sustainable rate.</figcaption></figure>
{{else}}<p>No plottable data in this probe.</p>
{{end}}
<h2>Environment</h2>
<table>
<tr><td class="l">evbench</td><td class="l">{{.R.Environment.Version}}</td></tr>
<tr><td class="l">Go</td><td class="l">{{.R.Environment.Go}}</td></tr>
<tr><td class="l">OS / arch</td><td class="l">{{.R.Environment.OS}}/{{.R.Environment.Arch}}</td></tr>
<tr><td class="l">CPUs</td><td class="l">{{.R.Environment.CPUs}}</td></tr>
<tr><td class="l">host</td><td class="l">{{.R.Environment.Hostname}}</td></tr>
</table>
</body></html>
`))

type probeHTMLStep struct {
	Cells []string
	Class string
}

// RenderProbeHTML renders a probe's report.html: one self-contained file
// (the run report's CSS, script and the curve inline as a data: URI).
func RenderProbeHTML(r *measure.ProbeResult, plots []Plot) ([]byte, error) {
	var steps []probeHTMLStep
	for i, s := range r.Steps {
		steps = append(steps, probeHTMLStep{Cells: probeStepRow(i, s), Class: probeStepClass(s)})
	}
	orNone := func(v float64, none string) string {
		if v > 0 {
			return rate(v)
		}
		return none
	}
	res := "-"
	if r.Resolution > 0 {
		res = num(100*r.Resolution) + "%"
	}
	data := map[string]any{
		"R": r, "CSS": template.CSS(pageCSS), "JS": template.JS(errorCatcherJS),
		"Status": ProbeStatus(r), "Verdict": ProbeVerdict(r), "Started": r.StartedAt.UTC().Format(time.RFC3339),
		"Limited": probeClientLimitedText(r), "Durability": probeDurabilityText(r),
		"Max": orNone(r.MaxSustainableRate, "none (every step failed)"), "First": orNone(r.FirstFailingRate, "none up to the highest step"),
		"Resolution": res, "LimitedAt": orNone(r.ClientLimitedAt, "never"),
		"Columns": probeStepColumns, "Steps": steps, "Plots": htmlPlots(plots),
	}
	var buf bytes.Buffer
	if err := probeTmpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render probe report.html: %w", err)
	}
	return buf.Bytes(), nil
}
