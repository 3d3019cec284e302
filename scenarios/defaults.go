package scenarios

import "time"

// Defaults applied by ApplyDefaults. They are documented in docs/scenarios.md.
const (
	DefaultBatch        = 1
	DefaultProjectors   = 1
	DefaultRebuild      = "none"
	DefaultDistribution = "uniform"
	DefaultKeyCount     = 10000
	DefaultZipfS        = 1.1
	DefaultHot          = 0.01
	DefaultShare        = 0.8
	DefaultMaxInFlight  = 1024
	DefaultDrain        = Duration(30 * time.Second)
	DefaultSizeMin      = 200
	DefaultSizeMax      = 1000
	DefaultPayload      = PayloadEnvelope
	DefaultRandomRatio  = 1.0
	DefaultPayloadPool  = 1024
)

// ApplyDefaults fills every field the YAML left out. A value written
// explicitly (even 0, as in "projectors: 0" or "count: 0") is kept when the
// scenario was parsed, so Validate can reject or honour it; on a scenario
// built in Go, zero means "default". Calling it twice is harmless.
func ApplyDefaults(s *Scenario) {
	set := s.isSet
	applyExpectDefaults(&s.Expect)
	applyRetryDefaults(s)
	applyConcurrencyDefaults(s)
	applyDurableDefaults(s)
	applyOutboxDefaults(s)
	applyHandlerDefaults(s)
	if s.Events.Batch == 0 && !set("events.batch") {
		s.Events.Batch = DefaultBatch
	}
	if s.Consumers.Projectors == 0 && !set("consumers.projectors") {
		s.Consumers.Projectors = DefaultProjectors
	}
	if s.Consumers.Rebuild == "" {
		s.Consumers.Rebuild = DefaultRebuild
	}
	if s.Consumers.Drain == 0 && !set("consumers.drain") {
		s.Consumers.Drain = DefaultDrain
	}
	if s.Load.MaxInFlight == 0 && !set("load.max_in_flight") {
		s.Load.MaxInFlight = DefaultMaxInFlight
	}
	k := &s.Events.Keys
	if k.Distribution == "" {
		k.Distribution = DefaultDistribution
	}
	if k.Count == 0 && !set("events.keys.count") {
		k.Count = DefaultKeyCount
	}
	switch k.Distribution {
	case "zipf":
		if k.S == 0 && !set("events.keys.s") {
			k.S = DefaultZipfS
		}
	case "hotset":
		if k.Hot == 0 && !set("events.keys.hot") {
			k.Hot = DefaultHot
		}
		if k.Share == 0 && !set("events.keys.share") {
			k.Share = DefaultShare
		}
	}
	e := &s.Events
	if e.Payload == "" {
		e.Payload = DefaultPayload
	}
	if e.RandomRatio == 0 && !set("events.random_ratio") {
		e.RandomRatio = DefaultRandomRatio
	}
	if e.PayloadPool == 0 && !set("events.payload_pool") {
		e.PayloadPool = DefaultPayloadPool
	}
	sz := &s.Events.Size
	if s.Events.Fixture == "" {
		switch {
		case sz.Min == 0 && sz.Max == 0 && !set("events.size.max"):
			sz.Min, sz.Max = DefaultSizeMin, DefaultSizeMax
		case sz.Max == 0 && !set("events.size.max"):
			sz.Max = max(sz.Min, DefaultSizeMax)
		}
	}
}

// isSet reports whether the parsed YAML wrote path explicitly.
func (s *Scenario) isSet(path string) bool {
	_, ok := s.lines[path]
	return ok
}
