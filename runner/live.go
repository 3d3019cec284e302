package runner

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evbench/evbench/internal/pace"
	"github.com/evbench/evbench/live"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// liveFeed assembles a live.Snapshot once a second from the run's
// counters, the recorders' latest closed interval and the lag sampler.
// It reads only atomics and small locked summaries: the generator's hot
// path never waits for it.
type liveFeed struct {
	r     *run
	phase atomic.Pointer[string]

	// mu serialises publish: the ticker and phase changes both publish,
	// and sinks must see snapshots in order.
	mu sync.Mutex

	// The previous tick's counters, for per-second rates.
	prevAt                         time.Duration
	prevAcked, prevLate, prevSched int64
	prevWindowFull                 int64
	durability                     string
}

var latencyBoundsNs = func() []int64 {
	out := make([]int64, len(live.LatencyBounds))
	for i, s := range live.LatencyBounds {
		out[i] = int64(s * 1e9)
	}
	return out
}()

func newLiveFeed(r *run, res *measure.Result) *liveFeed {
	f := &liveFeed{r: r, durability: "unknown"}
	if res.Durability != nil && res.Durability.AckAfterFsync != "" {
		f.durability = res.Durability.AckAfterFsync
	}
	f.setPhase(live.PhaseSetup)
	return f
}

func (f *liveFeed) setPhase(p string) { f.phase.Store(&p) }

// publish sends one snapshot now (phase changes are published at once, so
// a display shows "drain" or "rebuild" without waiting for the tick).
func (f *liveFeed) publish() {
	if f.r.cfg.Live == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.r.cfg.Live.Publish(f.snapshot(time.Now()))
}

// run publishes once a second until ctx ends, on the run's clock just
// after the recorders close each 1 s interval, so every snapshot carries
// the percentiles of the second that just ended.
func (f *liveFeed) run(ctx context.Context) {
	for sec := 1; ; sec++ {
		if !pace.SleepUntil(ctx, f.r.start.Add(time.Duration(sec)*time.Second+liveLag)) {
			return
		}
		f.publish()
	}
}

// liveLag is how long after an interval boundary a snapshot is taken:
// enough for rollIntervals to have closed the interval.
const liveLag = 50 * time.Millisecond

func (f *liveFeed) snapshot(now time.Time) live.Snapshot {
	r, g := f.r, f.r.gen
	elapsed := now.Sub(r.start)
	s := live.Snapshot{
		Scenario: r.sc.Name, Driver: r.cfg.Driver, Durability: f.durability,
		Phase: *f.phase.Load(), Elapsed: max(elapsed, 0), Total: r.sched.Duration(),
		Stage: stageText(r.sc.Load, elapsed),
	}
	if s.Phase == live.PhaseLoad && elapsed < warmupLength(r.sc.Load) {
		s.Phase = live.PhaseWarmup
	}
	if g != nil {
		s.Scheduled, s.Sent, s.Acked, s.Failed = g.scheduled.Load(), g.sent.Load(), g.acked.Load(), g.failed.Load()
		s.Retried, s.GaveUp, s.Late = g.retried.Load(), g.gaveUp.Load(), g.late.Load()
		s.InFlight = g.busy.Load()
		windowFull := g.windowFull.Load()
		if dt := (elapsed - f.prevAt).Seconds(); dt > 0 {
			s.AchievedRate = float64(s.Acked-f.prevAcked) / dt
			if s.Phase == live.PhaseLoad || s.Phase == live.PhaseWarmup {
				s.OfferedRate = (r.sched.CountAt(elapsed) - r.sched.CountAt(f.prevAt)) / dt
			}
			if n := s.Scheduled - f.prevSched; n > 0 {
				late := float64(s.Late-f.prevLate) / float64(n)
				if late > measure.ClientLateFraction && windowFull == f.prevWindowFull {
					s.ClientLimited = true
					s.ClientReason = fmt.Sprintf("%.3g%% of the last second's events were sent late with the in-flight window not full: evbench could not keep up", 100*late)
				}
			}
		}
		f.prevAt, f.prevAcked, f.prevLate, f.prevSched, f.prevWindowFull = elapsed, s.Acked, s.Late, s.Scheduled, windowFull
	}
	if r.commit != nil {
		if c, ok := r.commit.Last(); ok {
			s.CommitP50, s.CommitP99 = c.P50, c.P99
		}
		if e, ok := r.e2e.Last(); ok {
			s.E2EP99 = e.P99
		}
		s.Histograms = map[string]live.Histogram{}
		for _, rec := range []*measure.Recorder{r.commit, r.service, r.e2e} {
			counts, n, sum := rec.Cumulative(latencyBoundsNs)
			s.Histograms[rec.Name()] = live.Histogram{Bounds: live.LatencyBounds, Counts: counts, Count: n, Sum: sum / 1e9}
		}
	}
	if r.sampler != nil {
		if l, ok := r.sampler.last(); ok {
			s.Lag = l.lag
		}
	}
	for _, p := range r.projs {
		s.Delivered += p.delivered.Load()
		s.Misrouted += p.misrouted.Load()
	}
	for _, ft := range r.sc.Faults {
		at, end := ft.At.D(), ft.At.D()+ft.For.D()
		if elapsed >= at && elapsed < end {
			path := ft.Path
			if path == "" && scenarios.IsPathless(ft) {
				path = "consumer"
			} else if path == "" {
				path = "store"
			}
			s.Faults = append(s.Faults, live.Fault{Kind: ft.Kind, Path: path, Started: at, Remaining: end - elapsed})
		}
	}
	if r.outages != nil {
		s.Outages, s.OutagesClosed = r.outages.live(r.start)
	}
	s.Errors = r.errs.sum()
	return s
}

// stageText names the load stage at t: "stage 2/3: 500 -> 2000/s".
func stageText(l scenarios.Load, t time.Duration) string {
	if len(l.Stages) == 0 {
		return fmt.Sprintf("constant %s/s", fmtRate(l.Start))
	}
	from, at := l.Start, time.Duration(0)
	for i, st := range l.Stages {
		if t < at+st.Over.D() || i == len(l.Stages)-1 {
			if from == st.To {
				return fmt.Sprintf("stage %d/%d: %s/s", i+1, len(l.Stages), fmtRate(st.To))
			}
			return fmt.Sprintf("stage %d/%d: %s -> %s/s", i+1, len(l.Stages), fmtRate(from), fmtRate(st.To))
		}
		from, at = st.To, at+st.Over.D()
	}
	return ""
}

func fmtRate(f float64) string { return fmt.Sprintf("%.0f", f) }
