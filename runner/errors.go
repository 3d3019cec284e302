package runner

import (
	"math"
	"regexp"
	"strings"
	"sync"
	"time"
)

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

// sum is the number of errors of every operation so far.
func (e *errorCounter) sum() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.other
	for _, c := range e.counts {
		n += c
	}
	return n
}
