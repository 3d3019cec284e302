package reports

import (
	"math"

	"gonum.org/v1/plot"
)

// niceTicks labels an axis at 1, 2 or 5 times a power of ten, about six
// labels per axis, formatted without needless decimals (gonum's default
// gives two labels such as "0.00" and "25.00").
type niceTicks struct{}

// Ticks implements plot.Ticker.
func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return []plot.Tick{{Value: lo, Label: num(lo)}}
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []plot.Tick
	start := math.Ceil(lo/step) * step
	for i := 0; i < 100; i++ {
		v := start + float64(i)*step
		if v > hi+step*1e-9 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: num(v)})
		// minor tick halfway
		if mv := v + step/2; mv < hi {
			ticks = append(ticks, plot.Tick{Value: mv})
		}
	}
	return ticks
}
