package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/jackc/pgx/v5/pgconn"
)

// maxGroupEvents caps how many events one group-commit transaction takes
// (a single larger Append still goes through alone).
const maxGroupEvents = 5000

// groupTimeout bounds one group transaction, so a partitioned server fails
// the waiting appends instead of hanging them.
const groupTimeout = 30 * time.Second

// request is one queued append.
type request struct {
	ctx   context.Context
	batch []drivers.Event
	done  func([]drivers.Position, error)
}

// committer is one append queue with one goroutine running its
// transactions, one at a time, in FIFO order, so AppendAsync calls from one
// goroutine land in call order.
//
// With group_commit=on the driver has one committer, which writes
// everything queued in one transaction, so concurrent writers share one
// COMMIT flush. The head-row lock serialises transactions anyway (see the
// package doc); grouping is what lets throughput grow with concurrency.
//
// With group_commit=off the driver has one single committer per pool
// connection (a lane), each taking one request per transaction, and routes
// every key to one lane (Driver.lane). See Driver.AppendAsync for why.
type committer struct {
	d      *Driver
	single bool // one request per transaction (group_commit=off)
	mu     sync.Mutex
	q      []*request
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}

	groups, events atomic.Int64 // for Stats
}

func newCommitter(d *Driver, single bool) *committer {
	c := &committer{d: d, single: single, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// enqueue adds r; it fails r at once when the driver is closing.
func (c *committer) enqueue(r *request) {
	c.mu.Lock()
	select {
	case <-c.stop:
		c.mu.Unlock()
		r.done(nil, errClosed)
		return
	default:
	}
	c.q = append(c.q, r)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take removes the next group from the queue.
func (c *committer) take() []*request {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, i := 0, 0
	for i < len(c.q) && (i == 0 || !c.single && n+len(c.q[i].batch) <= maxGroupEvents) {
		n += len(c.q[i].batch)
		i++
	}
	group := append([]*request(nil), c.q[:i]...)
	c.q = c.q[i:]
	return group
}

func (c *committer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.wake:
		case <-c.stop:
			c.drain()
			return
		}
		for {
			group := c.take()
			if len(group) == 0 {
				break
			}
			c.commit(group)
		}
	}
}

// drain fails whatever is still queued at Close.
func (c *committer) drain() {
	for _, r := range c.take() {
		r.done(nil, errClosed)
	}
	c.mu.Lock()
	rest := c.q
	c.q = nil
	c.mu.Unlock()
	for _, r := range rest {
		r.done(nil, errClosed)
	}
}

// commit writes one group. Requests whose context ended while queued fail
// with that error and are left out. The transaction is cancelled only when
// every caller has given up (or after groupTimeout).
func (c *committer) commit(group []*request) {
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done(nil, fmt.Errorf("postgres: append: %w", err))
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	var waiting atomic.Int32
	waiting.Store(int32(len(live)))
	for _, r := range live {
		stop := context.AfterFunc(r.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
		defer stop()
	}
	var all []drivers.Event
	if len(live) == 1 {
		all = live[0].batch
	} else {
		for _, r := range live {
			all = append(all, r.batch...)
		}
	}
	pos, err := c.d.appendNow(ctx, all)
	c.groups.Add(1)
	c.events.Add(int64(len(all)))
	var pgErr *pgconn.PgError
	if err != nil && len(live) > 1 && errors.As(err, &pgErr) && ctx.Err() == nil {
		// The server refused the group (e.g. a non-JSON payload into
		// jsonb): the transaction rolled back, so retry each request alone
		// and fail only the one at fault.
		for _, r := range live {
			p, err := c.d.appendNow(ctx, r.batch)
			r.done(p, err)
		}
		return
	}
	off := 0
	for _, r := range live {
		if err != nil {
			r.done(nil, err)
			continue
		}
		r.done(pos[off:off+len(r.batch):off+len(r.batch)], nil)
		off += len(r.batch)
	}
}

// close stops the committer after the group in flight.
func (c *committer) close() {
	c.mu.Lock()
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.mu.Unlock()
	<-c.done
}

// AppendAsync queues the batch and returns at once; done is called exactly
// once with the positions after COMMIT, or with an error. Calls from one
// goroutine are committed in call order per key (in call order overall
// with group_commit=on), and an Append after them waits its turn too.
//
// With group_commit=on the batch joins the next group transaction. With
// group_commit=off it is its own transaction, run by the lane its key maps
// to (one lane per pool connection, each one transaction at a time):
//   - One transaction per append, in `evbench run` too: the runner prefers
//     AppendAsync, so queueing into the group committer here made
//     group_commit=off a no-op in runs.
//   - Per-key order: a key's appends never overlap. Running them
//     concurrently on pooled connections would let a later append of a key
//     take the head lock, and so its positions, before an earlier one.
//   - Bounded concurrency: at most one transaction per lane, so never more
//     than the pool holds; the rest wait in their lane's queue. The
//     harness's in-flight window still bounds what is queued, and the
//     queueing shows in commit latency, where it belongs: transactions
//     serialise on the head lock anyway.
//
// Not offering AppendAsync with group_commit=off would keep order too (the
// runner's worker pool runs one Append per key at a time), but would make
// the in-flight window and the generator's path differ by DSN parameter.
func (d *Driver) AppendAsync(ctx context.Context, batch []drivers.Event, done func([]drivers.Position, error)) {
	if err := ctx.Err(); err != nil {
		done(nil, fmt.Errorf("postgres: append: %w", err))
		return
	}
	if d.closed.Load() {
		done(nil, errClosed)
		return
	}
	if len(batch) == 0 {
		done(nil, nil)
		return
	}
	c, spans := d.lane(batch)
	if len(d.lanes) > 1 {
		done = d.ordered(done, spans)
	}
	c.enqueue(&request{ctx: ctx, batch: batch, done: done})
}

// lane returns the committer for batch (the only one with group_commit=on,
// else the lane its first event's key hashes to) and whether the batch's
// keys hash to more than one lane. The generator's batches hold one key
// each; a batch spanning lanes is ordered by the router (see ordered).
func (d *Driver) lane(batch []drivers.Event) (c *committer, spans bool) {
	i, spans := d.route.Pick(batch)
	return d.lanes[i], spans
}

// ordered makes an append hold the router's order until done (see
// keyroute: shared for a batch in one lane, exclusive for a batch spanning
// several).
func (d *Driver) ordered(done func([]drivers.Position, error), spans bool) func([]drivers.Position, error) {
	d.route.Acquire(spans)
	return func(p []drivers.Position, err error) { d.route.Release(spans); done(p, err) }
}

// appendQueued is Append through the key's committer.
func (d *Driver) appendQueued(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	type result struct {
		pos []drivers.Position
		err error
	}
	ch := make(chan result, 1)
	d.AppendAsync(ctx, batch, func(p []drivers.Position, err error) { ch <- result{p, err} })
	select {
	case r := <-ch:
		return r.pos, r.err
	case <-ctx.Done():
		// The group may still commit it: an ambiguous append, as the
		// contract allows.
		return nil, fmt.Errorf("postgres: append: %w", ctx.Err())
	}
}

// GroupStats reports how many group transactions ran and how many events
// they carried: events/groups is the achieved group size (with
// group_commit=off every append is a group of its own).
func (d *Driver) GroupStats() (groups, events int64) {
	for _, c := range d.lanes {
		groups += c.groups.Load()
		events += c.events.Load()
	}
	return groups, events
}

// Commits is how many append transactions committed: one per append with
// group_commit=off, one per group with group_commit=on (retries that only
// found stored IDs commit nothing).
func (d *Driver) Commits() int64 { return d.commits.Load() }
