package chaos

// bandwidthFault throttles a stream to rate KB/s: slow storage reads (on the
// consumer path's responses, the default "downstream") or a thin link.
type bandwidthFault struct {
	rate    int64 // KB/s
	streams []string
}

func init() { register("bandwidth", true, func() faultKind { return new(bandwidthFault) }) }

func (f *bandwidthFault) parse(r *paramReader) {
	f.rate = r.rateKBps("rate")
	f.streams = r.streams("downstream")
}

func (f *bandwidthFault) effect(toxicity float64) effect {
	return effect{toxics: toxicsOn("bandwidth", f.streams, toxicity, map[string]any{"rate": f.rate})}
}
