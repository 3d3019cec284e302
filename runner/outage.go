package runner

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evbench/evbench/live"
	"github.com/evbench/evbench/reports/measure"
)

// Operations whose outages are tracked.
const (
	opAppend    = "append"
	opSubscribe = "subscribe"
	opHead      = "head"
)

// maxOutages bounds the outages kept: a flapping store (a fault with
// toxicity) can fail and recover thousands of times; past the bound they
// are counted, not itemised.
const maxOutages = 1000

// outageTracker turns failures and successes of each operation into
// outages: from an operation's first failure to its first success after
// it, what a client of the store saw. Successes are the hot path (every
// ack, every delivered batch): while no outage is open they cost one
// atomic load.
type outageTracker struct {
	start time.Time
	open  atomic.Int32 // outages open now, over all operations

	mu      sync.Mutex
	current map[string]*measure.Outage
	done    []measure.Outage
	dropped int
}

func newOutageTracker(start time.Time) *outageTracker {
	return &outageTracker{start: start, current: map[string]*measure.Outage{}}
}

// fail records n failures of op at t.
func (o *outageTracker) fail(op string, t time.Time, n int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if cur := o.current[op]; cur != nil {
		cur.Failed += n
		return
	}
	o.current[op] = &measure.Outage{Op: op, StartedS: round3(max(t.Sub(o.start).Seconds(), 0)), Failed: n}
	o.open.Add(1)
}

// ok records a success of op at t, ending its outage if one is open.
func (o *outageTracker) ok(op string, t time.Time) {
	if o.open.Load() == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	cur := o.current[op]
	if cur == nil {
		return
	}
	delete(o.current, op)
	o.open.Add(-1)
	o.close(cur, t, true)
}

func (o *outageTracker) close(cur *measure.Outage, t time.Time, recovered bool) {
	cur.EndedS = round3(max(t.Sub(o.start).Seconds(), cur.StartedS))
	cur.Seconds = round3(cur.EndedS - cur.StartedS)
	cur.Recovered = recovered
	if len(o.done) >= maxOutages {
		o.dropped++
		return
	}
	o.done = append(o.done, *cur)
}

// list returns the outages by start time; those still open at end are
// closed there, not recovered. dropped counts the ones beyond maxOutages.
func (o *outageTracker) list(end time.Time) (out []measure.Outage, dropped int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for op, cur := range o.current {
		delete(o.current, op)
		o.open.Add(-1)
		o.close(cur, end, false)
	}
	out = append([]measure.Outage{}, o.done...)
	sortOutages(out)
	return out, o.dropped
}

func sortOutages(out []measure.Outage) {
	slices.SortStableFunc(out, func(a, b measure.Outage) int {
		if c := cmp.Compare(a.StartedS, b.StartedS); c != 0 {
			return c
		}
		return cmp.Compare(a.Op, b.Op)
	})
}

// live returns the outages open now, by start, and how many have ended,
// for the live display. It leaves them open.
func (o *outageTracker) live(start time.Time) (open []live.Outage, closed int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, cur := range o.current {
		open = append(open, live.Outage{Op: cur.Op, Since: time.Duration(cur.StartedS * float64(time.Second)), Failed: cur.Failed})
	}
	slices.SortFunc(open, func(a, b live.Outage) int { return cmp.Compare(a.Since, b.Since) })
	return open, len(o.done) + o.dropped
}
