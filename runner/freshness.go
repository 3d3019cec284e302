package runner

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evbench/evbench/reports/measure"
)

// Freshness is the age of the oldest acknowledged event of a type that a
// projector has not applied yet: what "no order in the hot path older than
// 2 s" means. It is tracked per type in buckets of the events' scheduled
// time: acks add to a bucket, first applications by each projector add to
// the same bucket of that projector, and the oldest bucket where a
// projector is behind the acks is the oldest unprocessed event. Memory is a
// fixed ring per type, whatever the run's length.
const (
	freshBucket = 100 * time.Millisecond // the age's resolution
	freshRing   = 8192                   // buckets kept: 819 s of backlog (see slot)
	// freshSettle is how long after a bucket's time acks may still arrive
	// for it (slow or retried appends): the ring's floor never passes a
	// bucket younger than this.
	freshSettle = 60 * time.Second
)

type freshness struct {
	start  int64 // unix ns of the run's t=0
	types  map[string]int
	names  []string
	rings  []*freshRingT
	nproj  int
	series [][]float64 // per type, the worst age (s) in each second of the run

	mu sync.Mutex // the sampler's state (series, floors)
}

// freshRingT is one type's counters: acked[b] and done[p][b] at slot
// b % freshRing, for buckets floor .. floor+freshRing-1.
type freshRingT struct {
	floor atomic.Int64
	acked [freshRing]atomic.Int64
	done  [][freshRing]atomic.Int64
	worst float64 // max age seen, s (under freshness.mu)
}

func newFreshness(start time.Time, types []string, projectors int) *freshness {
	f := &freshness{start: start.UnixNano(), types: map[string]int{}, nproj: projectors}
	for _, t := range types {
		if _, ok := f.types[t]; ok {
			continue
		}
		f.types[t] = len(f.names)
		f.names = append(f.names, t)
		f.rings = append(f.rings, &freshRingT{done: make([][freshRing]atomic.Int64, projectors)})
		f.series = append(f.series, nil)
	}
	return f
}

// slot maps an event's scheduled time to its ring slot. It depends on
// the time alone, so an ack and the applications of the same event always
// meet in one slot. A backlog longer than the ring shares slots between
// buckets freshRing apart: ages beyond 819 s then read as the older
// bucket's (an overestimate, never a lost event).
func (f *freshness) slot(scheduled int64) int {
	b := max((scheduled-f.start)/int64(freshBucket), 0)
	return int(b % freshRing)
}

// index is typ's position, -1 for a type not of this run. A run has a
// handful of types whose strings are the pool's own (equal pointers
// compare at once), so a scan beats hashing on the hot path.
func (f *freshness) index(typ string) int {
	if len(f.names) > 8 {
		if i, ok := f.types[typ]; ok {
			return i
		}
		return -1
	}
	for i, n := range f.names {
		if n == typ {
			return i
		}
	}
	return -1
}

// acked counts acknowledged events (the generator's hot path: a map
// lookup and one atomic add).
func (f *freshness) acked(typ string, scheduled int64) {
	if f == nil {
		return
	}
	if i := f.index(typ); i >= 0 {
		f.rings[i].acked[f.slot(scheduled)].Add(1)
	}
}

// applied counts projector p's first application of an event.
func (f *freshness) applied(p int, typ string, scheduled int64) {
	if f == nil || p >= f.nproj {
		return
	}
	if i := f.index(typ); i >= 0 {
		f.rings[i].done[p][f.slot(scheduled)].Add(1)
	}
}

// sample computes each type's oldest unprocessed age at now (worst over
// projectors), folds it into the per-second series and moves the floors
// past buckets every projector has finished.
func (f *freshness) sample(now time.Time) {
	if f == nil || f.nproj == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	nowNs := now.UnixNano()
	cur := (nowNs - f.start) / int64(freshBucket)
	sec := int((nowNs - f.start) / int64(time.Second))
	if sec < 0 {
		return
	}
	for i, r := range f.rings {
		floor := r.floor.Load()
		age := 0.0
	scan:
		for b := floor; b <= min(cur, floor+freshRing-1); b++ {
			a := r.acked[b%freshRing].Load()
			for p := range r.done {
				if r.done[p][b%freshRing].Load() < a {
					age = math.Max(float64(nowNs-(f.start+b*int64(freshBucket)))/1e9, 0)
					break scan
				}
			}
		}
		for len(f.series[i]) <= sec {
			f.series[i] = append(f.series[i], 0)
		}
		f.series[i][sec] = math.Max(f.series[i][sec], age)
		r.worst = math.Max(r.worst, age)
		// Advance the floor over settled, finished buckets; their slots are
		// zeroed for reuse.
		settled := (nowNs - f.start - int64(freshSettle)) / int64(freshBucket)
		for b := floor; b < settled; b++ {
			s := b % freshRing
			a := r.acked[s].Load()
			finished := true
			for p := range r.done {
				if r.done[p][s].Load() < a {
					finished = false
					break
				}
			}
			if !finished {
				break
			}
			r.acked[s].Store(0)
			for p := range r.done {
				r.done[p][s].Store(0)
			}
			r.floor.Store(b + 1)
		}
	}
}

// run samples every interval until ctx ends.
func (f *freshness) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			f.sample(now)
		}
	}
}

// result is what the run reports: per type, the worst age, the p95 of
// the per-second worst ages and the series.
func (f *freshness) result() []measure.Freshness {
	if f == nil || f.nproj == 0 {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]measure.Freshness, 0, len(f.names))
	for i, name := range f.names {
		s := append([]float64(nil), f.series[i]...)
		out = append(out, measure.Freshness{Type: name, MaxS: round3(f.rings[i].worst),
			P95S: round3(percentileF(s, 95)), Series: roundAll(s)})
	}
	return out
}

func roundAll(s []float64) []float64 {
	for i := range s {
		s[i] = round3(s[i])
	}
	return s
}

// percentileF is the nearest-rank percentile of v (0 when empty).
func percentileF(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}
