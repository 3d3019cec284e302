package merge

import (
	"fmt"
	"slices"
	"strings"

	"github.com/evbench/evbench/reports/measure"
)

// handling merges consumer_handling. Each shard's projectors handle their
// own events only, so every count (duplicates, applications, retries, dead
// letters, redrives, not applied, unaccounted, breaker opens and open
// seconds) is a sum. The configuration (inbox, DLQ store, redeliver,
// failure rate) is the scenario's, the same on every shard: the first
// shard's; dlq_detail joins the shards' distinct ones with commas. retry_e2e_latency_ms has no histogram in result.json: see
// boundPercentiles. Breaker pauses and transitions move to the merged
// clock; a pause's label names its shard, the transitions (no room for
// one) are mapped to shards by a note. Events lost inside the handler
// (unaccounted, DLQ write failures) fail the delivery check, as on a shard.
func (m *merger) handling(res *measure.Result) {
	with := m.present("consumer_handling", func(r *measure.Result) bool { return r.ConsumerHandling != nil }, "")
	if len(with) == 0 {
		return
	}
	f := with[0].res.ConsumerHandling
	out := &measure.ConsumerHandling{Inbox: f.Inbox, DLQ: f.DLQ, Redeliver: f.Redeliver, FailureRate: f.FailureRate}
	var retry []measure.Percentiles
	var counts []int
	var details []string
	for _, s := range with {
		h, sh := s.res.ConsumerHandling, m.shift(s)
		if h.DLQDetail != "" && !slices.Contains(details, h.DLQDetail) {
			details = append(details, h.DLQDetail)
		}
		out.DuplicatesDelivered += h.DuplicatesDelivered
		out.DuplicatesDiscarded += h.DuplicatesDiscarded
		out.DuplicatesApplied += h.DuplicatesApplied
		out.Applied += h.Applied
		out.Retries += h.Retries
		out.RetriedEvents += h.RetriedEvents
		out.DeadLettered += h.DeadLettered
		out.DLQErrors += h.DLQErrors
		out.Redriven += h.Redriven
		out.RedriveDuplicates += h.RedriveDuplicates
		out.RedriveFailed += h.RedriveFailed
		out.NotApplied += h.NotApplied
		out.Unaccounted += h.Unaccounted
		out.BreakerOpenS += h.BreakerOpenS
		out.BreakerOpens += h.BreakerOpens
		retry = append(retry, h.RetryE2E)
		for _, p := range h.BreakerPauses {
			p.StartS, p.EndS = round3(p.StartS+sh), round3(p.EndS+sh)
			p.Label = fmt.Sprintf("%s (shard %d)", p.Label, s.index())
			out.BreakerPauses = append(out.BreakerPauses, p)
		}
		for _, t := range h.BreakerTransitions {
			t.AtS = round3(t.AtS + sh)
			out.BreakerTransitions = append(out.BreakerTransitions, t)
		}
		counts = append(counts, len(h.BreakerTransitions))
	}
	out.DLQDetail = strings.Join(details, ", ")
	out.BreakerOpenS = round3(out.BreakerOpenS)
	out.RetryE2E = boundPercentiles(retry)
	m.boundNote("consumer_handling.retry_e2e_latency_ms", retry)
	if len(with) > 1 {
		m.orderNote("consumer_handling.breaker_transitions", with, counts)
	}
	res.ConsumerHandling = out

	if why := out.Failure(); why != "" {
		res.Delivery.OK = false
		if !slices.ContainsFunc(res.Delivery.Failures, func(f string) bool { return strings.Contains(f, "consumer handling: ") }) {
			res.Delivery.Failures = append(res.Delivery.Failures, "consumer handling: "+why)
		}
	}
}
