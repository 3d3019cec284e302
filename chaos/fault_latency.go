package chaos

import "time"

// latencyFault delays data by latency ± jitter (uniform). By default it
// delays the path's data direction once (stream "data": requests on the
// producer path, responses and pushed events on the consumer path), so
// `latency: 50ms` adds >= 50 ms to every commit on producer and to every
// delivery (end-to-end latency) on consumer. stream: both delays twice per
// round trip.
type latencyFault struct {
	latency, jitter time.Duration
	streams         []string
}

func init() { register("latency", true, func() faultKind { return new(latencyFault) }) }

func (f *latencyFault) parse(r *paramReader) {
	f.latency = r.duration("latency", 0, true, "ms")
	f.jitter = r.duration("jitter", 0, false, "ms")
	f.streams = r.streams(streamData)
	if r.err == nil && f.jitter > f.latency {
		r.fail("jitter: %s exceeds latency %s (delays would go negative); lower jitter", f.jitter, f.latency)
	}
}

func (f *latencyFault) effect(toxicity float64) effect {
	attrs := map[string]any{"latency": ms(f.latency), "jitter": ms(f.jitter)}
	return effect{toxics: toxicsOn("latency", f.streams, toxicity, attrs)}
}
