package merge

import "github.com/evbench/evbench/reports/measure"

// schema merges schema_evolution. Each shard's generator produced, and its
// readers decoded, that shard's events only (the readers skip the other
// shards'), so produced, read, unreadable, upcast, upcast steps and
// duplicates are sums, by type and version where they are broken down,
// and by cause for unreadable_reasons. A reader drained only if it drained
// on every shard. upcast_ns: the mean is weighted by the upcast events
// (exact), max is the largest, p99 the largest shard's (an upper bound:
// no histogram is kept). The canary is merged the same way, from the
// shards that ran one.
func (m *merger) schema(res *measure.Result) {
	with := m.present("schema_evolution", func(r *measure.Result) bool { return r.SchemaEvolution != nil }, "")
	if len(with) == 0 {
		return
	}
	out := &measure.SchemaEvolution{}
	var current, canary []measure.SchemaReader
	for _, s := range with {
		se := s.res.SchemaEvolution
		out.Produced = addTypeVersions(out.Produced, se.Produced)
		current = append(current, se.Current)
		if se.Canary != nil {
			canary = append(canary, *se.Canary)
		}
	}
	var p99s int
	out.Current, p99s = mergeReaders(current)
	if len(canary) > 0 {
		if len(canary) < len(with) {
			m.notef("schema_evolution.canary merged from %d of the %d shards with schema_evolution", len(canary), len(with))
		}
		c, n := mergeReaders(canary)
		out.Canary = &c
		p99s = max(p99s, n)
	}
	if p99s > 1 {
		m.notef("schema_evolution upcast_ns.p99 is the worst shard's (an upper bound; result.json keeps no histogram to merge), mean and max exact")
	}
	res.SchemaEvolution = out
}

// mergeReaders adds up one reader's view over the shards; n is how many
// shards upcast anything (more than one makes upcast_ns.p99 a bound).
func mergeReaders(rs []measure.SchemaReader) (out measure.SchemaReader, n int) {
	out = measure.SchemaReader{Version: rs[0].Version, Drained: true}
	var ns float64
	for _, r := range rs {
		out.Read += r.Read
		out.ReadBy = addTypeVersions(out.ReadBy, r.ReadBy)
		out.Unreadable += r.Unreadable
		out.UnreadableBy = addTypeVersions(out.UnreadableBy, r.UnreadableBy)
		for k, v := range r.UnreadableReasons {
			if out.UnreadableReasons == nil {
				out.UnreadableReasons = map[string]int64{}
			}
			out.UnreadableReasons[k] += v
		}
		out.Upcast += r.Upcast
		out.UpcastSteps += r.UpcastSteps
		out.Duplicates += r.Duplicates
		out.Drained = out.Drained && r.Drained
		ns += r.UpcastNS.Mean * float64(r.Upcast)
		out.UpcastNS.P99 = max(out.UpcastNS.P99, r.UpcastNS.P99)
		out.UpcastNS.Max = max(out.UpcastNS.Max, r.UpcastNS.Max)
		if r.Upcast > 0 {
			n++
		}
	}
	if out.Upcast > 0 {
		out.UpcastNS.Mean = ns / float64(out.Upcast)
	}
	return out, n
}
