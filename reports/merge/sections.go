package merge

import (
	"fmt"
	"strings"

	"github.com/evbench/evbench/reports/measure"
)

// sections merges the result sections a scenario adds only when it asks
// for them: rebuilds, consumer_handling, outbox, concurrency,
// schema_evolution and consumer_restarts. Each shard measured its own
// events (its projectors, readers, relays and writers skip the other
// shards'), so counts add up; the exceptions are said where they are.
// It runs after delivery (consumer handling can fail the delivery check)
// and before judge (the gates read the merged sections).
func (m *merger) sections(res *measure.Result) {
	m.rebuilds(res)
	m.handling(res)
	m.outbox(res)
	m.concurrency(res)
	m.schema(res)
	m.consumerRestarts(res)
}

// present returns the shards whose result has the section, and notes the
// shards that lack it when some have it: merging only the shards that
// measured a section must never pass for the whole run's figure. why,
// when not "", explains the absence (the lead alone injects faults).
func (m *merger) present(name string, has func(*measure.Result) bool, why string) []*shard {
	var with []*shard
	var without []int
	m.each(func(s *shard, r *measure.Result) {
		if has(r) {
			with = append(with, s)
		} else {
			without = append(without, s.index())
		}
	})
	if len(with) > 0 && len(without) > 0 {
		var idx []int
		for _, s := range with {
			idx = append(idx, s.index())
		}
		n := fmt.Sprintf("%s merged from shard(s) %s only; shard(s) %s had none", name, joinInts(idx), joinInts(without))
		if why != "" {
			n += " (" + why + ")"
		}
		m.notes = append(m.notes, n)
	}
	return with
}

// orderNote says which shard each entry of a merged list came from, for
// lists whose entries have no shard field: entries are concatenated in
// shard order, and counts[i] is how many shard shards[i] added. Nothing is
// said when one shard added them all but for its index.
func (m *merger) orderNote(field string, shards []*shard, counts []int) {
	var parts []string
	first := 0
	for i, s := range shards {
		n := counts[i]
		switch {
		case n == 0:
			continue
		case n == 1:
			parts = append(parts, fmt.Sprintf("[%d] shard %d", first, s.index()))
		default:
			parts = append(parts, fmt.Sprintf("[%d-%d] shard %d", first, first+n-1, s.index()))
		}
		first += n
	}
	if len(parts) > 0 {
		m.notef("%s are the shards' entries in shard order: %s", field, strings.Join(parts, ", "))
	}
}

// boundPercentiles merges latency summaries that come without their
// histogram (result.json keeps none for them). Count, min, mean and max
// are exact. No percentile can be recomputed, so each is the largest
// shard's: an upper bound of the merged one (a value at or above every
// shard's p-th percentile has at least p of each shard's values, hence of
// all of them, at or below it), never an average. Callers say so in a note.
func boundPercentiles(ps []measure.Percentiles) measure.Percentiles {
	var out measure.Percentiles
	var sum float64
	for _, p := range ps {
		if p.Count == 0 {
			continue
		}
		if out.Count == 0 || p.Min < out.Min {
			out.Min = p.Min
		}
		out.Count += p.Count
		sum += p.Mean * float64(p.Count)
		out.P50 = max(out.P50, p.P50)
		out.P90 = max(out.P90, p.P90)
		out.P95 = max(out.P95, p.P95)
		out.P99 = max(out.P99, p.P99)
		out.P999 = max(out.P999, p.P999)
		out.Max = max(out.Max, p.Max)
	}
	if out.Count > 0 {
		out.Mean = sum / float64(out.Count)
	}
	return out
}

// boundNote is the note for a boundPercentiles figure named field, said
// only when more than one shard contributed to it (one shard's are exact).
func (m *merger) boundNote(field string, ps []measure.Percentiles) {
	n := 0
	for _, p := range ps {
		if p.Count > 0 {
			n++
		}
	}
	if n > 1 {
		m.notef("%s: p50 to p99.9 are the worst shard's (an upper bound; result.json keeps no histogram to merge), count, min, mean and max exact", field)
	}
}

// addTypeVersions adds src's counts into dst by type and version, keeping
// dst's order and appending types and versions it lacks.
func addTypeVersions(dst, src []measure.TypeVersionCount) []measure.TypeVersionCount {
	for _, c := range src {
		found := false
		for i := range dst {
			if dst[i].Type == c.Type && dst[i].Version == c.Version {
				dst[i].Events += c.Events
				found = true
				break
			}
		}
		if !found {
			dst = append(dst, c)
		}
	}
	return dst
}
