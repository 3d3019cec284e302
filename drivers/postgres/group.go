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

// committer is the driver's group commit: appends queue here and one
// goroutine writes everything queued in one transaction, so concurrent
// writers share one COMMIT flush. The head-row lock serialises transactions
// anyway (see the package doc); grouping is what lets throughput grow with
// concurrency. FIFO order is kept, so AppendAsync calls from one goroutine
// land in call order.
type committer struct {
	d    *Driver
	mu   sync.Mutex
	q    []*request
	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	groups, events atomic.Int64 // for Stats
}

func newCommitter(d *Driver) *committer {
	c := &committer{d: d, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
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
	for i < len(c.q) && (i == 0 || n+len(c.q[i].batch) <= maxGroupEvents) {
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

// AppendAsync queues the batch for the next group commit and returns at
// once; done is called exactly once with the positions after COMMIT, or
// with an error. Calls from one goroutine are committed in call order.
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
	d.group.enqueue(&request{ctx: ctx, batch: batch, done: done})
}

// appendGrouped is Append through the group committer.
func (d *Driver) appendGrouped(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
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
// they carried: events/groups is the achieved group size.
func (d *Driver) GroupStats() (groups, events int64) {
	return d.group.groups.Load(), d.group.events.Load()
}
