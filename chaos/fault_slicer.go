package chaos

import "time"

// slicerFault cuts data into small packets (average_size ± size_variation
// bytes, delay between them) on the path's data direction by default:
// exercises framing and partial reads.
type slicerFault struct {
	average, variation int64
	delay              time.Duration
	streams            []string
}

func init() { register("slicer", true, func() faultKind { return new(slicerFault) }) }

func (f *slicerFault) parse(r *paramReader) {
	f.average = r.integer("average_size", 16, 1)
	f.variation = r.integer("size_variation", 4, 0)
	f.delay = r.duration("delay", 0, false, "us")
	f.streams = r.streams(streamData)
	if r.err == nil && f.variation >= f.average {
		r.fail("size_variation: %d must be smaller than average_size %d", f.variation, f.average)
	}
}

func (f *slicerFault) effect(toxicity float64) effect {
	attrs := map[string]any{"average_size": f.average, "size_variation": f.variation, "delay": f.delay.Microseconds()}
	return effect{toxics: toxicsOn("slicer", f.streams, toxicity, attrs)}
}
