package chaos

import "time"

// timeoutFault stops data and closes each affected connection after
// "timeout": a stalled store or middlebox that eventually drops sessions.
// Unlike partition, connections end on their own after timeout (required,
// > 0; a hang forever is kind partition).
type timeoutFault struct {
	timeout time.Duration
	streams []string
}

func init() { register("timeout", true, func() faultKind { return new(timeoutFault) }) }

func (f *timeoutFault) parse(r *paramReader) {
	f.timeout = r.duration("timeout", 0, true, "s")
	f.streams = r.streams("both")
	if r.err == nil && f.timeout <= 0 {
		r.fail("timeout: must be > 0 (a hang forever is kind: partition); write e.g. timeout: 2s")
	}
}

func (f *timeoutFault) effect(toxicity float64) effect {
	return effect{toxics: toxicsOn("timeout", f.streams, toxicity, map[string]any{"timeout": ms(f.timeout)})}
}
