package runner

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/internal/pace"
	"github.com/evbench/evbench/reports"
)

// lateThreshold: an event sent this long after its scheduled time counts as
// late (the in-flight window was full or the generator fell behind). Its
// latency still counts from the scheduled time either way.
const lateThreshold = 5 * time.Millisecond

// eventSource makes the content of event n: key index, key, type, payload.
type eventSource interface {
	next(first int64, count int, scheduled time.Time, batch []drivers.Event) []drivers.Event
}

// generator is the open-loop load generator. Every event's due time comes
// from the schedule and the run's start; appends are asynchronous within an
// in-flight window. When the window is full the generator waits, and the
// waiting shows up in commit latency (measured from the scheduled time) and
// in the late counter, never hidden.
type generator struct {
	sched  *Schedule
	start  time.Time
	drv    drivers.Driver
	async  drivers.AsyncAppender // nil: a worker pool calls Append
	batch  int
	window int
	source eventSource
	ledger *ledger

	commit, service, sendDelay *reports.Recorder
	errs                       *errorCounter

	scheduled, sent, acked, failed, late, windowFull atomic.Int64
	lastAck                                          atomic.Int64 // unix ns of the latest ack

	sem      chan struct{}
	inflight sync.WaitGroup
	mu       sync.Mutex
	pending  map[*job]struct{} // appends not answered yet
}

// job is one append: a batch of events, each with its own scheduled time.
type job struct {
	events []drivers.Event
	due    []time.Time
	first  int64 // event number of events[0]
	sentAt time.Time
}

// run generates until the schedule ends or ctx is cancelled, then waits for
// in-flight appends (bounded by their own contexts).
func (g *generator) run(ctx context.Context) {
	g.sem = make(chan struct{}, g.window)
	g.pending = make(map[*job]struct{}, g.window)
	// Appends get their own context: an interrupted run still lets in-flight
	// appends finish (their outcome is data), up to appendGrace.
	actx, cancelAppends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAppends()
	var submit func(*job)
	var workers []chan *job
	if g.async != nil {
		submit = g.submitAsync(actx)
	} else {
		workers, submit = g.startWorkers(actx)
	}
	defer func() {
		for _, w := range workers {
			close(w)
		}
		g.settle(ctx, cancelAppends)
	}()

	// The cooperative waiter: see internal/pace for why not the precise one.
	cur := g.sched.Cursor()
	waiter := pace.NewWaiter()
	for {
		j := &job{events: make([]drivers.Event, 0, g.batch), due: make([]time.Time, 0, g.batch)}
		var lastDue time.Time
		for len(j.events) < g.batch {
			at, n, ok := cur.Next()
			if !ok {
				break
			}
			if len(j.events) == 0 {
				j.first = n
			}
			lastDue = g.start.Add(at)
			j.due = append(j.due, lastDue)
			j.events = append(j.events, drivers.Event{})
		}
		if len(j.events) == 0 {
			return
		}
		g.scheduled.Add(int64(len(j.events)))
		// Sleep until the batch is due (its last event), unless already late.
		if !waiter.Until(ctx, lastDue) {
			g.scheduled.Add(-int64(len(j.events)))
			return
		}
		select {
		case g.sem <- struct{}{}:
		default:
			g.windowFull.Add(int64(len(j.events)))
			select {
			case g.sem <- struct{}{}:
			case <-ctx.Done():
				g.scheduled.Add(-int64(len(j.events)))
				return
			}
		}
		j.events = g.source.next(j.first, len(j.due), j.due[0], j.events[:0])
		for i := range j.events {
			j.events[i].CreatedAt = j.due[i].UnixNano()
			g.ledger.state[j.first+int64(i)] = stateSent
		}
		j.sentAt = time.Now()
		for _, d := range j.due {
			g.sendDelay.Record(j.sentAt, j.sentAt.Sub(d))
		}
		if late := j.sentAt.Sub(j.due[0]); late > lateThreshold {
			for _, d := range j.due {
				if j.sentAt.Sub(d) > lateThreshold {
					g.late.Add(1)
				}
			}
		}
		g.sent.Add(int64(len(j.events)))
		g.inflight.Add(1)
		g.mu.Lock()
		g.pending[j] = struct{}{}
		g.mu.Unlock()
		submit(j)
	}
}

// appendGrace bounds how long the end of the load waits for in-flight
// appends; after it their context is cancelled, and after as long again
// the ones still unanswered are counted as failed (ambiguous). A per-append
// timer would cost a timer and two allocations on the hot path.
const appendGrace = 30 * time.Second

// errNoAnswer marks appends the store never answered.
var errNoAnswer = errors.New("append not answered by the end of the run")

// interruptGrace replaces appendGrace after Ctrl-C: stopping promptly
// matters more than waiting out a store that does not answer.
const interruptGrace = 3 * time.Second

// settle waits for in-flight appends, bounded by the grace period twice.
func (g *generator) settle(ctx context.Context, cancelAppends context.CancelFunc) {
	grace := appendGrace
	if ctx.Err() != nil {
		grace = interruptGrace
	}
	done := make(chan struct{})
	go func() { g.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	cancelAppends()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for j := range g.pending {
		g.finishLocked(j, errNoAnswer, time.Now())
	}
}

func (g *generator) submitAsync(ctx context.Context) func(*job) {
	return func(j *job) {
		g.async.AppendAsync(ctx, j.events, func(pos []drivers.Position, err error) {
			g.complete(j, err)
		})
	}
}

// startWorkers runs one goroutine per window slot (capped); a key always
// goes to the same worker, so appends of one key never overlap and the
// per-key order the projector checks is well defined.
func (g *generator) startWorkers(ctx context.Context) ([]chan *job, func(*job)) {
	n := g.window
	if n > 256 {
		n = 256
	}
	workers := make([]chan *job, n)
	for i := range workers {
		ch := make(chan *job, 4)
		workers[i] = ch
		go func() {
			for j := range ch {
				_, err := g.drv.Append(ctx, j.events)
				g.complete(j, err)
			}
		}()
	}
	seed := maphash.MakeSeed()
	return workers, func(j *job) {
		w := maphash.String(seed, j.events[0].Key) % uint64(n)
		workers[w] <- j
	}
}

// complete records the outcome of one append, once: an answer that comes
// after settle gave up on it is ignored.
func (g *generator) complete(j *job, err error) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.pending[j]; !ok {
		return
	}
	g.finishLocked(j, err, now)
}

func (g *generator) finishLocked(j *job, err error, now time.Time) {
	delete(g.pending, j)
	n := int64(len(j.events))
	if err != nil {
		g.failed.Add(n)
		g.errs.add("append", err, n)
		for i := range j.events {
			g.ledger.state[j.first+int64(i)] = stateFailed
		}
	} else {
		service := now.Sub(j.sentAt)
		for i := range j.events {
			g.ledger.state[j.first+int64(i)] = stateAcked
			g.commit.Record(now, now.Sub(j.due[i]))
			g.service.Record(now, service)
		}
		g.acked.Add(n)
		g.lastAck.Store(now.UnixNano())
	}
	<-g.sem
	g.inflight.Done()
}
