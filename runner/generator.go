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
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// lateThreshold: an event sent this long after its scheduled time counts as
// late (the in-flight window was full or the generator fell behind). Its
// latency still counts from the scheduled time either way.
const lateThreshold = 5 * time.Millisecond

// coalesceGap is the shortest time between two generator wake-ups. Each
// wake-up costs ~10-40 µs of CPU (a timerfd read through the netpoller);
// at 60,000 events/s one per event used a sixth of a core. Events due
// within the gap go out together, at most this much late: send delay
// shows it, and it is far below the late threshold.
const coalesceGap = 50 * time.Microsecond

// generator is the open-loop load generator. Every event's due time comes
// from the schedule and the run's start; appends are asynchronous within an
// in-flight window. When the window is full the generator waits, and the
// waiting shows up in commit latency (measured from the scheduled time) and
// in the late counter, never hidden.
//
// The hot path allocates nothing: the window is a fixed set of jobs handed
// out through a channel (which is also the in-flight cap), payloads come
// from a pool, and recorders take lock-free atomic adds.
type generator struct {
	sched  *Schedule
	start  time.Time
	drv    drivers.Driver
	async  drivers.AsyncAppender // nil: a worker pool calls Append
	batch  int
	window int
	source eventSource
	ledger *ledger
	waiter *pace.Waiter

	commit, service, sendDelay, failedLat *measure.Recorder
	errs                                  *errorCounter
	outages                               *outageTracker
	// retry is the client retry policy (load.retry); nil: a failed append
	// is final.
	retry *scenarios.Retry

	scheduled, sent, acked, failed, late, windowFull atomic.Int64
	retried, gaveUp                                  atomic.Int64
	// lateFree counts late events that did not wait for the in-flight
	// window: lateness the harness caused, not the store's backpressure.
	lateFree atomic.Int64
	busy     atomic.Int64 // jobs taken from free: appends in flight or retrying
	lastAck  atomic.Int64 // unix ns of the latest ack

	// submit sends a job to the store (AppendAsync or a worker); retries
	// call it again from their timer.
	submit func(*job)
	// acks dates recent acknowledgements for RPO (nil without store
	// faults).
	acks *ackRing
	// fresh tracks the oldest unprocessed event per type (freshness).
	fresh *freshness
	// commands, when set, handles every append as a command under
	// optimistic concurrency (events.concurrency, commands.go).
	commands *commands
	// stopped is set once the run was interrupted: pending retries give up
	// instead of trying again.
	stopped atomic.Bool

	jobs     []*job
	free     chan *job // jobs not in flight; its capacity is the window
	inflight sync.WaitGroup
}

// job is one append: a batch of events of one key, each with its own
// scheduled time. Jobs are reused; state makes sure an append is answered
// once (by the driver, or by settle giving up on it).
type job struct {
	g        *generator
	events   []drivers.Event
	due      []time.Time
	key      int32
	firstSeq uint64
	sentAt   time.Time // the latest try
	firstAt  time.Time // the first try, for load.retry.deadline
	tries    int
	state    atomic.Int32 // jobIdle, jobPending
	done     func([]drivers.Position, error)
	resend   func()
}

const (
	jobIdle int32 = iota
	jobPending
)

// run generates until the schedule ends or ctx is cancelled, then waits for
// in-flight appends (bounded by their own contexts).
func (g *generator) run(ctx context.Context) {
	g.jobs = make([]*job, g.window)
	g.free = make(chan *job, g.window)
	for i := range g.jobs {
		j := &job{g: g, events: make([]drivers.Event, 0, g.batch), due: make([]time.Time, 0, g.batch)}
		j.done = j.answer
		j.resend = j.retryNow
		g.jobs[i] = j
		g.free <- j
	}
	// Appends get their own context: an interrupted run still lets in-flight
	// appends finish (their outcome is data), up to appendGrace.
	actx, cancelAppends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAppends() // after settle: stops the workers
	if g.commands != nil {
		g.submit = g.commands.start(actx)
	} else if g.async != nil {
		g.submit = func(j *job) { g.async.AppendAsync(actx, j.events, j.done) }
	} else {
		g.submit = g.startWorkers(actx)
	}
	defer func() {
		if ctx.Err() != nil {
			g.stopped.Store(true)
		}
		g.settle(ctx, cancelAppends)
		g.stopped.Store(true)
	}()

	waiter := g.waiter
	if waiter == nil {
		waiter = pace.NewWaiter()
		defer waiter.Close()
	}
	cur := g.sched.Cursor()
	due := make([]time.Time, 0, g.batch)
	var prevWake time.Time
	for {
		due = due[:0]
		first := int64(-1)
		for len(due) < g.batch {
			at, n, ok := cur.Next()
			if !ok {
				break
			}
			if first < 0 {
				first = n
			}
			due = append(due, g.start.Add(at))
		}
		if len(due) == 0 {
			return
		}
		g.scheduled.Add(int64(len(due)))
		// Sleep until the batch is due (its last event), unless already late.
		// Wake-ups are at least coalesceGap apart: at high rates one
		// wake-up sends every batch due by then.
		if last := due[len(due)-1]; time.Until(last) > 0 {
			wake := last
			if min := prevWake.Add(coalesceGap); wake.Before(min) {
				wake = min
			}
			if !waiter.Until(ctx, wake) {
				g.scheduled.Add(-int64(len(due)))
				return
			}
			prevWake = wake
		} else {
			select {
			case <-ctx.Done():
				g.scheduled.Add(-int64(len(due)))
				return
			default:
			}
		}
		// A free job is a slot in the window: when none is free, the wait
		// is the harness's own cap, counted, never hidden.
		var j *job
		waited := false
		select {
		case j = <-g.free:
		default:
			waited = true
			g.windowFull.Add(int64(len(due)))
			select {
			case j = <-g.free:
			case <-ctx.Done():
				g.scheduled.Add(-int64(len(due)))
				return
			}
		}
		g.busy.Add(1)
		j.due = append(j.due[:0], due...)
		var events []drivers.Event
		j.key, events = g.source.next(first, len(j.due), j.events[:0])
		j.events = events
		j.firstSeq = events[0].Seq
		for i := range j.events {
			j.events[i].CreatedAt = j.due[i].UnixNano()
		}
		j.sentAt = time.Now()
		j.firstAt, j.tries = j.sentAt, 1
		var late int64
		for _, d := range j.due {
			delay := j.sentAt.Sub(d)
			g.sendDelay.Record(delay)
			if delay > lateThreshold {
				late++
			}
		}
		if late > 0 {
			g.late.Add(late)
			if !waited {
				g.lateFree.Add(late)
			}
		}
		g.sent.Add(int64(len(j.events)))
		g.inflight.Add(1)
		j.state.Store(jobPending)
		g.submit(j)
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
	g.stopped.Store(true) // pending retries give up from here on
	cancelAppends()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	for _, j := range g.jobs {
		if j.state.CompareAndSwap(jobPending, jobIdle) {
			now := time.Now()
			g.tryFailed(j, errNoAnswer, now)
			g.finish(j, errNoAnswer, now, false)
		}
	}
}

// startWorkers runs one goroutine per window slot (capped); a key always
// goes to the same worker, so appends of one key never overlap and the
// per-key order the projector checks is well defined. Workers stop when
// ctx ends (after settle), so a retry timer firing late can never send on
// a closed channel.
func (g *generator) startWorkers(ctx context.Context) func(*job) {
	n := min(g.window, 256)
	workers := make([]chan *job, n)
	for i := range workers {
		ch := make(chan *job, 4)
		workers[i] = ch
		go func() {
			for {
				select {
				case j := <-ch:
					j.done(g.drv.Append(ctx, j.events))
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	seed := maphash.MakeSeed()
	return func(j *job) {
		w := maphash.String(seed, j.events[0].Key) % uint64(n)
		select {
		case workers[w] <- j:
		case <-ctx.Done():
			j.done(nil, ctx.Err())
		}
	}
}

// answer is the append's completion (job.done): it records the try, and
// either schedules a retry (load.retry) or records the outcome, once; an
// answer that comes after settle gave up on the job is ignored.
func (j *job) answer(_ []drivers.Position, err error) {
	now := time.Now()
	g := j.g
	if err != nil {
		if j.state.Load() != jobPending {
			return
		}
		g.tryFailed(j, err, now)
		if g.retryLater(j, now) {
			return
		}
	}
	if j.state.CompareAndSwap(jobPending, jobIdle) {
		g.finish(j, err, now, true)
	}
}

// tryFailed counts one failed try: its error, and the outage it opens or
// extends.
func (g *generator) tryFailed(j *job, err error, now time.Time) {
	n := int64(len(j.events))
	g.errs.add(opAppend, err, n)
	g.outages.fail(opAppend, now, n)
}

// retryLater schedules the next try of a failed append when the policy
// allows one: tries left, within the deadline, the run not interrupted.
// The job keeps its window slot meanwhile, as a real client's request
// would hold its connection or semaphore.
func (g *generator) retryLater(j *job, now time.Time) bool {
	p := g.retry
	if p == nil || j.tries >= p.Attempts || g.stopped.Load() {
		return false
	}
	wait := p.Wait(j.tries)
	if p.Deadline > 0 && now.Add(wait).Sub(j.firstAt) > p.Deadline.D() {
		return false
	}
	if j.tries == 1 {
		g.retried.Add(int64(len(j.events)))
	}
	j.tries++
	time.AfterFunc(wait, j.resend)
	return true
}

// retryNow is the retry timer's callback (job.resend): the same events,
// the same IDs, again.
func (j *job) retryNow() {
	g := j.g
	if j.state.Load() != jobPending {
		return // settle gave up on it meanwhile
	}
	if g.stopped.Load() {
		j.answer(nil, errRetryStopped)
		return
	}
	j.sentAt = time.Now()
	g.submit(j)
}

// errRetryStopped ends a retry the interrupted run will not wait for.
var errRetryStopped = errors.New("retry abandoned: the run was interrupted")

// finish records the outcome of one append; reuse returns the job to the
// window (settle's give-ups are not reused: the store may still hold them).
func (g *generator) finish(j *job, err error, now time.Time, reuse bool) {
	n := int64(len(j.events))
	if err != nil {
		g.failed.Add(n)
		if g.retry != nil && !g.stopped.Load() {
			g.gaveUp.Add(n)
		}
		for _, d := range j.due {
			g.failedLat.Record(now.Sub(d))
		}
		if !notWritten(err) { // a command that gave up consumed no sequence number
			g.ledger.fail(j.key, j.firstSeq, len(j.events))
		}
	} else {
		g.service.RecordN(now.Sub(j.sentAt), n)
		for _, d := range j.due {
			g.commit.Record(now.Sub(d))
		}
		g.acked.Add(n)
		g.lastAck.Store(now.UnixNano())
		if g.fresh != nil {
			for i, d := range j.due {
				g.fresh.acked(j.events[i].Type, d.UnixNano())
			}
		}
		if g.acks != nil {
			for i, d := range j.due {
				g.acks.add(j.key, j.firstSeq+uint64(i), d.UnixNano())
			}
		}
		g.outages.ok(opAppend, now)
		if j.tries > 1 {
			g.ledger.retriedOK(j.key, j.firstSeq, len(j.events))
		}
	}
	if reuse {
		g.busy.Add(-1)
		g.free <- j
	}
	g.inflight.Done()
}
