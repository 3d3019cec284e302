package reports

import (
	"bytes"
	"fmt"
	"github.com/evbench/evbench/reports/measure"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// ProbeCurveName is the file stem of the probe's curve under plots/.
const ProbeCurveName = "probe_curve"

// The curve has two panels (latency and throughput) sharing the x axis.
const probeCurveH = 7.5 * vg.Inch

var (
	failColor    = color.RGBA{R: 198, G: 40, B: 40, A: 255}
	limitedColor = color.RGBA{R: 120, G: 120, B: 120, A: 255}
	kneeColor    = color.RGBA{R: 46, G: 125, B: 50, A: 255}
)

// RenderProbePlots renders the probe's curve: commit p50 and p99 against
// offered rate (log scale when they span a factor of 10 or more) over
// achieved against offered with the y = x line. Passing steps are filled
// markers, failing steps hollow red rings, client-limited steps grey
// crosses; the max sustainable rate is a labelled vertical line. It
// returns no plot when no step has data.
func RenderProbePlots(r *measure.ProbeResult) ([]Plot, error) {
	lat, thr := probeLatencyPlot(r), probeThroughputPlot(r)
	if lat == nil && thr == nil {
		return nil, nil
	}
	var rows [][]*plot.Plot
	for _, p := range []*plot.Plot{lat, thr} {
		if p != nil {
			rows = append(rows, []*plot.Plot{p})
		}
	}
	pl, err := encodePanels(ProbeCurveName, "Probe curve: latency and achieved rate against offered rate", rows)
	if err != nil {
		return nil, fmt.Errorf("reports: plot %s: %w", ProbeCurveName, err)
	}
	return []Plot{pl}, nil
}

// encodePanels renders stacked panels as SVG and PNG, turning a renderer
// panic into an error.
func encodePanels(name, title string, rows [][]*plot.Plot) (pl Plot, err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("internal error (please report): %v", x)
		}
	}()
	h := plotH * vg.Length(len(rows))
	if len(rows) > 1 {
		h = probeCurveH
	}
	tiles := draw.Tiles{Rows: len(rows), Cols: 1, PadY: vg.Points(10), PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	drawAll := func(c vg.CanvasSizer) {
		dc := draw.New(c)
		cs := plot.Align(rows, tiles, dc)
		for i := range rows {
			rows[i][0].Draw(cs[i][0])
		}
	}
	pl = Plot{Name: name, Title: title}
	sc := vgsvg.New(plotW, h)
	drawAll(sc)
	var sb bytes.Buffer
	if _, err := sc.WriteTo(&sb); err != nil {
		return pl, err
	}
	pl.SVG = sb.Bytes()
	ic := vgimg.New(plotW, h)
	drawAll(ic)
	var pb bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: ic}).WriteTo(&pb); err != nil {
		return pl, err
	}
	pl.PNG = pb.Bytes()
	return pl, nil
}

// stepsByOffered are the steps sorted by offered rate (stable: a repeated
// step follows its first run).
func stepsByOffered(r *measure.ProbeResult) []measure.ProbeStep {
	ss := slices.Clone(r.Steps)
	slices.SortStableFunc(ss, func(a, b measure.ProbeStep) int { return cmpFloat(a.Offered, b.Offered) })
	return ss
}

func probeLatencyPlot(r *measure.ProbeResult) *plot.Plot {
	ss := stepsByOffered(r)
	var all []float64
	for _, s := range ss {
		for _, v := range []float64{s.P50, s.P99} {
			if v > 0 && !math.IsInf(v, 0) {
				all = append(all, v)
			}
		}
	}
	if len(all) == 0 {
		return nil
	}
	p := newPlot("Commit latency against offered rate", "offered rate (events/s)", "commit latency (ms)")
	p.Legend.Top, p.Legend.Left, p.Legend.XOffs = true, true, vg.Points(4)
	lo, hi := minMax(all)
	logY := lo > 0 && hi/lo >= 10
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Label.Text = "commit latency (ms, log scale)"
	} else {
		p.Y.Min = 0
	}
	for i, q := range []struct {
		label string
		get   func(measure.ProbeStep) float64
	}{{"p50", func(s measure.ProbeStep) float64 { return s.P50 }}, {"p99", func(s measure.ProbeStep) float64 { return s.P99 }}} {
		xs, ys := make([]float64, len(ss)), make([]float64, len(ss))
		for k, s := range ss {
			xs[k], ys[k] = s.Offered, q.get(s)
		}
		addLine(p, q.label, xs, ys, []int{0, 2}[i], true)
		addStepMarkers(p, ss, q.get, palette[[]int{0, 2}[i]])
	}
	addMarkerLegend(p, ss)
	kneeLine(p, r)
	if logY {
		p.Y.Min = lo / 1.5
		headroomLog(p)
	} else {
		headroom(p)
	}
	probeXRange(p, ss, r)
	return p
}

func probeThroughputPlot(r *measure.ProbeResult) *plot.Plot {
	ss := stepsByOffered(r)
	hi := 0.0
	for _, s := range ss {
		hi = math.Max(hi, math.Max(s.Offered, s.Achieved))
	}
	if hi == 0 {
		return nil
	}
	p := newPlot("Achieved against offered rate", "offered rate (events/s)", "achieved rate (events/s)")
	p.Legend.Top, p.Legend.Left, p.Legend.XOffs = true, true, vg.Points(4)
	p.Y.Min = 0
	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: hi * 1.05, Y: hi * 1.05}})
	if err == nil {
		diag.Color = limitedColor
		diag.Width = vg.Points(1)
		diag.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(diag)
		p.Legend.Add("achieved = offered", diag)
	}
	xs, ys := make([]float64, len(ss)), make([]float64, len(ss))
	for k, s := range ss {
		xs[k], ys[k] = s.Offered, s.Achieved
	}
	addLine(p, "achieved", xs, ys, 0, false)
	addStepMarkers(p, ss, func(s measure.ProbeStep) float64 { return s.Achieved }, palette[0])
	addMarkerLegend(p, ss)
	kneeLine(p, r)
	headroom(p)
	probeXRange(p, ss, r)
	return p
}

// probeXRange starts the x axis at 0 and leaves room after the last step.
func probeXRange(p *plot.Plot, ss []measure.ProbeStep, r *measure.ProbeResult) {
	hi := math.Max(r.MaxSustainableRate, r.FirstFailingRate)
	for _, s := range ss {
		hi = math.Max(hi, s.Offered)
	}
	p.X.Min, p.X.Max = 0, hi*1.08
}

// stepKind sorts steps into the three marker styles.
func stepKind(s measure.ProbeStep) int {
	switch {
	case s.ClientLimited:
		return 2
	case s.Pass:
		return 0
	}
	return 1
}

// addStepMarkers marks each step: filled (pass), hollow red (FAIL) or a
// grey cross (client limited).
func addStepMarkers(p *plot.Plot, ss []measure.ProbeStep, get func(measure.ProbeStep) float64, c color.Color) {
	var groups [3]plotter.XYs
	for _, s := range ss {
		y := get(s)
		if !(y > 0) || math.IsInf(y, 0) {
			continue
		}
		k := stepKind(s)
		groups[k] = append(groups[k], plotter.XY{X: s.Offered, Y: y})
	}
	for k, pts := range groups {
		if len(pts) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			continue
		}
		sc.GlyphStyle = markerStyle(k, c)
		p.Add(sc)
	}
}

func markerStyle(kind int, c color.Color) draw.GlyphStyle {
	switch kind {
	case 1:
		return draw.GlyphStyle{Shape: draw.RingGlyph{}, Color: failColor, Radius: vg.Points(4)}
	case 2:
		return draw.GlyphStyle{Shape: draw.CrossGlyph{}, Color: limitedColor, Radius: vg.Points(4)}
	}
	return draw.GlyphStyle{Shape: draw.CircleGlyph{}, Color: c, Radius: vg.Points(3.5)}
}

// glyphThumb draws one marker in the legend.
type glyphThumb struct{ sty draw.GlyphStyle }

// Thumbnail implements plot.Thumbnailer.
func (g glyphThumb) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(g.sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: (c.Min.Y + c.Max.Y) / 2})
}

// addMarkerLegend explains the marker styles the steps use.
func addMarkerLegend(p *plot.Plot, ss []measure.ProbeStep) {
	var used [3]bool
	for _, s := range ss {
		used[stepKind(s)] = true
	}
	black := color.RGBA{A: 255}
	for k, label := range []string{"step passed (filled)", "step FAILED (hollow)", "client limited (x)"} {
		if used[k] {
			p.Legend.Add(label, glyphThumb{markerStyle(k, black)})
		}
	}
}

// vline is a labelled vertical line across the data area.
type vline struct {
	x     float64
	label string
	color color.Color
	right bool // label right of the line (left of it otherwise)
}

// Plot implements plot.Plotter.
func (v vline) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(v.x)
	if x < c.Min.X || x > c.Max.X {
		return
	}
	c.StrokeLine2(draw.LineStyle{Color: v.color, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}, x, c.Min.Y, x, c.Max.Y)
	sty := p.X.Tick.Label
	sty.Font.Size = vg.Points(10)
	sty.Color = v.color
	sty.XAlign = draw.XRight
	dx := -vg.Points(3)
	if v.right {
		sty.XAlign, dx = draw.XLeft, vg.Points(3)
	}
	c.FillText(sty, vg.Point{X: x + dx, Y: c.Min.Y + vg.Points(6)}, v.label)
}

// kneeLine marks the max sustainable rate (and the client limit).
func kneeLine(p *plot.Plot, r *measure.ProbeResult) {
	if r.MaxSustainableRate > 0 {
		p.Add(vline{x: r.MaxSustainableRate, label: "max sustainable " + num(r.MaxSustainableRate) + "/s", color: kneeColor})
	}
	if r.ClientLimitedAt > 0 {
		p.Add(vline{x: r.ClientLimitedAt, label: "client limited from " + num(r.ClientLimitedAt) + "/s", color: limitedColor, right: true})
	}
}
