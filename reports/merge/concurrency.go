package merge

import "github.com/evbench/evbench/reports/measure"

// concurrency merges the optimistic-concurrency figures. Each shard's
// writers append to its own keys only, so commands, commits, attempts,
// conflicts, reloads and give-ups are sums; conflict_rate is recomputed as
// conflicts over attempts and retries_per_command.mean as the retries
// (each shard's mean times its commands) over the commands, never an
// average of the shards' rates; retries_per_command.max is the largest.
// writers_per_key and max_retries are the scenario's: the first shard's.
func (m *merger) concurrency(res *measure.Result) {
	with := m.present("concurrency", func(r *measure.Result) bool { return r.Concurrency != nil }, "")
	if len(with) == 0 {
		return
	}
	f := with[0].res.Concurrency
	out := &measure.Concurrency{WritersPerKey: f.WritersPerKey, MaxRetries: f.MaxRetries}
	var retries float64
	for _, s := range with {
		c := s.res.Concurrency
		out.Commands += c.Commands
		out.Committed += c.Committed
		out.Attempts += c.Attempts
		out.Conflicts += c.Conflicts
		out.Reloads += c.Reloads
		out.GaveUp += c.GaveUp
		retries += c.RetriesPerCommand.Mean * float64(c.Commands)
		out.RetriesPerCommand.Max = max(out.RetriesPerCommand.Max, c.RetriesPerCommand.Max)
	}
	if out.Attempts > 0 {
		out.ConflictRate = float64(out.Conflicts) / float64(out.Attempts)
	}
	if out.Commands > 0 {
		out.RetriesPerCommand.Mean = retries / float64(out.Commands)
	}
	res.Concurrency = out
}
