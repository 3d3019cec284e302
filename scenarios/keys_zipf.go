package scenarios

import (
	"fmt"
	"math"
	"math/rand/v2"
)

func init() { RegisterDistribution("zipf", newZipf) }

// zipf picks key i (0-based rank) with probability proportional to
// 1/(i+1)^s: a few very hot aggregates and a long tail, like best-selling
// products. math/rand/v2 has no Zipf, so this is the rejection-inversion
// sampler of Hörmann and Derflinger (1996), the method math/rand v1's Zipf
// uses (with v = 1), written against math/rand/v2. O(1) per pick, no tables.
type zipf struct {
	imax, q, oneMinusQ, oneMinusQInv float64
	hxm, hx0MinusHxm, s              float64
}

func newZipf(k Keys) (KeyPicker, error) {
	if !(k.S > 1) || math.IsInf(k.S, 0) {
		return nil, fmt.Errorf("events.keys.s: %g is too small; zipf needs s > 1 (e.g. 1.1)", k.S)
	}
	z := &zipf{imax: float64(k.Count - 1), q: k.S}
	z.oneMinusQ = 1 - z.q
	z.oneMinusQInv = 1 / z.oneMinusQ
	z.hxm = z.h(z.imax + 0.5)
	z.hx0MinusHxm = z.h(0.5) - 1 - z.hxm // exp(log(v)*-q) with v = 1
	z.s = 1 - z.hinv(z.h(1.5)-math.Exp(-z.q*math.Log(2)))
	return z, nil
}

func (z *zipf) h(x float64) float64 { return math.Exp(z.oneMinusQ*math.Log(1+x)) * z.oneMinusQInv }

func (z *zipf) hinv(x float64) float64 { return math.Exp(z.oneMinusQInv*math.Log(z.oneMinusQ*x)) - 1 }

func (z *zipf) Pick(r *rand.Rand) int {
	for {
		ur := z.hxm + r.Float64()*z.hx0MinusHxm
		x := z.hinv(ur)
		k := math.Floor(x + 0.5)
		if k-x <= z.s || ur >= z.h(k+0.5)-math.Exp(-math.Log(k+1)*z.q) {
			if k < 0 {
				k = 0
			} else if k > z.imax {
				k = z.imax
			}
			return int(k)
		}
	}
}
