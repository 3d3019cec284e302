package chaos

// bandwidthFault throttles the path's data direction (stream "data") to rate
// KB/s: slow storage reads on the consumer path (store→client), slow writes
// on the producer path (client→store), or a thin link.
type bandwidthFault struct {
	rate    int64 // KB/s
	streams []string
}

func init() { register("bandwidth", true, func() faultKind { return new(bandwidthFault) }) }

func (f *bandwidthFault) parse(r *paramReader) {
	f.rate = r.rateKBps("rate")
	f.streams = r.streams(streamData)
}

func (f *bandwidthFault) effect(toxicity float64) effect {
	return effect{toxics: toxicsOn("bandwidth", f.streams, toxicity, map[string]any{"rate": f.rate})}
}
