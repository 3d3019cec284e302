package rabbitmq

import "sync"

// headState is what this process knows of a queue's or stream's head.
// Neither a RabbitMQ queue (no offsets) nor a 3.10 stream (the stream
// stats command needs 3.11) tells a client its end, so the producer's
// confirmations are counted here and the harness's control connection,
// opened in the same process, reads them: Head is "published and
// confirmed through this process", which is what the harness appended.
type headState struct {
	mu sync.Mutex
	// Queue types: next is the next offset to assign at publish (the
	// offset travels in the message), confirmed one past the highest
	// confirmed offset.
	next, confirmed int64
	// Streams: base is the stream's end found at first open, acked the
	// number of messages confirmed since; offsets are assigned in confirm
	// order (base+acked), which is the stream's order for one producer.
	base, acked int64
	known       bool // base was established (first open done)
}

var (
	headsMu sync.Mutex
	heads   = map[string]*headState{}
)

// headFor returns the process-wide state of one queue or stream.
func headFor(c Config) *headState {
	key := c.Type + "|" + c.Addr + "|" + c.VHost + "|" + c.Queue
	headsMu.Lock()
	defer headsMu.Unlock()
	h := heads[key]
	if h == nil {
		h = &headState{}
		heads[key] = h
	}
	return h
}

// reset forgets everything (the queue or stream was deleted).
func (h *headState) reset() {
	h.mu.Lock()
	h.next, h.confirmed, h.base, h.acked, h.known = 0, 0, 0, 0, true
	h.mu.Unlock()
}

func (h *headState) assign(n int) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	first := h.next
	h.next += int64(n)
	return first
}

func (h *headState) confirm(upTo int64) {
	h.mu.Lock()
	if upTo > h.confirmed {
		h.confirmed = upTo
	}
	h.mu.Unlock()
}

func (h *headState) queueHead() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.confirmed
}

// streamAck assigns the next stream offset to one confirmed message.
func (h *headState) streamAck() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	off := h.base + h.acked
	h.acked++
	return off
}

func (h *headState) streamHead() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.base + h.acked
}
