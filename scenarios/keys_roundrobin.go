package scenarios

import (
	"math/rand/v2"
	"sync/atomic"
)

func init() { RegisterDistribution("roundrobin", newRoundRobin) }

// roundRobin cycles through the keys in order (0, 1, ..., count-1, 0, ...),
// as OpenMessaging Benchmark's KEY_ROUND_ROBIN does: every key gets exactly
// its share of the events, so a partitioned store sees perfectly even
// partitions, not merely even on average as with uniform.
//
// It is the one picker whose state is not in the *rand.Rand (a cycle cannot
// be drawn from random numbers): the position is an atomic counter, so the
// picker stays safe for concurrent use, and each NewKeyPicker starts a
// fresh cycle at key 0.
type roundRobin struct {
	n    uint64
	next *atomic.Uint64
}

func newRoundRobin(k Keys) (KeyPicker, error) {
	return roundRobin{n: uint64(k.Count), next: new(atomic.Uint64)}, nil
}

func (rr roundRobin) Pick(*rand.Rand) int { return int((rr.next.Add(1) - 1) % rr.n) }
