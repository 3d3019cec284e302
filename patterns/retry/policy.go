// Package retry wraps an event handler the way production consumers do:
// retry a failed event with exponential backoff and jitter up to N
// attempts, then dead-letter it to a DLQ (Sink) so the stream moves on; a
// circuit breaker stops calling a handler whose failure rate crosses a
// threshold (a broken downstream) and probes it again after a cooldown.
// Flaky injects failures to exercise all of it.
package retry

import (
	"math/rand/v2"
	"time"
)

// Policy is how a failed event is retried.
type Policy struct {
	// Attempts is the total number of tries, the first included (>= 1).
	Attempts int
	// Backoff is the wait before the first retry, doubling per retry up to
	// MaxBackoff.
	Backoff, MaxBackoff time.Duration
}

// Wait is the pause before try number tries+1 after tries failed tries:
// exponential backoff with "equal jitter" (half fixed, half random from
// rng), so consumers that failed together do not retry in lockstep.
func (p Policy) Wait(tries int, rng *rand.Rand) time.Duration {
	d := p.Backoff
	for i := 1; i < tries && d < p.MaxBackoff; i++ {
		d *= 2
	}
	if p.MaxBackoff > 0 {
		d = min(d, p.MaxBackoff)
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + time.Duration(rng.Int64N(int64(half)+1))
}
