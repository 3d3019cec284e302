package runner

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/evbench/evbench/chaos"
	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/internal/pace"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// CheckDurable refuses consumers.durable on a driver whose consumers
// cannot resume from commits in the store (drivers.DurableSubscriber),
// before anything starts.
func CheckDurable(reg drivers.Registration, sc *scenarios.Scenario) error {
	if sc.Consumers.Durable != nil && !reg.DurableConsumers {
		return fmt.Errorf("consumers.durable: driver %s has no durable consumers (Kafka consumer groups, NATS durables: --driver kafka, nats or memory); remove consumers.durable and consumer-restart faults", reg.Name)
	}
	return nil
}

// durableConsumer is a projector's durable subscription: the group it
// reads through, the commit policy, and the consumer-restart faults it
// went through. The projector's cursor still tracks what it applied (lag
// is measured from it), but a session starts from what the group
// committed, never from that cursor.
type durableConsumer struct {
	sub    drivers.DurableSubscriber
	group  string
	policy drivers.CommitPolicy
	ledger *ledger
	start  time.Time
	pos    func() drivers.Cursor // the projector's cursor

	mu       sync.Mutex
	cancel   context.CancelCauseFunc // the running session's; nil between sessions
	down     chan struct{}           // non-nil while a restart keeps the projector down
	restarts []*consumerRestart
}

// consumerRestart is one kill and restart, as measured.
type consumerRestart struct {
	at        time.Time
	down      time.Duration
	from      drivers.Cursor // where the killed session had got to; nil until it ended
	restarted time.Time      // when the next session began
	first     time.Time      // its first delivery
	seen      map[int32]bool // partitions delivered since the restart
	replayed  int64
	lost      int64
}

// checkDurableConsumer refuses consumers.durable when the
// consumer connection cannot resume (a registration that claims more than
// its driver does).
func (r *run) checkDurableConsumer(consumer drivers.Driver) error {
	if r.sc.Consumers.Durable == nil {
		return nil
	}
	if _, ok := consumer.(drivers.DurableSubscriber); !ok {
		return refused(fmt.Errorf("consumers.durable: driver %s's connection (%T) implements no drivers.DurableSubscriber; remove consumers.durable", r.cfg.Driver, consumer))
	}
	return nil
}

// durableGroup is projector i's group: consumers.durable.group (default
// evbench-<run id>) and the projector's index, so every projector reads
// everything (one shared group would split the partitions between them).
func (r *run) durableGroup(i int) string {
	base := r.sc.Consumers.Durable.Group
	if base == "" {
		base = "evbench-" + hex.EncodeToString(r.ledger.runID[:6])
	}
	return base + "-p" + strconv.Itoa(i)
}

// durableFor makes projector p a durable consumer when the scenario asks
// for one (checkDurableConsumer checked the capability).
func (r *run) durableFor(p *projector, consumer drivers.Driver) {
	d := r.sc.Consumers.Durable
	sub, ok := consumer.(drivers.DurableSubscriber)
	if d == nil || !ok {
		return
	}
	p.durable = &durableConsumer{sub: sub, group: r.durableGroup(p.id), ledger: r.ledger, start: r.start, pos: p.position,
		policy: drivers.CommitPolicy{Events: d.CommitEvery, Interval: d.CommitInterval.D()}}
}

// subscribe runs one subscription of the projector: from its cursor, or
// through its durable group.
func (p *projector) subscribe(ctx context.Context, from drivers.Cursor) error {
	if p.durable == nil {
		return p.drv.Subscribe(ctx, from, p.apply)
	}
	return p.durable.run(ctx, p.apply)
}

// run subscribes through the group until ctx ends, starting again after
// every kill (once the restart's down time is over). Like Subscribe it
// returns nil when ctx ends.
func (d *durableConsumer) run(ctx context.Context, apply func([]drivers.Delivered) error) error {
	deliver := func(b []drivers.Delivered) error {
		d.observe(b)
		return apply(b)
	}
	for {
		d.mu.Lock()
		wait := d.down
		d.mu.Unlock()
		if wait != nil {
			select {
			case <-wait:
			case <-ctx.Done():
				return nil
			}
		}
		sctx, cancel := context.WithCancelCause(ctx)
		d.mu.Lock()
		d.cancel = cancel
		if rc := d.last(); rc != nil && rc.from != nil && rc.restarted.IsZero() {
			rc.restarted = time.Now()
		}
		d.mu.Unlock()
		err := d.sub.SubscribeDurable(sctx, d.group, d.policy, deliver)
		crashed := drivers.Crashed(sctx)
		cancel(nil)
		at := d.pos()
		d.mu.Lock()
		d.cancel = nil
		if rc := d.last(); crashed && rc != nil && rc.from == nil {
			rc.from = at
		}
		d.mu.Unlock()
		if !crashed || ctx.Err() != nil {
			return err
		}
	}
}

// last is the latest restart (nil: none); d.mu is held.
func (d *durableConsumer) last() *consumerRestart {
	if n := len(d.restarts); n > 0 {
		return d.restarts[n-1]
	}
	return nil
}

// kill ends the running session as a crash would (no final commit) and
// keeps the projector down for down; release lets it start again.
func (d *durableConsumer) kill(down time.Duration) {
	d.mu.Lock()
	rc := &consumerRestart{at: time.Now(), down: down, seen: map[int32]bool{}}
	d.restarts = append(d.restarts, rc)
	if down > 0 {
		d.down = make(chan struct{})
	}
	cancel := d.cancel
	if cancel == nil {
		rc.from = d.pos() // between sessions (paused): nothing to end
	}
	d.mu.Unlock()
	if cancel != nil {
		cancel(drivers.ErrConsumerCrash)
	}
}

func (d *durableConsumer) release() {
	d.mu.Lock()
	if d.down != nil {
		close(d.down)
		d.down = nil
	}
	d.mu.Unlock()
}

// observe counts, for the latest restart, the events delivered again
// (this run's events at positions the killed session had reached) and the
// positions skipped at the resume.
func (d *durableConsumer) observe(batch []drivers.Delivered) {
	d.mu.Lock()
	defer d.mu.Unlock()
	rc := d.last()
	if rc == nil || rc.restarted.IsZero() {
		return
	}
	if rc.first.IsZero() {
		rc.first = time.Now()
	}
	for i := range batch {
		ev := &batch[i]
		if !d.ledger.ours(&ev.ID) {
			continue
		}
		part, off := ev.Position.Partition, ev.Position.Offset
		reached := rc.from[part]
		if off < reached {
			rc.replayed++
		}
		if !rc.seen[part] {
			rc.seen[part] = true
			if off > reached {
				rc.lost += off - reached
			}
		}
	}
}

// runConsumerRestarts carries out the consumer-restart faults on the
// run's clock, one after the other.
func (r *run) runConsumerRestarts(ctx context.Context) {
	faults := chaos.ConsumerFaults(r.sc.Faults)
	sort.SliceStable(faults, func(i, j int) bool { return faults[i].At < faults[j].At })
	for _, f := range faults {
		if !pace.SleepUntil(ctx, r.start.Add(f.At.D())) {
			return
		}
		n, _ := scenarios.RestartProjector(f)
		if n < 0 || n >= len(r.projs) || r.projs[n].durable == nil {
			r.cfg.Logf("consumer-restart at %v: projector %d is not a durable consumer; skipped", f.At, n)
			continue
		}
		d := r.projs[n].durable
		d.kill(f.For.D())
		r.cfg.Logf("consumer-restart: projector %d (group %s) killed at %v, down for %v", n, d.group, f.At, f.For)
		ok := f.For <= 0 || pace.SleepUntil(ctx, r.start.Add(f.At.D()+f.For.D()))
		d.release()
		if !ok {
			return
		}
	}
}

// consumerRestartResults fills consumer_restarts and a fault window per
// restart (path consumer, so catch-up is measured after it).
func (r *run) consumerRestartResults(res *measure.Result) {
	end := r.end
	if end.IsZero() {
		end = time.Now()
	}
	for _, p := range r.projs {
		d := p.durable
		if d == nil {
			continue
		}
		d.mu.Lock()
		for _, rc := range d.restarts {
			c := measure.ConsumerRestart{AtS: round3(rc.at.Sub(r.start).Seconds()), DownS: round3(rc.down.Seconds()),
				Projector: p.id, Group: d.group, Replayed: rc.replayed, Lost: rc.lost,
				CommitEvery: d.policy.Events, CommitIntervalS: d.policy.Interval.Seconds()}
			restart := rc.at.Add(rc.down)
			if !rc.restarted.IsZero() {
				restart = rc.restarted
			}
			if c.Resumed = !rc.first.IsZero(); c.Resumed {
				c.ResumeS = round3(rc.first.Sub(restart).Seconds())
			} else {
				c.ResumeS = round3(max(end.Sub(restart).Seconds(), 0))
			}
			res.ConsumerRestarts = append(res.ConsumerRestarts, c)
			res.Faults = append(res.Faults, measure.FaultWindow{Kind: scenarios.KindConsumerRestart, Path: chaos.PathConsumer,
				AtS: c.AtS, ForS: c.DownS, Params: map[string]any{"projector": p.id, "group": d.group}})
		}
		d.mu.Unlock()
	}
	if len(res.ConsumerRestarts) == 0 {
		return
	}
	sort.SliceStable(res.ConsumerRestarts, func(i, j int) bool { return res.ConsumerRestarts[i].AtS < res.ConsumerRestarts[j].AtS })
	sort.SliceStable(res.Faults, func(i, j int) bool { return res.Faults[i].AtS < res.Faults[j].AtS })
	res.Notes = append(res.Notes, "consumer-restart replays by design what a durable projector had not committed: the replays are counted as duplicates (at-least-once), consumer_restarts says how many per restart")
}
