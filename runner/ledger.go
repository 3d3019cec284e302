package runner

import (
	"encoding/binary"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Append outcomes per event, written once by the append completion.
const (
	stateNone   uint8 = iota // scheduled, not sent
	stateSent                // sent, no answer yet
	stateAcked               // acknowledged: must be delivered
	stateFailed              // append returned an error: ambiguous, may have landed
)

// ledger tracks every event of a run by its number n: what the store said
// about its append, and how often each projector saw it. Fixed arrays
// indexed by n cost one byte per event (plus one per projector) and no locking: each index is
// written by exactly one goroutine at a time (the append completion, or the
// projector that owns the delivered array).
type ledger struct {
	runID [8]byte
	state []uint8
}

func newLedger(runID [8]byte, total int64) *ledger {
	return &ledger{runID: runID, state: make([]uint8, total)}
}

// eventID encodes the run and the event number, so a delivered event maps
// back to its ledger slot without a lookup table.
func (l *ledger) eventID(n int64) (id [16]byte) {
	copy(id[:8], l.runID[:])
	binary.BigEndian.PutUint64(id[8:], uint64(n))
	return id
}

// number returns the event number of id, or ok=false for an event of
// another run (left in the store by an earlier run) or out of range.
func (l *ledger) number(id [16]byte) (int64, bool) {
	if [8]byte(id[:8]) != l.runID {
		return 0, false
	}
	n := int64(binary.BigEndian.Uint64(id[8:]))
	if n < 0 || n >= int64(len(l.state)) {
		return 0, false
	}
	return n, true
}

// deliveries is one projector's view: how many times it saw each event.
type deliveries struct {
	count []uint8 // saturates at 255
}

func newDeliveries(total int64) *deliveries { return &deliveries{count: make([]uint8, total)} }

// see records a delivery and reports whether it was the first.
func (d *deliveries) see(n int64) (first bool) {
	c := d.count[n]
	if c < 255 {
		d.count[n] = c + 1
	}
	return c == 0
}

// verdict is the delivery check of one projector against the ledger.
type verdict struct {
	lost, duplicated, unexpected, ambiguous, delivered int64
}

// check compares deliveries with acknowledgements. It must run after all
// appends completed and the projector stopped (the caller synchronises).
func (l *ledger) check(d *deliveries) verdict {
	var v verdict
	for n, st := range l.state {
		c := int64(d.count[n])
		if c > 0 {
			v.delivered++
		}
		if c > 1 {
			v.duplicated += c - 1
		}
		switch st {
		case stateAcked:
			if c == 0 {
				v.lost++
			}
		case stateFailed:
			v.ambiguous++
			if c > 0 {
				v.unexpected++
			}
		default: // never acknowledged, yet delivered
			if c > 0 {
				v.unexpected++
			}
		}
	}
	return v
}

// errorCounter groups errors by operation and message, keeping at most
// maxDistinct messages so a storm of unique errors cannot eat memory.
type errorCounter struct {
	mu     sync.Mutex
	counts map[[2]string]int64
	order  [][2]string
	other  int64
	// perSecond counts errors by operation and second since start, so
	// errors can be attributed to fault windows and plotted.
	start     time.Time
	perSecond map[string]map[int64]int64
}

const maxDistinct = 20

func newErrorCounter() *errorCounter {
	return &errorCounter{counts: map[[2]string]int64{}, perSecond: map[string]map[int64]int64{}}
}

// setStart sets the run's clock; errors before it count as second 0.
func (e *errorCounter) setStart(t time.Time) {
	e.mu.Lock()
	e.start = t
	e.mu.Unlock()
}

// between counts errors of each operation in seconds [from, to).
func (e *errorCounter) between(from, to float64) map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int64{}
	for op, secs := range e.perSecond {
		for s, n := range secs {
			if float64(s) >= math.Floor(from) && float64(s) < to {
				out[op] += n
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// series returns op's counts for seconds [0, n).
func (e *errorCounter) series(op string, n int) []float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]float64, n)
	for s, c := range e.perSecond[op] {
		if s >= 0 && s < int64(n) {
			out[s] += float64(c)
		}
	}
	return out
}

// volatile matches the parts of error messages that differ between
// otherwise identical errors (ephemeral ports, positions, byte counts), so
// a storm of resets groups into one line instead of hundreds.
var volatile = regexp.MustCompile(`(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]):\d+|\b\d{3,}\b|-\d+\b`)

func normalizeError(msg string) string {
	return volatile.ReplaceAllStringFunc(msg, func(m string) string {
		if i := strings.LastIndexByte(m, ':'); i > 0 && strings.ContainsAny(m, ".[") {
			return m[:i] + ":*"
		}
		if m[0] == '-' { // a numbered name: order-17
			return "-N"
		}
		return "N"
	})
}

func (e *errorCounter) add(op string, err error, n int64) {
	k := [2]string{op, normalizeError(err.Error())}
	e.mu.Lock()
	defer e.mu.Unlock()
	sec := int64(0)
	if !e.start.IsZero() {
		sec = max(int64(time.Since(e.start)/time.Second), 0)
	}
	if e.perSecond[op] == nil {
		e.perSecond[op] = map[int64]int64{}
	}
	e.perSecond[op][sec] += n
	if _, ok := e.counts[k]; !ok {
		if len(e.order) >= maxDistinct {
			e.other += n
			return
		}
		e.order = append(e.order, k)
	}
	e.counts[k] += n
}

func (e *errorCounter) total(op string) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n int64
	for k, c := range e.counts {
		if k[0] == op {
			n += c
		}
	}
	return n
}
