package reports

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/evbench/evbench/reports/measure"
	"html/template"
	"time"
)

// pageCSS is inlined: the report opens from disk with no network fetch.
const pageCSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:24px 32px;color:#222;background:#fafafa;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;font-size:13px}
.verdict{display:inline-block;padding:6px 14px;border-radius:4px;font-weight:700;color:#fff;margin:12px 0}
.PASS{background:#2e7d32}.FAIL{background:#c62828}.INCOMPLETE{background:#ef6c00}.ERROR{background:#6a1b9a}
table{border-collapse:collapse;font-size:13px;background:#fff}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th{background:#f0f0f0}
td.l,th.l{text-align:left}
span.s{font-weight:700;padding:1px 6px;border-radius:3px;color:#fff;font-size:12px}
figure{margin:12px 0;background:#fff;border:1px solid #e0e0e0;padding:8px}figure img{width:100%;height:auto}
figcaption{font-size:13px;color:#555}
pre{background:#fff;border:1px solid #ddd;padding:10px;font-size:12px;overflow:auto;max-height:480px}
.warn{background:#fff3e0;border:1px solid #ef6c00;padding:8px 12px;margin:8px 0}
.warn.limited{background:#ffebee;border:2px solid #c62828;font-size:15px}.warn.limited ul{margin:4px 0 0;font-size:13px}
`

// errorCatcherJS records script errors into the page, so a headless
// browser's --dump-dom shows them (the browser test asserts there are none).
const errorCatcherJS = `
(function(){
  function note(m){var e=document.getElementById("js-errors");if(e){e.textContent+=m+"\n";e.setAttribute("data-count",String(1+Number(e.getAttribute("data-count")||"0")));}}
  window.addEventListener("error",function(ev){note("error: "+(ev.message||(ev.target&&ev.target.src)||"resource failed"));},true);
  window.addEventListener("DOMContentLoaded",function(){var n=document.getElementById("render-check");if(n){n.setAttribute("data-rendered","yes");}
    var imgs=document.images;for(var i=0;i<imgs.length;i++){if(imgs[i].complete&&imgs[i].naturalWidth===0){note("image not decoded: "+imgs[i].alt);}}});
})();
`

var pageTmpl = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>evbench: {{.R.Scenario.Name}} on {{.R.Driver.Name}}: {{.Verdict}}</title>
<style>{{.CSS}}</style>
<script>{{.JS}}</script>
</head><body>
<div id="render-check" data-rendered="no"></div>
<pre id="js-errors" data-count="0" style="display:none"></pre>
<h1>{{.R.Scenario.Name}} on {{.R.Driver.Name}}</h1>
<div class="meta">Started {{.Started}} · {{.Duration}} s · driver {{.R.Driver.Describe}} · DSN <code>{{.R.Driver.DSN}}</code>{{if .R.Driver.Embedded}} (embedded){{end}}</div>
<div class="verdict {{.Verdict}}" id="verdict">{{.Verdict}}</div>
{{if .ClientLimited}}<div class="warn limited" id="client-limited"><strong>CLIENT LIMITED</strong>: evbench was the bottleneck of this run, so its figures measure evbench, not the store.
<ul>{{range .ClientReasons}}<li>{{.}}</li>{{end}}</ul></div>
{{end}}{{if .R.Driver.Emulated}}<div class="warn limited" id="emulated"><strong>{{.EmulatedText}}</strong></div>
{{end}}{{if not .R.Complete}}<div class="warn">Incomplete run: {{.R.Reason}}</div>{{end}}
{{range .R.Notes}}<div class="warn note">Note: {{.}}</div>
{{end}}
<h2>Summary</h2>
<table id="summary">
<tr><th class="l">Check</th><th class="l">Result</th><th class="l">Detail</th></tr>
<tr><td class="l">run complete</td><td class="l"><span class="s {{if .R.Complete}}PASS{{else}}FAIL{{end}}">{{if .R.Complete}}PASS{{else}}FAIL{{end}}</span></td><td class="l">{{or .R.Reason "-"}}</td></tr>
<tr><td class="l">delivery check</td><td class="l"><span class="s {{.DeliveryStatus}}">{{.DeliveryStatus}}</span></td><td class="l">{{.DeliveryText}}</td></tr>
{{if .ClientJudged}}<tr><td class="l">client</td><td class="l">{{if .ClientLimited}}<span class="s FAIL">LIMITED</span>{{else}}<span class="s PASS">OK</span>{{end}}</td><td class="l">{{.ClientText}}</td></tr>
{{end}}{{range .Gates}}<tr><td class="l"><code>{{.Expr}}</code></td><td class="l"><span class="s {{.Status}}">{{.Status}}</span></td><td class="l">{{.Detail}}</td></tr>
{{end}}</table>
<h2>Key numbers</h2>
<table id="numbers">
<tr><th class="l">Latency (ms)</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th><th>count</th></tr>
{{range .Lat}}<tr><td class="l">{{.Name}}</td>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
<p class="meta" id="durability">Commit durability: {{.Durability}}</p>
<p></p>
<table>
{{range .Numbers}}<tr><td class="l">{{index . 0}}</td><td>{{index . 1}}</td></tr>
{{end}}</table>
{{if .ClientJudged}}<h2>Client</h2>
<p class="meta">Whether evbench itself was the limit of the run.</p>
<table id="client">
<tr><th class="l">client</th><th>value</th><th>limit</th></tr>
<tr><td class="l">limited</td><td>{{if .ClientLimited}}<span class="s FAIL">yes</span>{{else}}no{{end}}</td><td>-</td></tr>
{{range .Client}}<tr><td class="l">{{index . 0}}</td><td>{{index . 1}}</td><td>{{index . 2}}</td></tr>
{{end}}</table>{{end}}
{{if .R.CatchUp}}<h2>Catch-up</h2>
<table><tr><th class="l">cause</th><th>started (s)</th><th>catch-up (s)</th><th>recovered</th><th>threshold (events)</th></tr>
{{range .R.CatchUp}}<tr><td class="l">{{.Cause}}</td><td>{{.StartedS}}</td><td>{{.Seconds}}</td><td>{{.Recovered}}</td><td>{{.Threshold}}</td></tr>
{{end}}</table>{{end}}
{{if .R.CommitRecovery}}<h2>Commit latency recovery</h2>
<table><tr><th class="l">cause</th><th>started (s)</th><th>recovery (s)</th><th>recovered</th><th>threshold (ms)</th></tr>
{{range .R.CommitRecovery}}<tr><td class="l">{{.Cause}}</td><td>{{.StartedS}}</td><td>{{.Seconds}}</td><td>{{.Recovered}}</td><td>{{.ThresholdMS}}</td></tr>
{{end}}</table>{{end}}
{{if .Recovery}}<h2>Recovery (RTO, RPO)</h2>
<p class="meta">Per store fault that took the store's process away: until appends succeeded again, until the projection was live at steady state, and the acknowledged events the store lost.</p>
<table id="recovery"><tr>{{range .RecoveryColumns}}<th>{{.}}</th>{{end}}</tr>
{{range .Recovery}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{end}}
{{if .Outages}}<h2>Outages</h2>
<p class="meta">From an operation's first failure to its first success after it.</p>
<table id="outages"><tr>{{range .OutageColumns}}<th>{{.}}</th>{{end}}</tr>
{{range .Outages}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{end}}
{{if .R.Faults}}<h2>Faults</h2>
<table><tr><th class="l">kind</th><th class="l">path</th><th>at (s)</th><th>for (s)</th><th class="l">error</th></tr>
{{range .R.Faults}}<tr><td class="l">{{.Kind}}</td><td class="l">{{.Path}}</td><td>{{.AtS}}</td><td>{{.ForS}}</td><td class="l">{{.Error}}</td></tr>
{{end}}</table>{{end}}
{{if .R.Errors}}<h2>Errors</h2>
<table><tr><th class="l">op</th><th>count</th><th class="l">message</th></tr>
{{range .R.Errors}}<tr><td class="l">{{.Op}}</td><td>{{.Count}}</td><td class="l">{{.Message}}</td></tr>
{{end}}</table>{{end}}
<h2>Plots</h2>
{{range .Plots}}<figure id="plot-{{.Name}}"><img alt="{{.Title}}" src="{{.URI}}"><figcaption>{{.Title}}</figcaption></figure>
{{else}}<p>No plottable data in this result.</p>
{{end}}
<h2>Scenario (resolved)</h2>
<pre id="scenario">{{.Scenario}}</pre>
<h2>measure.Environment</h2>
<table>
<tr><td class="l">evbench</td><td class="l">{{.R.Environment.Version}}</td></tr>
<tr><td class="l">Go</td><td class="l">{{.R.Environment.Go}}</td></tr>
<tr><td class="l">OS / arch</td><td class="l">{{.R.Environment.OS}}/{{.R.Environment.Arch}}</td></tr>
<tr><td class="l">CPUs</td><td class="l">{{.R.Environment.CPUs}}</td></tr>
<tr><td class="l">host</td><td class="l">{{.R.Environment.Hostname}}</td></tr>
{{with .R.Merge}}<tr><td class="l">merge</td><td class="l">{{.Shards}} of {{.Count}} shards (run {{.RunID}}{{if .Missing}}, missing {{.Missing}}{{end}}), hosts {{$.R.Environment.Hosts}}, clock skew {{.MaxSkewMS}} ms{{if .SkewFlagged}}, above the {{.SkewThresholdMS}} ms tolerated{{end}}</td></tr>{{end}}
{{if .Batch}}<tr><td class="l">batch</td><td class="l">{{.Batch}}</td></tr>{{end}}
</table>
</body></html>
`))

type htmlGate struct{ Expr, Status, Detail string }
type htmlLat struct {
	Name  string
	Cells []string
}
type htmlPlot struct {
	Name, Title string
	URI         template.URL
}

// RenderHTML renders report.html: one self-contained file (CSS, script and
// plots inline as data: URIs), so it opens from disk without a network.
func RenderHTML(r *measure.Result, plots []Plot) ([]byte, error) {
	data := map[string]any{
		"R": r, "CSS": template.CSS(pageCSS), "JS": template.JS(errorCatcherJS),
		"Verdict": Verdict(r), "Started": r.StartedAt.UTC().Format(time.RFC3339), "Duration": num(r.DurationS),
		"DeliveryStatus": passFail(DeliveryOK(r)), "DeliveryText": deliveryText(r),
		"Gates": htmlGates(r), "Lat": htmlLatency(r), "Durability": DurabilityText(r), "Numbers": keyNumbers(r),
		"Plots": htmlPlots(plots), "Scenario": prettyJSON(r.Scenario.Resolved),
		"ClientJudged": ClientJudged(r), "ClientLimited": ClientLimited(r), "EmulatedText": EmulatedText, "ClientText": clientText(r),
		"ClientReasons": clientReasonList(r), "Client": clientRows(r),
		"Outages": outageRows(r), "OutageColumns": outageColumns, "Recovery": recoveryRows(r), "RecoveryColumns": recoveryColumns, "Batch": batchText(r),
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render report.html: %w", err)
	}
	return buf.Bytes(), nil
}

func htmlGates(r *measure.Result) []htmlGate {
	var out []htmlGate
	for _, g := range append(append([]measure.GateResult(nil), r.SteadyState...), r.Gates...) {
		out = append(out, htmlGate{Expr: g.Expr, Status: gateStatus(g), Detail: gateDetail(g)})
	}
	return out
}

func htmlLatency(r *measure.Result) []htmlLat {
	var out []htmlLat
	for _, x := range latencyRows(r) {
		q := x.P
		if q.Count == 0 {
			out = append(out, htmlLat{x.Name, []string{"-", "-", "-", "-", "-", "-", "-", "0"}})
			continue
		}
		out = append(out, htmlLat{x.Name, []string{num(q.P50), num(q.P90), num(q.P95), num(q.P99), num(q.P999), num(q.Max), num(q.Mean), fmt.Sprint(q.Count)}})
	}
	return out
}

// keyNumbers are the throughput, event and lag rows shared by HTML views.
func keyNumbers(r *measure.Result) [][2]string {
	e := r.Events
	rows := [][2]string{
		{"offered rate", num(r.OfferedRate) + " events/s"},
		{"achieved rate", num(r.AchievedRate) + " events/s"},
		{"events scheduled / sent / acked", fmt.Sprintf("%d / %d / %d", e.Scheduled, e.Sent, e.Acked)},
		{"events failed / late / unsent", fmt.Sprintf("%d / %d / %d", e.Failed, e.Late, e.Unsent)},
		{"lag max / p95", fmt.Sprintf("%d / %d events", r.Lag.Max, r.Lag.P95)},
	}
	if e.Retried > 0 || e.GaveUp > 0 {
		rows = append(rows, [2]string{"events retried / gave up", fmt.Sprintf("%d / %d", e.Retried, e.GaveUp)})
	}
	if wt := WarmupText(r); wt != "" {
		rows = append(rows, [2]string{"warm-up", wt})
	}
	if st := SchemaText(r); st != "" {
		rows = append(rows, [2]string{"schema evolution", st})
	}
	if ft := FreshnessText(r); ft != "" {
		rows = append(rows, [2]string{"freshness (oldest unapplied event)", ft})
	}
	if ot := OutboxText(r); ot != "" {
		rows = append(rows, [2]string{"transactional outbox", ot})
	}
	if ct := ConcurrencyText(r); ct != "" {
		rows = append(rows, [2]string{"optimistic concurrency", ct})
	}
	if ct := ConsumerRestartText(r); ct != "" {
		rows = append(rows, [2]string{"consumer restarts (durable resume)", ct})
	}
	if ht := HandlingText(r); ht != "" {
		rows = append(rows, [2]string{"consumer handling (inbox, retries, DLQ)", ht})
	}
	if rb := r.Rebuild; rb != nil {
		rows = append(rows, [2]string{"rebuild", fmt.Sprintf("%s events/s, %s MB/s, %d events in %s s", num(rb.EventsPerSec), num(rb.MBPerSec), rb.Events, num(rb.Seconds))})
	}
	rows = append(rows, RebuildRows(r)...)
	if cl := clampedText(r); cl != "" {
		rows = append(rows, [2]string{"values clamped at the 1 h histogram top", cl})
	}
	return rows
}

// clientRows are the client verdict's figures: name, value, limit.
func clientRows(r *measure.Result) [][3]string {
	c := r.Client
	return [][3]string{
		{"CPU (of all cores)", num(c.CPUPercent) + "%", "< " + num(measure.ClientCPUPercent) + "%"},
		{"send delay p99", num(c.SendDelayP99MS) + " ms", "<= " + num(measure.ClientSendDelayP99MS) + " ms"},
		{"late fraction", num(100*c.LateFraction) + "%", "<= " + num(100*measure.ClientLateFraction) + "%"},
	}
}

// clientReasonList is the client verdict's reasons, never empty when limited.
func clientReasonList(r *measure.Result) []string {
	if len(r.Client.Reasons) == 0 && r.Client.Limited {
		return []string{ClientReasons(r)}
	}
	return r.Client.Reasons
}

func htmlPlots(plots []Plot) []htmlPlot {
	var out []htmlPlot
	for _, p := range plots {
		uri := ""
		switch {
		case len(p.SVG) > 0:
			uri = "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(p.SVG)
		case len(p.PNG) > 0:
			uri = "data:image/png;base64," + base64.StdEncoding.EncodeToString(p.PNG)
		default:
			continue
		}
		out = append(out, htmlPlot{Name: p.Name, Title: p.Title, URI: template.URL(uri)})
	}
	return out
}

// prettyJSON indents raw JSON, or returns it as is when it is not JSON.
func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "-"
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}
