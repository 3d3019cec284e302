package scenarios

import (
	"fmt"
	"math"
	"math/rand/v2"
)

func init() { RegisterDistribution("hotset", newHotset) }

// hotset sends Share of the events to the first Hot fraction of the keys
// (uniformly among them) and the rest uniformly to the other keys: "1% of
// products get 80% of the orders", with the hot share stated exactly.
type hotset struct {
	hot, cold int
	share     float64
}

func newHotset(k Keys) (KeyPicker, error) {
	if !(k.Hot > 0 && k.Hot < 1) {
		return nil, fmt.Errorf("events.keys.hot: %g is outside (0,1); write the hot fraction of keys, e.g. 0.01", k.Hot)
	}
	if !(k.Share > 0 && k.Share < 1) {
		return nil, fmt.Errorf("events.keys.share: %g is outside (0,1); write the fraction of events on hot keys, e.g. 0.8", k.Share)
	}
	hot := int(math.Ceil(k.Hot * float64(k.Count)))
	hot = min(max(hot, 1), k.Count)
	return hotset{hot: hot, cold: k.Count - hot, share: k.Share}, nil
}

func (h hotset) Pick(r *rand.Rand) int {
	if h.cold == 0 || r.Float64() < h.share {
		return r.IntN(h.hot)
	}
	return h.hot + r.IntN(h.cold)
}
