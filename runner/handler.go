package runner

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/patterns/inbox"
	"github.com/evbench/evbench/patterns/retry"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// handling is the run's consumer handling (consumers.inbox, redeliver,
// failure_rate, fail_types, retry, dlq, breaker, redrive): what every
// projector shares (the DLQ, the Postgres pool, the counters) and one
// consumerHandler per projector. A projector with handling passes each
// delivered event through: inbox check -> flaky handler -> read model,
// retried with backoff, gated by the breaker, dead-lettered when its tries
// are exhausted; and a fraction of deliveries is handed over again, as a
// broker redelivers after a lost acknowledgement.
type handling struct {
	cfg   scenarios.Consumers
	scope string // the run's ID, hex: names consumers and DLQ letters
	pool  *pgxpool.Pool
	dlq   retry.Sink
	// dlqDetail names where the letters go, for the result.
	dlqDetail string
	// inboxTable, modelTable and dlqTable name the Postgres tables ("" =
	// the defaults, evbench_inbox, evbench_read_model, evbench_dlq, in the
	// DSN's schema: add search_path=... to the DSN to move them).
	inboxTable, modelTable, dlqTable string

	consumers []*consumerHandler

	dupDelivered, dupDiscarded, dupApplied, applied atomic.Int64
	retries, retriedEvents, deadLettered, dlqErrors atomic.Int64
	redriven, redriveDuplicates, redriveFailed      atomic.Int64

	mu       sync.Mutex
	retryE2E *hdr.Histogram

	// final is consumer_handling as settled right after the redrive, while
	// the DLQ and the connections it may go over are still open.
	final *measure.ConsumerHandling
	// listErr is why the DLQ could not be read for it.
	listErr error
}

// openHandling prepares consumer handling before the load starts, so a
// Postgres that is unreachable or holds an inbox table of the wrong shape,
// or a store without the dead-letter queue consumers.dlq: store asks for,
// is an error before any event is sent. nil when the scenario asks for
// none. consumer is the consumers' connection: a store DLQ goes over it.
func openHandling(ctx context.Context, sc *scenarios.Scenario, runID [8]byte, seed uint64, consumer drivers.Driver) (*handling, error) {
	c := sc.Consumers
	if !c.Handling() {
		return nil, nil
	}
	h := &handling{cfg: c, scope: hex.EncodeToString(runID[:idRunBytes]), retryE2E: measure.NewHistogram()}
	if c.Inbox == scenarios.InboxPostgres || c.DLQ == scenarios.DLQPostgres {
		octx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		pool, err := pgxpool.New(octx, c.PostgresDSN)
		if err == nil {
			err = pool.Ping(octx)
		}
		if err != nil {
			if pool != nil {
				pool.Close()
			}
			msg := strings.Join(strings.Fields(drivers.Scrub(err.Error(), c.PostgresDSN)), " ") // pgx errors span lines
			return nil, fmt.Errorf("consumers.postgres_dsn: %s; start that Postgres or point consumers.postgres_dsn at a reachable one", msg)
		}
		h.pool = pool
	}
	switch c.DLQ {
	case scenarios.DLQPostgres:
		s, err := retry.NewPostgresSink(ctx, h.pool, h.dlqTable, h.scope)
		if err != nil {
			h.close()
			return nil, fmt.Errorf("consumers.dlq: %s", strings.TrimPrefix(err.Error(), "dlq: "))
		}
		h.dlq = s
		h.dlqDetail = "Postgres table " + cmp.Or(h.dlqTable, retry.DefaultDLQTable)
	case scenarios.DLQStore:
		s, err := openStoreDLQ(ctx, consumer, h.scope)
		if err != nil {
			h.close()
			return nil, err
		}
		h.dlq, h.dlqDetail = s, s.Describe()
	default:
		h.dlq = retry.NewMemorySink()
		h.dlqDetail = "in memory (lost with the process)"
	}
	for i := 0; i < c.Projectors; i++ {
		if err := h.addConsumer(ctx, i, seed); err != nil {
			h.close()
			return nil, err
		}
	}
	return h, nil
}

// openStoreDLQ opens the store's own dead-letter queue on the consumers'
// connection, for the run's letters only.
func openStoreDLQ(ctx context.Context, consumer drivers.Driver, scope string) (*retry.StoreSink, error) {
	dl, ok := consumer.(drivers.DeadLetterer)
	if !ok {
		return nil, refused(fmt.Errorf("consumers.dlq: store: the connection (%T) keeps no dead-letter queue; use consumers.dlq: memory or postgres", consumer))
	}
	q, err := dl.DeadLetters(ctx, scope)
	if err != nil {
		err = fmt.Errorf("consumers.dlq: store: %w", err)
		if errors.Is(err, drivers.ErrUnsupported) {
			err = refused(err)
		}
		return nil, err
	}
	return retry.NewStoreSink(q), nil
}

// forProjector is projector id's handler (nil without handling), with the
// run's start for the failure windows.
func (h *handling) forProjector(id int, start time.Time) *consumerHandler {
	if h == nil || id >= len(h.consumers) {
		return nil
	}
	c := h.consumers[id]
	c.start = start
	return c
}

// redriveDLQ replays the DLQ after the projectors stopped, when the
// scenario asks for it and the run was not interrupted.
func (r *run) redriveDLQ(ctx context.Context) {
	if r.handling == nil || !r.sc.Consumers.Redrive || ctx.Err() != nil {
		return
	}
	if err := r.handling.redriveAll(ctx, r.projs); err != nil {
		r.errs.add("redrive", err, 1)
		r.cfg.Logf("%v", err)
	}
}

// addConsumer makes projector id's handler: its own inbox, breaker, retry
// jitter, failure draws and redelivery draws, all seeded from seed.
func (h *handling) addConsumer(ctx context.Context, id int, seed uint64) error {
	c := h.cfg
	ch := &consumerHandler{h: h, id: id, name: h.scope + "/projector-" + strconv.Itoa(id),
		rng: rand.New(rand.NewPCG(seed, uint64(id)+1))}
	switch c.Inbox {
	case scenarios.InboxMemory:
		ch.inbox = inbox.NewMemory()
	case scenarios.InboxPostgres:
		in, err := inbox.NewPostgres(ctx, h.pool, inbox.PostgresOptions{Consumer: ch.name, InboxTable: h.inboxTable, ReadModelTable: h.modelTable})
		if err != nil {
			return fmt.Errorf("consumers.inbox: %s", strings.TrimPrefix(err.Error(), "inbox: "))
		}
		ch.inbox = in
	}
	pol := retry.Policy{Attempts: 1}
	if r := c.Retry; r != nil {
		pol = retry.Policy{Attempts: r.Attempts, Backoff: r.Backoff.D(), MaxBackoff: r.MaxBackoff.D()}
	}
	if b := c.Breaker; b != nil {
		ch.breaker = retry.NewBreaker(retry.BreakerConfig{Threshold: b.Threshold, Window: b.Window.D(), Cooldown: b.Cooldown.D(), MinCalls: b.MinCalls})
	}
	ch.exec = retry.NewExecutor(pol, ch.breaker, h.dlq, seed^uint64(id)<<32)
	if c.FailureRate > 0 || len(c.FailTypes) > 0 {
		var during []retry.Window
		for _, w := range c.FailDuring {
			during = append(during, retry.Window{From: w.At.D(), To: w.At.D() + w.For.D()})
		}
		ch.flaky = retry.NewFlaky(c.FailureRate, c.FailTypes, during, seed+uint64(id)*7919)
	}
	h.consumers = append(h.consumers, ch)
	return nil
}

func (h *handling) close() {
	if h == nil {
		return
	}
	for _, c := range h.consumers {
		if c.inbox != nil {
			c.inbox.Close()
		}
	}
	if h.dlq != nil {
		h.dlq.Close()
	}
	if h.pool != nil {
		h.pool.Close()
	}
}

// consumerHandler is one projector's handling.
type consumerHandler struct {
	h       *handling
	id      int
	name    string
	start   time.Time
	inbox   inbox.Inbox // nil: none, every delivery is applied
	exec    *retry.Executor
	breaker *retry.Breaker
	flaky   *retry.Flaky // nil: the handler never fails
	rng     *rand.Rand   // redelivery draws; the projector's goroutine only
}

// redeliver draws whether this delivery is handed over a second time.
func (c *consumerHandler) redeliver() bool {
	r := c.h.cfg.Redeliver
	return r > 0 && c.rng.Float64() < r
}

// result is what became of one delivery.
type handled struct {
	applied   bool // the read model must apply it now
	discarded bool // the inbox recognised a redelivery
	attempts  int
}

// process runs one delivery through inbox, handler and retries. The caller
// applies it to the read model when applied is set. again says the
// projector was handed this event before.
func (c *consumerHandler) process(ctx context.Context, d *drivers.Delivered, key, seq uint64, again bool) handled {
	h := c.h
	if again {
		h.dupDelivered.Add(1)
	}
	msg := inbox.Message{ID: d.ID, Key: d.Key, KeyIndex: key, Seq: seq}
	var discarded bool
	attempt := func(int) error {
		handler := func() error { return c.flaky.Check(d.Type, time.Since(c.start)) }
		if c.inbox == nil {
			discarded = false
			return handler()
		}
		var err error
		discarded, err = c.inbox.Process(ctx, msg, handler)
		return err
	}
	letter := retry.Letter{Consumer: c.name, ID: d.ID, Key: d.Key, Seq: seq, Type: d.Type, Payload: d.Payload, CreatedAt: d.CreatedAt}
	out := c.exec.Do(ctx, letter, attempt)
	if out.Attempts > 1 {
		h.retries.Add(int64(out.Attempts - 1))
		h.retriedEvents.Add(1)
	}
	if out.Err != nil {
		if out.DeadLettered {
			h.deadLettered.Add(1)
		} else {
			h.dlqErrors.Add(1)
		}
		return handled{attempts: out.Attempts}
	}
	if discarded {
		h.dupDiscarded.Add(1)
		return handled{discarded: true, attempts: out.Attempts}
	}
	return handled{applied: true, attempts: out.Attempts}
}

// redrive replays one letter through the repaired handler (no injected
// failures: the fix was deployed) and the inbox.
func (c *consumerHandler) redrive(ctx context.Context, l retry.Letter, key uint64) (apply bool, err error) {
	if c.inbox == nil {
		return true, nil
	}
	dup, err := c.inbox.Process(ctx, inbox.Message{ID: l.ID, Key: l.Key, KeyIndex: key, Seq: l.Seq}, func() error { return nil })
	if err != nil {
		return false, err
	}
	if dup {
		c.h.redriveDuplicates.Add(1)
		return false, nil
	}
	return true, nil
}

// recordRetryE2E adds the e2e latency of an event applied after retries.
func (h *handling) recordRetryE2E(d time.Duration) {
	h.mu.Lock()
	h.retryE2E.RecordValue(max(int64(d), measure.HistLowest))
	h.mu.Unlock()
}

// redriveAll takes every letter from the DLQ after the projectors stopped
// and applies it through its projector's handler; a letter that fails again
// goes back to the DLQ.
func (h *handling) redriveAll(ctx context.Context, projs []*projector) error {
	letters, takeErr := h.dlq.Take(ctx)
	if takeErr != nil && len(letters) == 0 {
		return fmt.Errorf("redrive: %w", takeErr)
	}
	byName := map[string]*projector{}
	for _, p := range projs {
		if p.handler != nil {
			byName[p.handler.name] = p
		}
	}
	var errs []error
	for _, l := range letters {
		p := byName[l.Consumer]
		if p == nil {
			// Not this run's projector (a letter can only name one): back
			// where it was, never dropped.
			h.redriveFailed.Add(1)
			if perr := h.dlq.Put(ctx, l); perr != nil {
				errs = append(errs, perr)
			}
			errs = append(errs, fmt.Errorf("letter %x names consumer %q, which is none of this run's projectors", l.ID, l.Consumer))
			continue
		}
		key, seq := decodeID(&l.ID)
		apply, err := p.handler.redrive(ctx, l, key)
		if err != nil {
			h.redriveFailed.Add(1)
			if perr := h.dlq.Put(ctx, l); perr != nil {
				errs = append(errs, perr)
			}
			errs = append(errs, err)
			continue
		}
		if apply && p.applyRedriven(key, seq) {
			h.redriven.Add(1)
		}
	}
	if takeErr != nil {
		errs = append(errs, takeErr) // the letters taken before it were redriven
	}
	if len(errs) > 0 {
		return fmt.Errorf("redrive: %d error(s): %w", len(errs), errs[0])
	}
	return nil
}

// settleHandling computes consumer_handling once the projectors stopped
// and the redrive is over: the letters still waiting are read from the DLQ
// now, before the run closes it (and, for a store DLQ, the consumers'
// connection).
func (r *run) settleHandling() {
	h := r.handling
	if h == nil || h.final != nil {
		return
	}
	end := r.end
	if end.IsZero() {
		end = time.Now()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.final, h.listErr = h.result(ctx, r.projs, r.start, end)
}

// result fills consumer_handling after the projectors stopped. notApplied
// counts distinct delivered events the read models lack; waiting are the
// letters still in the DLQ whose event the read model lacks. When the DLQ
// cannot be read, its letters cannot be told from lost events, so none is
// called unaccounted and the error says why.
func (h *handling) result(ctx context.Context, projs []*projector, start, end time.Time) (*measure.ConsumerHandling, error) {
	c := h.cfg
	out := &measure.ConsumerHandling{Inbox: c.Inbox, DLQ: c.DLQ, DLQDetail: h.dlqDetail, Redeliver: c.Redeliver, FailureRate: c.FailureRate,
		DuplicatesDelivered: h.dupDelivered.Load(), DuplicatesDiscarded: h.dupDiscarded.Load(), DuplicatesApplied: h.dupApplied.Load(),
		Applied: h.applied.Load(), Retries: h.retries.Load(), RetriedEvents: h.retriedEvents.Load(),
		DeadLettered: h.deadLettered.Load(), DLQErrors: h.dlqErrors.Load(),
		Redriven: h.redriven.Load(), RedriveDuplicates: h.redriveDuplicates.Load(), RedriveFailed: h.redriveFailed.Load()}
	h.mu.Lock()
	out.RetryE2E = measure.Summarize(h.retryE2E)
	h.mu.Unlock()

	waiting := map[string]map[[2]uint64]bool{}
	ls, listErr := h.dlq.List(ctx)
	if listErr == nil {
		for _, l := range ls {
			key, seq := decodeID(&l.ID)
			if waiting[l.Consumer] == nil {
				waiting[l.Consumer] = map[[2]uint64]bool{}
			}
			waiting[l.Consumer][[2]uint64{key, seq}] = true
		}
	}
	for _, p := range projs {
		if p.handler == nil {
			continue
		}
		missing, explained := p.notApplied(waiting[p.handler.name])
		out.NotApplied += missing
		if listErr == nil {
			out.Unaccounted += missing - explained
		}
		if p.handler.breaker == nil {
			continue
		}
		ts := p.handler.breaker.Transitions()
		for _, t := range ts {
			out.BreakerTransitions = append(out.BreakerTransitions, measure.BreakerTransition{Projector: p.id,
				AtS: round3(t.At.Sub(start).Seconds()), From: string(t.From), To: string(t.To)})
		}
		for _, pd := range retry.OpenPeriods(ts, end) {
			out.BreakerOpens++
			s, e := pd.Start.Sub(start).Seconds(), pd.End.Sub(start).Seconds()
			out.BreakerOpenS += e - s
			label := "breaker open"
			if len(projs) > 1 {
				label += " (projector " + strconv.Itoa(p.id) + ")"
			}
			out.BreakerPauses = append(out.BreakerPauses, measure.Window{Label: label, StartS: round3(s), EndS: round3(e)})
		}
	}
	out.BreakerOpenS = round3(out.BreakerOpenS)
	if listErr != nil {
		listErr = fmt.Errorf("the %s DLQ could not be read after the run, so the letters waiting there are not told apart from lost events (consumers.unaccounted is not counted): %w", c.DLQ, listErr)
	}
	return out, listErr
}

// fillHandling adds consumer_handling to the result, the breaker pauses to
// the plots' windows, and notes for what needs explaining.
func (r *run) fillHandling(res *measure.Result) {
	h := r.handling
	if h == nil {
		return
	}
	r.settleHandling() // a run that ended before its drain: the DLQ may be closed by now
	ch := h.final
	res.ConsumerHandling = ch
	if h.listErr != nil {
		res.Notes = append(res.Notes, h.listErr.Error())
	}
	res.Series.Pauses = append(res.Series.Pauses, ch.BreakerPauses...)
	if ch.NotApplied > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d delivered event(s) were dead-lettered and not redriven: the read model lacks them (consumers.not_applied; set consumers.redrive: true or gate consumers.not_applied == 0 to fail on them)", ch.NotApplied))
	}
	if ch.Unaccounted > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d delivered event(s) were neither applied nor in the DLQ (consumers.unaccounted)", ch.Unaccounted))
	}
	if ch.DLQErrors > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d dead letter(s) could not be written to the %s DLQ", ch.DLQErrors, ch.DLQ))
	}
	if why := ch.Failure(); why != "" {
		res.Delivery.OK = false
		res.Delivery.Failures = append(res.Delivery.Failures, "consumer handling: "+why)
	}
}
