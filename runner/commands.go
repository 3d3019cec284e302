package runner

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// commands runs the generator's appends as commands of event-sourced
// aggregates under optimistic concurrency (events.concurrency): each key
// has writersPerKey command handlers, and each scheduled append is handled
// by one of them, which appends expecting the version it last saw of the
// stream (read with StreamVersion the first time and after a conflict),
// and on a conflict reloads and retries, up to maxRetries times.
//
// A writer is logical state (its cached version), not a goroutine: 10^4
// keys times 4 writers would be too many goroutines. A pool of worker
// goroutines runs them; writer w of key k always runs on worker
// (hash(k)+w) mod P, so one writer's commands run one at a time (its cache
// needs no lock) while the writers of one key run on different workers:
// their race for the stream is real.
//
// An event's Seq is assigned at the successful append: the stream's version
// before it plus one. So each key's committed events are exactly 1..n, the
// delivery check's per-key contract, and a command that gave up consumed
// no sequence number. Its event IDs carry the writer in the top byte of the
// key field (see decodeID), so two writers racing for the same version
// never send the same ID: a store that deduplicates by ID would otherwise
// answer the loser as an idempotent retry of the winner's append.
type commands struct {
	g             *generator
	drv           drivers.ExpectedAppender
	writersPerKey int
	maxRetries    int
	workers       []chan command
	ctx           context.Context // the appends' context (start)
	seed          maphash.Seed
	rr            uint64 // picks the writer; generator goroutine only

	// committed guards ledger.sent, which the workers advance as their
	// appends succeed (the generator's source does not touch it here).
	committed [64]sync.Mutex

	commandsDone, committedN, attempts, conflicts, reloads, retries, gaveUp atomic.Int64
	maxRetried                                                              atomic.Int64
}

// command is one job for one writer.
type command struct {
	j *job
	w uint8
}

// errGaveUp ends a command whose every try conflicted: nothing was written.
var errGaveUp = errors.New("command gave up: the stream kept moving (events.concurrency.max_retries)")

// errNotWritten marks a command failure that wrote nothing (it gave up, or
// could not read the version): the ledger must not count its sequence
// numbers as ambiguous.
var errNotWritten = errors.New("nothing written")

// notWritten reports whether a failed append certainly wrote nothing.
func notWritten(err error) bool { return errors.Is(err, errNotWritten) }

// useCommands makes the generator send its appends through command
// handlers when the scenario asks for optimistic concurrency. The producer
// must implement drivers.ExpectedAppender (CheckCapabilities refused the
// scenario otherwise).
func (g *generator) useCommands(sc *scenarios.Scenario, producer drivers.Driver) error {
	if !sc.UsesExpectedVersion() {
		return nil
	}
	ea, ok := producer.(drivers.ExpectedAppender)
	if !ok {
		return fmt.Errorf("events.concurrency.expected_version: driver %T cannot append at an expected version: %w", producer, drivers.ErrUnsupported)
	}
	src, ok := g.source.(*scenarioSource)
	if !ok {
		return fmt.Errorf("events.concurrency: the generator's source %T is not the scenario's", g.source)
	}
	c := sc.Events.Concurrency
	g.commands = &commands{g: g, drv: ea, writersPerKey: c.WritersPerKey, maxRetries: c.MaxRetries, seed: maphash.MakeSeed()}
	// The source numbers events in a scratch ledger: sequence numbers are
	// assigned at append time, by the writers, in the real one (g.ledger).
	src.ledger = newLedger(g.ledger.runID, len(g.ledger.sent))
	g.retry = nil // conflicts are retried by the handlers; load.retry is refused with concurrency
	return nil
}

// start runs the worker pool until ctx ends and returns the generator's
// submit.
func (c *commands) start(ctx context.Context) func(*job) {
	c.ctx = ctx
	n := max(min(c.g.window, 256), c.writersPerKey)
	c.workers = make([]chan command, n)
	for i := range c.workers {
		ch := make(chan command, c.g.window) // never full: at most window jobs exist
		c.workers[i] = ch
		go c.work(ctx, ch)
	}
	return c.submit
}

// submit hands a job to the next writer of its key, round robin.
func (c *commands) submit(j *job) {
	w := c.rr % uint64(c.writersPerKey)
	c.rr++
	h := maphash.String(c.seed, j.events[0].Key)
	ch := c.workers[(h+w)%uint64(len(c.workers))]
	select {
	case ch <- command{j: j, w: uint8(w)}: // never blocks: see start
	case <-c.ctx.Done():
		j.done(nil, c.ctx.Err())
	}
}

// writerKey names writer w of key k in a worker's cache.
func writerKey(k int32, w uint8) uint64 { return uint64(k)<<8 | uint64(w) }

func (c *commands) work(ctx context.Context, in chan command) {
	cache := map[uint64]uint64{} // writer -> the stream version it last saw
	for {
		select {
		case cmd := <-in:
			c.handle(ctx, cache, cmd)
		case <-ctx.Done():
			return
		}
	}
}

// handle runs one command to its end: committed, gave up, or failed.
func (c *commands) handle(ctx context.Context, cache map[uint64]uint64, cmd command) {
	j, g := cmd.j, c.g
	if j.state.Load() != jobPending {
		return // settle gave up on it meanwhile
	}
	stream := j.events[0].Key
	wk := writerKey(j.key, cmd.w)
	n := uint64(len(j.events))
	retries := 0
	for {
		v, ok := cache[wk]
		if !ok {
			c.reloads.Add(1)
			var err error
			if v, err = c.drv.StreamVersion(ctx, stream); err != nil {
				g.tryFailed(j, err, time.Now())
				c.end(j, retries, fmt.Errorf("read version of %q: %w: %w", stream, errNotWritten, err))
				return
			}
			cache[wk] = v
		}
		c.number(j, cmd.w, v)
		c.attempts.Add(1)
		pos, err := c.drv.AppendExpected(ctx, stream, v, j.events)
		if err == nil {
			cache[wk] = v + n
			c.advance(j.key, v+n)
			c.committedN.Add(1)
			c.end(j, retries, nil)
			j.done(pos, nil)
			return
		}
		delete(cache, wk) // whatever happened, the view is stale
		if !errors.Is(err, drivers.ErrConflict) {
			c.end(j, retries, nil)
			j.done(nil, err) // may have landed: the generator counts it failed, the ledger ambiguous
			return
		}
		c.conflicts.Add(1)
		if retries >= c.maxRetries || g.stopped.Load() {
			c.gaveUp.Add(1)
			c.end(j, retries, fmt.Errorf("%w (%w)", errGaveUp, errNotWritten))
			return
		}
		retries++
	}
}

// number gives the command's events their sequence numbers (the version
// each makes) and IDs (with the writer, see commands).
func (c *commands) number(j *job, w uint8, v uint64) {
	for i := range j.events {
		seq := v + 1 + uint64(i)
		j.events[i].Seq = seq
		j.events[i].ID = c.g.ledger.eventID(j.key, seq)
		j.events[i].ID[idRunBytes] = w
	}
	j.firstSeq = v + 1
}

// advance records that key k's stream reached version v.
func (c *commands) advance(k int32, v uint64) {
	mu := &c.committed[uint32(k)%uint32(len(c.committed))]
	mu.Lock()
	if v > c.g.ledger.sent[k] {
		c.g.ledger.sent[k] = v
	}
	mu.Unlock()
}

// end counts a finished command; a failure that wrote nothing (notErr)
// is finished here, bypassing the append path's ambiguity bookkeeping.
func (c *commands) end(j *job, retries int, notErr error) {
	c.commandsDone.Add(1)
	c.retries.Add(int64(retries))
	for {
		m := c.maxRetried.Load()
		if int64(retries) <= m || c.maxRetried.CompareAndSwap(m, int64(retries)) {
			break
		}
	}
	if notErr != nil && j.state.CompareAndSwap(jobPending, jobIdle) {
		c.g.finish(j, notErr, time.Now(), true)
	}
}

// result is the result's concurrency section.
func (c *commands) result() *measure.Concurrency {
	if c == nil {
		return nil
	}
	r := &measure.Concurrency{
		WritersPerKey: c.writersPerKey, MaxRetries: c.maxRetries,
		Commands: c.commandsDone.Load(), Committed: c.committedN.Load(), Attempts: c.attempts.Load(),
		Conflicts: c.conflicts.Load(), Reloads: c.reloads.Load(), GaveUp: c.gaveUp.Load(),
		RetriesPerCommand: measure.RetryCount{Max: c.maxRetried.Load()},
	}
	if r.Attempts > 0 {
		r.ConflictRate = float64(r.Conflicts) / float64(r.Attempts)
	}
	if r.Commands > 0 {
		r.RetriesPerCommand.Mean = float64(c.retries.Load()) / float64(r.Commands)
	}
	return r
}
