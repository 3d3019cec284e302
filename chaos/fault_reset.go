package chaos

import "time"

// resetFault resets connections (TCP RST) as soon as they carry data, after
// an optional delay "timeout": a reset storm from a crashing load balancer or
// store. New connections are reset too while it lasts; toxicity < 1 resets
// only that share of connections. The reset fires when data flows on the
// chosen stream (default "data": appends on producer, deliveries on
// consumer), so idle connections survive. Toxiproxy drops the data that
// triggered the reset, so with toxicity 1 nothing gets through while it lasts.
type resetFault struct {
	timeout time.Duration
	streams []string
}

func init() { register("reset", true, func() faultKind { return new(resetFault) }) }

func (f *resetFault) parse(r *paramReader) {
	f.timeout = r.duration("timeout", 0, false, "ms")
	f.streams = r.streams(streamData)
}

func (f *resetFault) effect(toxicity float64) effect {
	return effect{toxics: toxicsOn("reset_peer", f.streams, toxicity, map[string]any{"timeout": ms(f.timeout)})}
}
