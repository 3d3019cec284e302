package measure

// Outbox is what a run through a transactional outbox measured (scenario
// section outbox): the command side (Postgres transactions writing a
// business row and an outbox row), the relays (committed row -> published
// to the store), and what relay crashes cost.
type Outbox struct {
	Relays     int     `json:"relays"`
	Batch      int     `json:"batch"`
	IntervalMS float64 `json:"interval_ms"`
	// Prefix is the tables' prefix (<prefix>_orders, <prefix>_outbox).
	Prefix string `json:"prefix"`
	// CommandCommit is scheduled time -> command transaction committed:
	// the run's commit latency (commit_latency_ms), repeated here.
	CommandCommit Percentiles `json:"command_commit_ms"`
	// RelayLag is, per published event, the relay's publish acknowledged
	// minus the row's committed_at (the command transaction's now()).
	RelayLag Percentiles `json:"relay_lag_ms"`
	// Published counts events the target acknowledged from the relays,
	// republished ones included; Batches the publishes.
	Published int64 `json:"published"`
	Batches   int64 `json:"batches"`
	// Duplicates are events a crashed relay published without marking
	// them sent: its successor published them again (the delivery check
	// counts them as duplicated; none is lost).
	Duplicates int64 `json:"duplicates"`
	// StoreDeduplicates is true when the target stores a republished
	// event ID once (refstore, NATS): the duplicates then never reach the
	// projectors, and delivery.duplicated stays 0.
	StoreDeduplicates bool `json:"store_deduplicates"`
	// RelayCrashes counts simulated relay crashes (outbox.relay_crashes).
	RelayCrashes int `json:"relay_crashes"`
	// RelayErrors counts failed publishes or relay transactions (the rows
	// stayed unsent and were published later).
	RelayErrors int64 `json:"relay_errors"`
	// BacklogMax and OldestUnsentMaxMS are the largest unsent backlog and
	// the oldest unsent row's largest age seen by the 250 ms sampler.
	BacklogMax        int64   `json:"backlog_max"`
	OldestUnsentMaxMS float64 `json:"oldest_unsent_max_ms"`
	// Unsent are outbox rows still not marked sent when the run ended
	// (0 after a complete drain).
	Unsent int64 `json:"unsent"`
}

// OutboxSeries is the relay lag per second, for the plots.
type OutboxSeries struct {
	T           []float64 `json:"t"`
	RelayLagP50 []float64 `json:"relay_lag_p50_ms"`
	RelayLagP99 []float64 `json:"relay_lag_p99_ms"`
	RelayLagMax []float64 `json:"relay_lag_max_ms"`
	Published   []float64 `json:"published"` // events/s published
	// BacklogT are the times (s) of the backlog samples (every 250 ms):
	// Backlog is the unsent rows then, OldestUnsentMS the age of the
	// oldest. They grow while the relays cannot publish, when no relay
	// lag is recorded (lag is recorded at publish).
	BacklogT       []float64 `json:"backlog_t,omitempty"`
	Backlog        []int64   `json:"backlog,omitempty"`
	OldestUnsentMS []float64 `json:"oldest_unsent_ms,omitempty"`
}

// OutboxSeriesOf turns the relay-lag recorder's summaries into the series.
func OutboxSeriesOf(sums []Summary) *OutboxSeries {
	s := &OutboxSeries{}
	for _, x := range sums {
		s.T = append(s.T, x.StartS)
		s.RelayLagP50 = append(s.RelayLagP50, x.P50)
		s.RelayLagP99 = append(s.RelayLagP99, x.P99)
		s.RelayLagMax = append(s.RelayLagMax, x.Max)
		s.Published = append(s.Published, float64(x.Count)/max(x.EndS-x.StartS, 1e-9))
	}
	return s
}

// outboxMetrics adds the outbox.* gate metrics when the run had an outbox.
func outboxMetrics(r *Result, m map[string]float64) {
	o := r.Outbox
	if o == nil {
		return
	}
	m["outbox.published"] = float64(o.Published)
	m["outbox.duplicates"] = float64(o.Duplicates)
	m["outbox.relay_errors"] = float64(o.RelayErrors)
	m["outbox.unsent"] = float64(o.Unsent)
	if p := o.RelayLag; p.Count > 0 {
		m["outbox.relay_lag.p50"] = p.P50
		m["outbox.relay_lag.p95"] = p.P95
		m["outbox.relay_lag.p99"] = p.P99
		m["outbox.relay_lag.max"] = p.Max
	}
	if o.OldestUnsentMaxMS > 0 {
		m["outbox.oldest_unsent.max"] = o.OldestUnsentMaxMS
	}
	if p := o.CommandCommit; p.Count > 0 {
		m["outbox.command_commit.p99"] = p.P99
	}
}
