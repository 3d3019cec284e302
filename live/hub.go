package live

import "sync"

// Sink receives snapshots. Publish is called from the runner's progress
// goroutine about once a second and must not block for long: a slow
// consumer (a browser on a bad link) must drop frames, not stall the run.
type Sink interface {
	Publish(Snapshot)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Snapshot)

// Publish calls f.
func (f SinkFunc) Publish(s Snapshot) { f(s) }

// Hub fans one stream of snapshots out to several sinks and remembers the
// latest, for sinks that read on their own schedule (a Prometheus scrape).
type Hub struct {
	mu     sync.Mutex
	sinks  []Sink
	last   Snapshot
	seeded bool
}

// Add registers a sink; it receives every snapshot published after.
func (h *Hub) Add(s Sink) {
	h.mu.Lock()
	h.sinks = append(h.sinks, s)
	h.mu.Unlock()
}

// Publish hands s to every sink, in the order they were added.
func (h *Hub) Publish(s Snapshot) {
	h.mu.Lock()
	h.last, h.seeded = s, true
	sinks := h.sinks
	h.mu.Unlock()
	for _, k := range sinks {
		k.Publish(s)
	}
}

// Last returns the latest snapshot and whether there was one.
func (h *Hub) Last() (Snapshot, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last, h.seeded
}
