package reports

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/evbench/evbench/reports/measure"
	"image/color"
	"math"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot is one rendered chart, in both formats.
type Plot struct {
	Name  string // file stem under plots/, e.g. "commit_latency"
	Title string
	SVG   []byte
	PNG   []byte
}

// Plot size: wide enough for a per-second series, readable in a PR.
const (
	plotW = 9 * vg.Inch
	plotH = 4 * vg.Inch
)

// palette is colour-blind friendly (Okabe-Ito).
var palette = []color.RGBA{
	{R: 0, G: 114, B: 178, A: 255},
	{R: 230, G: 159, B: 0, A: 255},
	{R: 213, G: 94, B: 0, A: 255},
	{R: 0, G: 158, B: 115, A: 255},
	{R: 204, G: 121, B: 167, A: 255},
	{R: 86, G: 180, B: 233, A: 255},
	{R: 0, G: 0, B: 0, A: 255},
}

// RenderPlots renders every chart the result has data for (latency over
// time, percentile spectrum, lag, throughput, rebuild progress). Charts
// without data are skipped, so an incomplete result still gets the rest.
func RenderPlots(r *measure.Result) ([]Plot, error) {
	var out []Plot
	var errs []error
	add := func(name, title string, p *plot.Plot, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("reports: plot %s: %w", name, err))
			return
		}
		if p == nil {
			return
		}
		pl, err := encodePlot(name, title, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("reports: plot %s: %w", name, err))
			return
		}
		out = append(out, pl)
	}
	win := timeWindows(r, false)
	s := r.Series
	p, err := latencyPlot("Commit latency per second", s.T, s.CommitP50, s.CommitP95, s.CommitP99, win)
	add("commit_latency", "Commit latency over time", p, err)
	p, err = latencyPlot("End-to-end latency per second", s.T, s.E2EP50, s.E2EP95, s.E2EP99, win)
	add("e2e_latency", "End-to-end latency over time", p, err)
	p, err = SpectrumPlot("Latency percentile spectrum", resultHists(r, ""))
	add("percentile_spectrum", "Latency percentile spectrum", p, err)
	p, err = lagPlot(r)
	add("lag", "Consumer lag", p, err)
	p, err = throughputPlot(r, win)
	add("throughput", "Offered vs achieved throughput", p, err)
	p, err = rebuildPlot(r)
	add("rebuild", "Rebuild progress", p, err)
	p, err = relayLagPlot(r)
	add("outbox_relay_lag", "Outbox relay lag", p, err)
	return out, errors.Join(errs...)
}

// encodePlot renders p as SVG and PNG, turning a renderer panic into an error.
func encodePlot(name, title string, p *plot.Plot) (pl Plot, err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("internal error (please report): %v", x)
		}
	}()
	pl = Plot{Name: name, Title: title}
	for _, f := range []struct {
		format string
		dst    *[]byte
	}{{"svg", &pl.SVG}, {"png", &pl.PNG}} {
		wt, err := p.WriterTo(plotW, plotH, f.format)
		if err != nil {
			return pl, err
		}
		var buf bytes.Buffer
		if _, err := wt.WriteTo(&buf); err != nil {
			return pl, err
		}
		*f.dst = buf.Bytes()
	}
	return pl, nil
}

// NamedHist is a labelled histogram (values in ns) for spectrum plots.
type NamedHist struct {
	Label string
	Hist  *hdr.Histogram
}

// resultHists decodes the result's full histograms (prefix goes before
// each label, for compare).
func resultHists(r *measure.Result, prefix string) []NamedHist {
	var out []NamedHist
	for _, x := range []struct{ label, enc string }{
		{"commit", r.Histograms.Commit}, {"service time", r.Histograms.ServiceTime}, {"end-to-end", r.Histograms.E2E},
		{"send delay", r.Histograms.SendDelay},
	} {
		if x.enc == "" {
			continue
		}
		h, err := measure.DecodeHistogram(x.enc)
		if err != nil || h.TotalCount() == 0 {
			continue
		}
		out = append(out, NamedHist{Label: prefix + x.label, Hist: h})
	}
	return out
}

func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(4)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.X.Tick.Marker = niceTicks{}
	p.Y.Tick.Marker = niceTicks{}
	p.Add(plotter.NewGrid())
	return p
}

// addLine adds a series, skipping non-finite points and (when skipZero)
// zeros, which mean "no data in that second" for latency. A skipped point
// breaks the line, so a gap (a consumer pause) is not drawn as a ramp.
func addLine(p *plot.Plot, label string, xs, ys []float64, i int, skipZero bool) bool {
	n := min(len(xs), len(ys))
	var segs []plotter.XYs
	var cur plotter.XYs
	for k := 0; k < n; k++ {
		x, y := xs[k], ys[k]
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) || (skipZero && y == 0) {
			if len(cur) > 0 {
				segs, cur = append(segs, cur), nil
			}
			continue
		}
		cur = append(cur, plotter.XY{X: x, Y: y})
	}
	if len(cur) > 0 {
		segs = append(segs, cur)
	}
	var first *plotter.Line
	for _, pts := range segs {
		l, err := plotter.NewLine(pts)
		if err != nil {
			continue
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.3)
		p.Add(l)
		if len(pts) == 1 { // an isolated second: show it as a dot
			sc, err := plotter.NewScatter(pts)
			if err == nil {
				sc.GlyphStyle.Color = l.Color
				sc.GlyphStyle.Radius = vg.Points(1.5)
				p.Add(sc)
			}
		}
		if first == nil {
			first = l
		}
	}
	if first == nil {
		return false
	}
	p.Legend.Add(label, first)
	return true
}

// fromZero starts a time axis at 0 s.
func fromZero(p *plot.Plot) { p.X.Min = math.Min(p.X.Min, 0) }

// withShades adds the windows behind the data and widens the x axis to
// show them.
func withShades(p *plot.Plot, w shades) {
	if len(w) == 0 {
		return
	}
	// Called before the data lines are added, so windows sit behind them.
	p.Add(w)
	if lo, hi, ok := w.span(); ok {
		p.X.Min = math.Min(p.X.Min, lo)
		p.X.Max = math.Max(p.X.Max, hi)
	}
	for _, c := range []struct {
		c     color.NRGBA
		label string
	}{{faultColor, "fault"}, {pauseColor, "consumer pause"}, {catchUpColor, "catch-up"}} {
		for _, s := range w {
			if s.color == c.c {
				sw := legendSwatch{c.c}
				p.Legend.Add(c.label, sw)
				break
			}
		}
	}
}

// legendSwatch draws a filled box in the legend.
type legendSwatch struct{ c color.NRGBA }

// Thumbnail implements plot.Thumbnailer.
func (s legendSwatch) Thumbnail(c *draw.Canvas) {
	cl := s.c
	cl.A = 110
	c.FillPolygon(cl, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}

// timeWindows are the warm-up, fault and pause windows (and catch-ups
// when asked).
func timeWindows(r *measure.Result, catchUps bool) shades {
	var w shades
	if r.Warmup != nil && r.Warmup.Seconds > 0 {
		w = append(w, shade{start: 0, end: r.Warmup.Seconds, label: "warm-up (excluded)", color: warmupColor})
	}
	for _, f := range r.Faults {
		label := f.Kind
		if f.Path != "" {
			label += " (" + f.Path + ")"
		}
		w = append(w, shade{start: f.AtS, end: f.AtS + f.ForS, label: label, color: faultColor})
	}
	for _, o := range r.Outages {
		label := o.Op + " outage"
		if !o.Recovered {
			label += " (not recovered)"
		}
		w = append(w, shade{start: o.StartedS, end: math.Max(o.EndedS, o.StartedS+0.05), label: label, color: outageColor})
	}
	for _, pz := range r.Series.Pauses {
		label := pz.Label
		if label == "" {
			label = "pause"
		}
		w = append(w, shade{start: pz.StartS, end: pz.EndS, label: label, color: pauseColor})
	}
	if catchUps {
		for _, c := range r.CatchUp {
			label := fmt.Sprintf("catch-up %ss", num(c.Seconds))
			if !c.Recovered {
				label += " (not recovered)"
			}
			w = append(w, shade{start: c.StartedS, end: c.StartedS + c.Seconds, label: label, color: catchUpColor})
		}
	}
	return w
}

func latencyPlot(title string, t, p50, p95, p99 []float64, w shades) (*plot.Plot, error) {
	if !hasData(p50, p95, p99) {
		return nil, nil
	}
	p := newPlot(title, "time since start (s)", "latency (ms)")
	p.Y.Min = 0
	withShades(p, w)
	addLine(p, "p50", t, p50, 0, true)
	addLine(p, "p95", t, p95, 1, true)
	addLine(p, "p99", t, p99, 2, true)
	headroom(p)
	fromZero(p)
	return p, nil
}

// headroom raises the y maximum so the legend and window labels at the
// top do not hide the data.
func headroom(p *plot.Plot) {
	if p.Y.Max > p.Y.Min {
		p.Y.Max = p.Y.Min + (p.Y.Max-p.Y.Min)*1.3
	}
}

// headroomLog leaves a factor of 4 above the data on a log axis.
func headroomLog(p *plot.Plot) { p.Y.Max *= 4 }

func minMax(v []float64) (lo, hi float64) {
	for i, x := range v {
		if i == 0 || x < lo {
			lo = x
		}
		if i == 0 || x > hi {
			hi = x
		}
	}
	return lo, hi
}

func hasData(ss ...[]float64) bool {
	for _, s := range ss {
		for _, v := range s {
			if v != 0 && !math.IsNaN(v) {
				return true
			}
		}
	}
	return false
}

// spectrumTicks label the x axis of a spectrum (x = 1/(1-q)) with the
// percentile it stands for, as HdrHistogram's plotter does.
var spectrumTicks = plot.ConstantTicks{
	{Value: 1, Label: "0%"}, {Value: 2, Label: "50%"}, {Value: 10, Label: "90%"}, {Value: 100, Label: "99%"},
	{Value: 1e3, Label: "99.9%"}, {Value: 1e4, Label: "99.99%"}, {Value: 1e5, Label: "99.999%"}, {Value: 1e6, Label: "99.9999%"},
}

// SpectrumPlot overlays the percentile spectra of histograms (ns values):
// latency in ms against percentile on a log 1/(1-q) axis, so the tail gets
// the room it deserves. Returns nil when no histogram has values.
func SpectrumPlot(title string, hs []NamedHist) (*plot.Plot, error) {
	p := newPlot(title, "percentile (log scale of 1/(1-q))", "latency (ms)")
	p.Legend.Left, p.Legend.XOffs = true, vg.Points(4)
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = spectrumTicks
	p.Y.Min = 0
	maxX := 10.0
	drew := false
	var maxes []float64
	minY := math.Inf(1)
	for i, nh := range hs {
		if nh.Hist == nil || nh.Hist.TotalCount() == 0 {
			continue
		}
		n := float64(nh.Hist.TotalCount())
		top := math.Max(2, math.Min(1e6, n))
		var xs, ys []float64
		const steps = 240
		for k := 0; k <= steps; k++ {
			x := math.Pow(top, float64(k)/steps)
			q := (1 - 1/x) * 100
			xs = append(xs, x)
			ys = append(ys, float64(nh.Hist.ValueAtQuantile(q))/1e6)
		}
		xs = append(xs, top)
		ys = append(ys, float64(nh.Hist.Max())/1e6)
		if addLine(p, nh.Label, xs, ys, i, false) {
			drew = true
			maxX = math.Max(maxX, top)
			maxes = append(maxes, ys[len(ys)-1])
			minY = math.Min(minY, ys[0])
		}
	}
	if !drew {
		return nil, nil
	}
	p.X.Min, p.X.Max = 1, maxX
	var ticks plot.ConstantTicks
	for _, t := range spectrumTicks {
		if t.Value <= maxX*1.0001 {
			ticks = append(ticks, t)
		}
	}
	p.X.Tick.Marker = ticks
	// Spectra an order of magnitude apart (e2e vs commit, postgres vs
	// refstore) flatten the faster one on a linear axis: switch to log.
	if lo, hi := minMax(maxes); lo > 0 && hi/lo >= 20 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Label.Text = "latency (ms, log scale)"
		p.Y.Min = math.Max(minY, 1e-3)
		headroomLog(p)
		return p, nil
	}
	headroom(p)
	return p, nil
}

func lagPlot(r *measure.Result) (*plot.Plot, error) {
	s := r.Series
	if len(s.Lag) == 0 {
		return nil, nil
	}
	ys := make([]float64, len(s.Lag))
	for i, v := range s.Lag {
		ys[i] = float64(v)
	}
	p := newPlot("Consumer lag (head minus projector position)", "time since start (s)", "lag (events)")
	p.Y.Min = 0
	withShades(p, timeWindows(r, true))
	addLine(p, "lag", s.LagT, ys, 0, false)
	headroom(p)
	fromZero(p)
	return p, nil
}

func throughputPlot(r *measure.Result, w shades) (*plot.Plot, error) {
	s := r.Series
	if !hasData(s.Offered, s.Achieved) {
		return nil, nil
	}
	p := newPlot("Offered vs achieved throughput", "time since start (s)", "throughput (events/s)")
	p.Y.Min = 0
	withShades(p, w)
	addLine(p, "offered", s.T, s.Offered, 1, false)
	addLine(p, "achieved (acked)", s.T, s.Achieved, 0, false)
	if hasData(s.Failed) {
		addLine(p, "failed", s.T, s.Failed, 2, false)
	}
	headroom(p)
	fromZero(p)
	return p, nil
}

func rebuildPlot(r *measure.Result) (*plot.Plot, error) {
	s := r.Series
	if len(s.RebuildN) == 0 {
		return nil, nil
	}
	ys := make([]float64, len(s.RebuildN))
	for i, v := range s.RebuildN {
		ys[i] = float64(v)
	}
	title := "Rebuild progress (full replay into a fresh projection)"
	if r.Rebuild != nil {
		title = fmt.Sprintf("Rebuild progress: %s events/s", strings.TrimSpace(num(r.Rebuild.EventsPerSec)))
	}
	p := newPlot(title, "time since rebuild start (s)", "events replayed")
	p.Y.Min = 0
	p.X.Min = 0
	xs := s.RebuildT
	if len(xs) > 0 && xs[0] > 0 { // the replay starts at (0, 0)
		xs = append([]float64{0}, xs...)
		ys = append([]float64{0}, ys...)
	}
	addLine(p, "events replayed", xs, ys, 3, false)
	headroom(p)
	return p, nil
}
