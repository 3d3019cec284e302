package merge

import (
	"fmt"
	"math"
	"time"

	"github.com/evbench/evbench/reports/measure"
)

// Skew methods, best evidence first (result.json merge.skew_method).
const (
	// SkewFromBarrier: the barrier markers' send and receive instants
	// (shard.barrier.peers). Shard j read shard 0's marker d(j,0) after it
	// was sent, on the two hosts' clocks: a delay that is never negative
	// (store latency, and the wait until j started reading) plus j's offset
	// from 0; d(0,j) is a delay minus it. So j's offset lies in
	// [-d(0,j), d(j,0)]. The offsets reported are the ones nearest zero in
	// those bounds: the skew the clocks provably have at least. (The NTP
	// midpoint would charge a shard that started reading late with a
	// skew it does not have.)
	SkewFromBarrier = "barrier markers (shard.barrier.peers): the least skew consistent with them"
	// SkewFromStart: each shard's start on its own clock (started_at)
	// against the agreed start instant (shard.start_at). Shards that waited
	// for one instant on their own clocks agree by construction, so this
	// sees a shard that started late, not clocks that disagree: used only
	// when the barrier evidence is missing (--start-at runs).
	SkewFromStart = "start instants (started_at against shard.start_at)"
)

// skewFloorMS is the skew flagged whatever the latency: below it the
// shards' per-second series and fault windows (1 s grid) line up.
const skewFloorMS = 5.0

// estimateClocks fills the clock offsets of info (relative to the first
// merged shard's clock) from the strongest evidence every shard has, and
// flags a skew above the larger of 5 ms and 10% of the merged e2e p50.
// E2E latency itself is measured on one shard's clock (scheduled and
// applied on the same host), so skew distorts the alignment of the shards'
// timelines and any cross-shard latency a reader derives from them; 10% of
// the p50 is where that becomes visible next to the figures themselves.
func estimateClocks(shards []*shard, info *measure.MergeInfo, e2eP50MS float64) (note string) {
	offsets := make([]float64, len(shards))
	if bounds, ok := barrierBounds(shards); ok {
		info.SkewMethod = SkewFromBarrier
		info.ClockOffsetBoundsMS = bounds
		for i, b := range bounds {
			offsets[i] = math.Min(math.Max(0, b[0]), b[1]) // nearest zero within the bounds
		}
	} else {
		info.SkewMethod = SkewFromStart
		for i, s := range shards {
			late := s.res.StartedAt.Sub(s.meta.StartAt)
			if s.meta.StartAt.IsZero() {
				late = s.res.StartedAt.Sub(shards[0].res.StartedAt)
			}
			offsets[i] = ms(late)
		}
		for i := len(offsets) - 1; i >= 0; i-- {
			offsets[i] -= offsets[0]
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, o := range offsets {
		offsets[i] = round3(o)
		lo, hi = math.Min(lo, o), math.Max(hi, o)
	}
	info.ClockOffsetsMS = offsets
	info.MaxSkewMS = round3(hi - lo)
	info.SkewThresholdMS = round3(math.Max(skewFloorMS, e2eP50MS/10))
	if info.MaxSkewMS > info.SkewThresholdMS {
		info.SkewFlagged = true
		return fmt.Sprintf("the shards' clocks are at least %.1f ms apart (from %s), above the %.1f ms the merge tolerates (the larger of 5 ms and 10%% of the e2e p50): timelines across shards line up only that well; synchronise the hosts' clocks (NTP/chrony) before trusting cross-shard timing",
			info.MaxSkewMS, info.SkewMethod, info.SkewThresholdMS)
	}
	return ""
}

// barrierBounds bounds each shard's clock offset from the first shard's
// with the markers they exchanged both ways, in ms; ok is false when some
// shard lacks either direction.
func barrierBounds(shards []*shard) ([][2]float64, bool) {
	bounds := make([][2]float64, len(shards))
	ref := shards[0]
	seen := func(by *shard, of int) (time.Duration, bool) {
		if by.meta.Barrier == nil {
			return 0, false
		}
		for _, p := range by.meta.Barrier.Peers {
			if p.Shard == of && !p.SentAt.IsZero() && !p.ReceivedAt.IsZero() {
				return p.ReceivedAt.Sub(p.SentAt), true
			}
		}
		return 0, false
	}
	for i, s := range shards[1:] {
		toS, ok1 := seen(s, ref.index())   // delay + offset(s) - offset(ref)
		toRef, ok2 := seen(ref, s.index()) // delay - offset(s) + offset(ref)
		if !ok1 || !ok2 {
			return nil, false
		}
		lo, hi := -ms(toRef), ms(toS)
		if lo > hi { // impossible unless a clock stepped mid-barrier: keep the midpoint
			lo = (lo + hi) / 2
			hi = lo
		}
		bounds[i+1] = [2]float64{round3(lo), round3(hi)}
	}
	return bounds, len(shards) > 1
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
