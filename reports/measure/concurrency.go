package measure

// Concurrency is what the optimistic-concurrency command handlers met
// (events.concurrency): every command reads its stream's version, appends
// expecting it, and on a conflict reloads and retries up to MaxRetries
// times. Its commit latency, which counts from the scheduled time, already
// includes the retries.
type Concurrency struct {
	WritersPerKey int `json:"writers_per_key"`
	MaxRetries    int `json:"max_retries"`
	// Commands is how many commands finished (committed, gave up or failed
	// otherwise); one command is one append of events.batch events.
	Commands int64 `json:"commands"`
	// Committed is how many commands' appends were acknowledged.
	Committed int64 `json:"committed"`
	// Attempts is how many expected-version appends were sent.
	Attempts int64 `json:"attempts"`
	// Conflicts is how many of them the store refused: the stream had
	// moved since the writer read its version.
	Conflicts int64 `json:"conflicts"`
	// ConflictRate is Conflicts / Attempts.
	ConflictRate float64 `json:"conflict_rate"`
	// Reloads is how many times a writer read the stream's version
	// (StreamVersion): its first command on a key, and after each conflict
	// or failure.
	Reloads int64 `json:"reloads"`
	// RetriesPerCommand is the number of retries after a conflict, per
	// finished command.
	RetriesPerCommand RetryCount `json:"retries_per_command"`
	// GaveUp is how many commands still conflicted after MaxRetries
	// retries: failed, nothing written (counted in events.failed too).
	GaveUp int64 `json:"gave_up"`
}

// RetryCount is the mean and the largest count per command.
type RetryCount struct {
	Mean float64 `json:"mean"`
	Max  int64   `json:"max"`
}

// concurrencyMetrics adds the concurrency.* gate metrics.
func concurrencyMetrics(r *Result, m map[string]float64) {
	c := r.Concurrency
	if c == nil {
		return
	}
	m["concurrency.commands"] = float64(c.Commands)
	m["concurrency.conflicts"] = float64(c.Conflicts)
	m["concurrency.conflict_rate"] = c.ConflictRate
	m["concurrency.retries_per_command"] = c.RetriesPerCommand.Mean
	m["concurrency.retries_per_command.max"] = float64(c.RetriesPerCommand.Max)
	m["concurrency.gave_up"] = float64(c.GaveUp)
}
