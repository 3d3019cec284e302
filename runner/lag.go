package runner

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers"
)

// lagSample is head minus the slowest projector's cursor at time t.
type lagSample struct {
	t   time.Duration // since the run's start
	lag int64
}

// lagSampler polls the head through the control connection (never through
// a fault proxy, so faults change the lag, not the ability to measure it).
type lagSampler struct {
	control    drivers.Driver
	projectors []*projector
	start      time.Time
	every      time.Duration
	errs       *errorCounter
	outages    *outageTracker
	// rewind moves projectors back when the head fell behind them (a store
	// that lost its tail); only with store faults.
	rewind bool

	mu      sync.Mutex
	samples []lagSample
}

func (s *lagSampler) run(ctx context.Context) {
	if len(s.projectors) == 0 {
		return
	}
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if l, ok := s.sample(ctx); ok {
			s.mu.Lock()
			s.samples = append(s.samples, lagSample{t: time.Since(s.start), lag: l})
			s.mu.Unlock()
		}
	}
}

// sample measures the current lag of the slowest projector.
func (s *lagSampler) sample(ctx context.Context) (int64, bool) {
	var before []drivers.Cursor
	if s.rewind {
		// Positions read before the head: a healthy head can only be ahead
		// of them, so one behind means the store went back.
		for _, p := range s.projectors {
			before = append(before, p.position())
		}
	}
	hctx, cancel := context.WithTimeout(ctx, time.Second)
	head, err := s.control.Head(hctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			s.errs.add(opHead, err, 1)
			s.outages.fail(opHead, time.Now(), 1)
		}
		return 0, false
	}
	s.outages.ok(opHead, time.Now())
	for i, pos := range before {
		if behind(head, pos) {
			s.projectors[i].rewind(head)
		}
	}
	var worst int64
	for _, p := range s.projectors {
		if l := drivers.Lag(head, p.position()); l > worst {
			worst = l
		}
	}
	return worst, true
}

// behind reports whether head is behind pos on some partition.
func behind(head, pos drivers.Cursor) bool {
	for part, at := range pos {
		if h, ok := head[part]; ok && h < at {
			return true
		}
	}
	return false
}

func (s *lagSampler) all() []lagSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]lagSample(nil), s.samples...)
}

// disruption is something that stops or slows consumption: a consumer
// pause or a fault on the consumer path.
type disruption struct {
	cause      string
	start, end time.Duration
}

// catchUpResult is the time from a disruption's end until lag is back to
// steady state and stays there for holdFor.
type catchUpResult struct {
	cause     string
	end       time.Duration
	seconds   float64
	recovered bool
	threshold int64
	note      string
}

const (
	holdFor   = time.Second      // lag must stay at steady state this long
	preWindow = 10 * time.Second // steady state is measured over this window before the disruption
)

// catchUp applies DESIGN.md's definition: steady-state lag is
// max(1 s of load at the disruption's end, lag p95 over the window before
// it started); catch-up ends at the first sample at or below it that stays
// at or below it for holdFor. "Stays" must be seen: a gap between samples
// longer than two sampling intervals (the head could not be read) breaks
// the hold, and a hold cut short by the end of the run is not recovered.
func catchUp(samples []lagSample, d disruption, rateAtEnd float64, every time.Duration) catchUpResult {
	res := catchUpResult{cause: d.cause, end: d.end}
	var pre []int64
	for _, s := range samples {
		if s.t < d.start && s.t >= d.start-preWindow {
			pre = append(pre, s.lag)
		}
	}
	threshold := int64(rateAtEnd + 0.5)
	if p := percentile(pre, 95); p > threshold {
		threshold = p
	}
	if threshold < 1 {
		threshold = 1
	}
	res.threshold = threshold
	maxGap := 2 * every
	var candidate time.Duration = -1
	last := time.Duration(-1)
	for _, s := range samples {
		if s.t < d.end {
			continue
		}
		if last >= 0 && s.t-last > maxGap {
			candidate = -1 // unseen for too long: the hold starts again
		}
		last = s.t
		if s.lag > threshold {
			candidate = -1
			continue
		}
		if candidate < 0 {
			candidate = s.t
		}
		if s.t-candidate >= holdFor {
			res.recovered = true
			res.seconds = (candidate - d.end).Seconds()
			return res
		}
	}
	if last < 0 {
		last = d.end
	}
	res.seconds = (last - d.end).Seconds()
	if candidate >= 0 {
		// Lag was back when sampling stopped, but the run ended before it
		// could be seen to stay there for the hold time.
		res.note = fmt.Sprintf("lag was back at or below %d at %.1fs but the run ended %.2fs later, before the %v hold; not counted as recovered",
			threshold, candidate.Seconds(), (last - candidate).Seconds(), holdFor)
	}
	return res
}

// percentile of int64 samples (nearest rank), 0 for none.
func percentile(v []int64, p float64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := int(p/100*float64(len(s))+0.5) - 1
	if idx < 0 {
		idx = 0
	}
	if idx >= len(s) {
		idx = len(s) - 1
	}
	return s[idx]
}

// last is the latest lag sample.
func (s *lagSampler) last() (lagSample, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return lagSample{}, false
	}
	return s.samples[len(s.samples)-1], true
}
