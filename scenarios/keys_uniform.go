package scenarios

import "math/rand/v2"

func init() { RegisterDistribution("uniform", newUniform) }

// uniform spreads events evenly over all keys: the friendliest case for
// partitioned stores, the baseline for the skewed ones.
type uniform struct{ n int }

func newUniform(k Keys) (KeyPicker, error) { return uniform{n: k.Count}, nil }

func (u uniform) Pick(r *rand.Rand) int { return r.IntN(u.n) }
