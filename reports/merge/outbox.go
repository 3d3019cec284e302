package merge

import (
	"slices"
	"strings"

	"github.com/evbench/evbench/reports/measure"
)

// relayLagHlog is the interval log of the outbox's relay lag that a shard
// with an outbox writes beside result.json (runner's outboxRelayLagHlog;
// measure.HlogNames does not list it).
const relayLagHlog = "relay_lag.hlog"

// outbox merges the transactional outbox's figures. Each shard ran its own
// outbox (its own tables, a random prefix each unless one was configured)
// and relays, so published, batches, duplicates, relay crashes and errors
// and unsent rows are sums. command_commit_ms is the run's commit latency
// repeated, so it is the merged (exact) commit percentiles. relay_lag_ms
// is recomputed exactly from the merged relay_lag.hlog intervals when they
// hold every shard's relay-lag count; otherwise it is bounded (see
// boundPercentiles) and a note says so. backlog_max and
// oldest_unsent_max_ms are maxima: the largest backlog one shard's outbox
// held (the shards' backlogs at one instant could add up to more; the
// per-shard samples are not merged) and the oldest unsent row anywhere.
// The configuration (relays, batch, interval) is the scenario's, per shard;
// prefix joins the shards' distinct prefixes with commas.
func (m *merger) outbox(res *measure.Result) {
	with := m.present("outbox", func(r *measure.Result) bool { return r.Outbox != nil }, "")
	if len(with) == 0 {
		return
	}
	f := with[0].res.Outbox
	out := &measure.Outbox{Relays: f.Relays, Batch: f.Batch, IntervalMS: f.IntervalMS, StoreDeduplicates: true}
	var prefixes []string
	var lags []measure.Percentiles
	var lagCount int64
	for _, s := range with {
		o := s.res.Outbox
		if o.Prefix != "" && !slices.Contains(prefixes, o.Prefix) {
			prefixes = append(prefixes, o.Prefix)
		}
		out.Published += o.Published
		out.Batches += o.Batches
		out.Duplicates += o.Duplicates
		out.StoreDeduplicates = out.StoreDeduplicates && o.StoreDeduplicates
		out.RelayCrashes += o.RelayCrashes
		out.RelayErrors += o.RelayErrors
		out.BacklogMax = max(out.BacklogMax, o.BacklogMax)
		out.OldestUnsentMaxMS = max(out.OldestUnsentMaxMS, o.OldestUnsentMaxMS)
		out.Unsent += o.Unsent
		lags = append(lags, o.RelayLag)
		lagCount += o.RelayLag.Count
	}
	out.Prefix = strings.Join(prefixes, ",")
	out.CommandCommit = res.Commit
	if h := m.logTotals[relayLagHlog]; h != nil && h.TotalCount() == lagCount {
		out.RelayLag = measure.Summarize(h)
	} else {
		out.RelayLag = boundPercentiles(lags)
		if h != nil {
			m.notef("outbox.relay_lag_ms: the merged %s holds %d values after the warm-up, the shards' relay_lag_ms count %d", relayLagHlog, h.TotalCount(), lagCount)
		}
		m.boundNote("outbox.relay_lag_ms", lags)
	}
	if len(with) > 1 && out.BacklogMax > 0 {
		m.notef("outbox.backlog_max is the largest backlog one shard's outbox held: the %d shards' outboxes together may have held more at one instant", len(with))
	}
	if slices.ContainsFunc(with, func(s *shard) bool { return s.res.Series.Outbox != nil }) {
		m.notef("the per-second outbox series (relay lag, backlog) are not merged: see each shard's plots, or the merged %s", relayLagHlog)
	}
	res.Outbox = out
}
