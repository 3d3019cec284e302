package merge

import (
	"fmt"
	"strings"

	"github.com/evbench/evbench/reports/measure"
)

// rebuilds merges the rebuild-mode comparisons. Unlike the other sections
// they are not shares of the run: each shard's live read model folds the
// whole store from the run's first position (every shard's events, not
// only its own), and each shard rebuilds that log and checks the rebuilt
// digests against its own live read model. So nothing is summed:
//   - runs are every shard's, concatenated in shard order (a note maps
//     them to shards; measure.RebuildRun has no shard field);
//   - digest_ok holds only if it held on every shard, and a shard whose
//     rebuild differed fails the merged run as it failed its own (judge);
//   - live_events and keys are the largest shard's (the fullest view of
//     the log), live_digest and snapshot the first shard's (the snapshot's
//     at_s moved to the merged clock);
//   - speedup and snapshot_speedup cannot be recomputed from the shards'
//     runs, which timed different instances of the same work: they are
//     the lowest shard's, the figure a "rebuild.speedup > x" gate must
//     meet on every shard.
func (m *merger) rebuilds(res *measure.Result) {
	with := m.present("rebuilds", func(r *measure.Result) bool { return r.Rebuilds != nil }, "")
	if len(with) == 0 {
		return
	}
	first := with[0].res.Rebuilds
	out := &measure.Rebuilds{ProjectionCostUS: first.ProjectionCostUS, LiveDigest: first.LiveDigest, Runs: []measure.RebuildRun{}, DigestOK: true}
	var counts []int
	var bad []string
	digests := map[string]bool{}
	for _, s := range with {
		rb := s.res.Rebuilds
		digests[rb.LiveDigest] = true
		out.LiveEvents = max(out.LiveEvents, rb.LiveEvents)
		out.Keys = max(out.Keys, rb.Keys)
		if out.Snapshot == nil && rb.Snapshot != nil {
			snap := *rb.Snapshot
			snap.AtS += m.shift(s)
			out.Snapshot = &snap
		}
		out.Runs = append(out.Runs, rb.Runs...)
		counts = append(counts, len(rb.Runs))
		if rb.Speedup > 0 && (out.Speedup == 0 || rb.Speedup < out.Speedup) {
			out.Speedup, out.SpeedupWorkers = rb.Speedup, append([]int(nil), rb.SpeedupWorkers...)
		}
		if rb.SnapshotSpeedup > 0 && (out.SnapshotSpeedup == 0 || rb.SnapshotSpeedup < out.SnapshotSpeedup) {
			out.SnapshotSpeedup = rb.SnapshotSpeedup
		}
		if why := rebuildFailure(rb); why != "" {
			out.DigestOK = false
			bad = append(bad, fmt.Sprintf("shard %d: %s", s.index(), why))
		}
	}
	res.Rebuilds = out
	if len(with) > 1 {
		m.orderNote("rebuilds.runs", with, counts)
		m.notef("rebuilds: each shard rebuilt the whole store's log and checked it against its own live read model: live_events and keys are the largest shard's, speedup and snapshot_speedup the lowest shard's")
		if len(digests) > 1 {
			m.notef("rebuilds.live_digest is shard %d's: the shards' live read models differ (each folded up to the head it read after its own drain)", with[0].index())
		}
	}
	if len(bad) > 0 {
		reason := "rebuild is not deterministic: " + strings.Join(bad, "; ")
		if res.Reason == "" {
			res.Reason = reason
		} else {
			m.notes = append(m.notes, reason)
		}
	}
}

// rebuildFailure says why a shard's rebuild comparison fails its run, as
// the runner judged it (judgeRebuilds): "" when it does not.
func rebuildFailure(rb *measure.Rebuilds) string {
	if len(rb.Runs) == 0 {
		return "rebuild modes ran no rebuild"
	}
	var diff []string
	for _, run := range rb.Runs {
		if !run.DigestOK {
			diff = append(diff, fmt.Sprintf("%s with %d worker(s) %s", run.Mode, run.Workers, run.Digest))
		}
	}
	switch {
	case len(diff) > 0:
		return fmt.Sprintf("the rebuilt read model's digest differs from the live one's (%s) for %s", rb.LiveDigest, strings.Join(diff, ", "))
	case !rb.DigestOK:
		return "digest_ok is false"
	}
	return ""
}
