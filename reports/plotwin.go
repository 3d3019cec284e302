package reports

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// shade is a labelled time window drawn behind the data (fault, pause,
// catch-up).
type shade struct {
	start, end float64
	label      string
	color      color.NRGBA
}

// Window colours (translucent, so overlapping windows stay readable).
// NRGBA: not premultiplied, so the alpha is what it says.
var (
	faultColor   = color.NRGBA{R: 220, G: 50, B: 47, A: 45}
	pauseColor   = color.NRGBA{R: 38, G: 139, B: 210, A: 45}
	catchUpColor = color.NRGBA{R: 133, G: 153, B: 0, A: 55}
	outageColor  = color.NRGBA{R: 108, G: 113, B: 196, A: 50}
	warmupColor  = color.NRGBA{R: 147, G: 161, B: 161, A: 60}
)

// shades is a plot.Plotter drawing windows across the full height of the
// data area, each labelled at the top (labels staggered so they do not
// overlap).
type shades []shade

// Plot implements plot.Plotter.
func (s shades) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := p.X.Tick.Label
	sty.Font.Size = vg.Points(8)
	sty.Color = color.RGBA{R: 60, G: 60, B: 60, A: 255}
	for i, w := range s {
		x0, x1 := trX(w.start), trX(w.end)
		if x1 < c.Min.X || x0 > c.Max.X {
			continue
		}
		x0, x1 = max(x0, c.Min.X), min(x1, c.Max.X)
		if x1-x0 < 1 {
			x1 = x0 + 1
		}
		c.FillPolygon(w.color, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		solid := w.color
		solid.A = 200
		c.StrokeLine2(draw.LineStyle{Color: solid, Width: vg.Points(0.5)}, x0, c.Min.Y, x0, c.Max.Y)
		if w.label != "" {
			y := c.Max.Y - sty.Font.Size*vg.Length(1.2*float64(1+i%4))
			c.FillText(sty, vg.Point{X: x0 + vg.Points(2), Y: y}, w.label)
		}
	}
}

// span returns the x range the windows cover.
func (s shades) span() (lo, hi float64, ok bool) {
	for i, w := range s {
		if i == 0 || w.start < lo {
			lo = w.start
		}
		if i == 0 || w.end > hi {
			hi = w.end
		}
	}
	return lo, hi, len(s) > 0
}
