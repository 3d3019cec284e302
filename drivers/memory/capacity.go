package memory

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/internal/pace"
)

// Capacity configures a simulated store of known capacity
// (memory://?capacity=EVENTS_PER_S&service=fixed|exp): a single-server
// FIFO queue, so the harness and the probe can be checked against a store
// whose maximum sustainable rate is known in advance.
//
// Each append of n events needs n service times; appends are served one
// at a time in arrival order, and an append completes at
//
//	completion = max(arrival, previous completion) + n service times
//
// Its events are stored (visible to Head and subscribers) and its done
// called (or Append returns) at that instant, not before.
type Capacity struct {
	// EventsPerSec is the server's rate: one service time is 1/EventsPerSec
	// on average. Zero means no simulation (the plain memory store).
	EventsPerSec float64
	// Exp draws every service time from an exponential distribution of
	// mean 1/EventsPerSec (an M/M/1-like server under Poisson load);
	// false (service=fixed, the default) makes each exactly 1/EventsPerSec.
	Exp bool
}

// Service names the service-time distribution: "fixed" or "exp".
func (c Capacity) Service() string {
	if c.Exp {
		return "exp"
	}
	return "fixed"
}

func (c Capacity) describe() string {
	return fmt.Sprintf("memory (simulated capacity %s events/s, %s service)",
		strconv.FormatFloat(c.EventsPerSec, 'f', -1, 64), c.Service())
}

// parseCapacity reads the capacity and service parameters; errors name the
// parameter and the fix (the caller adds the DSN).
func parseCapacity(capacity, service string, hasCapacity, hasService bool) (Capacity, error) {
	var c Capacity
	if !hasCapacity {
		if hasService {
			return c, fmt.Errorf("service=%s needs capacity: add capacity=EVENTS_PER_S (e.g. memory://?capacity=50000&service=%s)", service, service)
		}
		return c, nil
	}
	v, err := strconv.ParseFloat(capacity, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return c, fmt.Errorf("capacity %q: want events per second, a number > 0 (e.g. capacity=50000)", capacity)
	}
	if v > 1e9 {
		return c, fmt.Errorf("capacity %q: at most 1e9 events/s (a service time under 1 ns cannot be simulated)", capacity)
	}
	c.EventsPerSec = v
	switch service {
	case "", "fixed":
	case "exp":
		c.Exp = true
	default:
		return c, fmt.Errorf("service %q: want fixed (every service time 1/capacity) or exp (exponential, mean 1/capacity)", service)
	}
	return c, nil
}

// pending is one admitted append waiting for its completion.
type pending struct {
	at    float64 // completion, ns since the server's epoch
	batch []drivers.Event
	done  func([]drivers.Position, error)
}

// server simulates the queue. Completion instants are computed once, at
// admission, and are non-decreasing (FIFO), so a plain FIFO holds them; one
// completer goroutine (started when the queue fills, gone after it has
// been idle for idleExit) sleeps with a timerfd waiter until the head is
// due and completes everything due by then in one pass: no goroutine and
// no timer per append, and at high rates one wake completes many appends.
type server struct {
	cap   Capacity
	svcNS float64 // mean service time, ns
	s     *store
	epoch time.Time

	mu      sync.Mutex
	rng     *rand.Rand
	last    float64 // completion of the previous append, ns since epoch
	queue   []pending
	head    int
	running bool          // a completer goroutine exists
	kick    chan struct{} // wakes an idle completer
}

// idleExit is how long the completer waits for work with an empty queue
// before it exits (and releases its timerfd); the next append starts one.
const idleExit = 200 * time.Millisecond

func newServer(c Capacity, s *store) *server {
	return &server{cap: c, svcNS: 1e9 / c.EventsPerSec, s: s, epoch: time.Now(),
		rng: rand.New(rand.NewPCG(0x6576_6265_6e63_68, 13)), kick: make(chan struct{}, 1)}
}

// service is the total service time of n events, ns. Called with mu held.
func (q *server) service(n int) float64 {
	if !q.cap.Exp {
		return float64(n) * q.svcNS
	}
	var t float64
	for range n {
		t += q.rng.ExpFloat64()
	}
	return t * q.svcNS
}

// admit queues an append arriving now and returns its completion instant.
func (q *server) admit(batch []drivers.Event, done func([]drivers.Position, error)) float64 {
	arrival := float64(time.Since(q.epoch))
	q.mu.Lock()
	start := max(arrival, q.last)
	q.last = start + q.service(len(batch))
	at := q.last
	wasEmpty := q.head == len(q.queue)
	q.queue = append(q.queue, pending{at: at, batch: batch, done: done})
	switch {
	case !q.running:
		q.running = true
		go q.complete()
	case wasEmpty:
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
	q.mu.Unlock()
	return at
}

// complete is the completer goroutine.
func (q *server) complete() {
	w := pace.NewWaiter()
	defer w.Close()
	idle := time.NewTimer(idleExit)
	defer idle.Stop()
	var due []pending
	ctx := context.Background()
	for {
		q.mu.Lock()
		if q.head == len(q.queue) {
			q.queue, q.head = q.queue[:0], 0
			q.mu.Unlock()
			idle.Reset(idleExit)
			select {
			case <-q.kick:
				continue
			case <-idle.C:
			}
			q.mu.Lock()
			if q.head == len(q.queue) {
				q.running = false
				q.mu.Unlock()
				return
			}
			q.mu.Unlock()
			continue
		}
		next := q.queue[q.head].at
		now := float64(time.Since(q.epoch))
		if next > now {
			q.mu.Unlock()
			w.Until(ctx, q.epoch.Add(time.Duration(math.Ceil(next))))
			continue
		}
		k := q.head
		for k < len(q.queue) && q.queue[k].at <= now {
			k++
		}
		due = append(due[:0], q.queue[q.head:k]...)
		clear(q.queue[q.head:k])
		q.head = k
		if q.head > 1024 && q.head*2 > len(q.queue) { // compact under sustained overload
			n := copy(q.queue, q.queue[q.head:])
			clear(q.queue[n:])
			q.queue, q.head = q.queue[:n], 0
		}
		q.mu.Unlock()

		pos := make([][]drivers.Position, len(due))
		q.s.mu.Lock()
		for i := range due {
			pos[i] = q.s.appendLocked(due[i].batch)
		}
		q.s.wakeLocked()
		q.s.mu.Unlock()
		for i := range due {
			due[i].done(pos[i], nil)
		}
		clear(due)
	}
}

// appendSimulated admits the batch and calls done at its completion.
func (d *Driver) appendSimulated(ctx context.Context, batch []drivers.Event, done func([]drivers.Position, error)) {
	if err := ctx.Err(); err != nil {
		done(nil, err)
		return
	}
	if d.isClosed() {
		done(nil, errClosed)
		return
	}
	d.s.sim.admit(batch, done)
}

// appendSimulatedWait is the synchronous Append of a simulated store: it
// returns at the append's completion, or when ctx ends first (the append
// still completes later, as on a store that had accepted the request).
func (d *Driver) appendSimulatedWait(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	type result struct {
		pos []drivers.Position
		err error
	}
	ch := make(chan result, 1)
	d.appendSimulated(ctx, batch, func(pos []drivers.Position, err error) { ch <- result{pos, err} })
	select {
	case r := <-ch:
		return r.pos, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
