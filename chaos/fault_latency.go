package chaos

import "time"

// latencyFault delays data by latency ± jitter (uniform). By default only the
// request stream ("upstream", client→store) is delayed, so each round trip
// gains the latency once: `latency: 50ms` on the producer path means every
// append's commit takes >= 50 ms longer. stream: both delays twice per trip.
type latencyFault struct {
	latency, jitter time.Duration
	streams         []string
}

func init() { register("latency", true, func() faultKind { return new(latencyFault) }) }

func (f *latencyFault) parse(r *paramReader) {
	f.latency = r.duration("latency", 0, true, "ms")
	f.jitter = r.duration("jitter", 0, false, "ms")
	f.streams = r.streams("upstream")
	if r.err == nil && f.jitter > f.latency {
		r.fail("jitter: %s exceeds latency %s (delays would go negative); lower jitter", f.jitter, f.latency)
	}
}

func (f *latencyFault) effect(toxicity float64) effect {
	attrs := map[string]any{"latency": ms(f.latency), "jitter": ms(f.jitter)}
	return effect{toxics: toxicsOn("latency", f.streams, toxicity, attrs)}
}
