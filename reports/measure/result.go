// Package measure is what a run measures and keeps: latency recording
// (HdrHistogram geometry, lock-free recorders, interval logs streamed to
// .hlog files), the result.json model, and the metrics gates judge. The
// runner and chaos depend on it; package reports renders it. It imports no
// driver and no renderer.
package measure

import (
	"encoding/json"
	"time"
)

// SchemaV1 is the result.json schema identifier. Fields are a public
// contract: add freely, rename never.
const SchemaV1 = "evbench.result/v1"

// Result is the content of result.json.
type Result struct {
	Schema   string       `json:"schema"`
	Complete bool         `json:"complete"`
	Reason   string       `json:"reason,omitempty"` // why the run is incomplete or failed
	Scenario ScenarioInfo `json:"scenario"`
	Driver   DriverInfo   `json:"driver"`
	// Durability is what an acknowledgement means on this store, detected
	// from the store (see drivers.Durability); compare warns when two runs
	// differ in it.
	Durability   *Durability `json:"durability,omitempty"`
	StartedAt    time.Time   `json:"started_at"`
	DurationS    float64     `json:"duration_s"`
	Events       EventCounts `json:"events"`
	OfferedRate  float64     `json:"offered_rate"`
	AchievedRate float64     `json:"achieved_rate"`
	// Warmup is the first part of the load (load.warmup), reported apart:
	// the rates, percentiles and gates of the run leave it out.
	Warmup      *Warmup     `json:"warmup,omitempty"`
	Commit      Percentiles `json:"commit_latency_ms"`
	ServiceTime Percentiles `json:"service_time_ms"`
	E2E         Percentiles `json:"e2e_latency_ms"`
	// FailedLatency is scheduled time -> final error of the appends that
	// failed: commit latency covers successful appends only, so an outage
	// would otherwise vanish from the latency figures.
	FailedLatency Percentiles `json:"failed_latency_ms"`
	// SendDelay is scheduled time -> actual send: the harness's own share of
	// commit latency (timer precision, a full in-flight window, a client
	// call that blocked). Commit latency includes it; service time does not.
	SendDelay Percentiles `json:"send_delay_ms"`
	Lag       LagStats    `json:"lag"`
	// Freshness is, per event type, the age of the oldest event not yet
	// applied by a projector (gates: freshness.<Type>.max).
	Freshness []Freshness `json:"freshness,omitempty"`
	CatchUp   []CatchUp   `json:"catch_up"`
	// CommitRecovery is, per producer-path fault, the time until the
	// per-second commit p95 was back near its pre-fault level. Kept apart
	// from catch_up (which is about lag) so catch_up.max gates the
	// projections only.
	CommitRecovery []CommitRecovery `json:"commit_recovery"`
	Rebuild        *Rebuild         `json:"rebuild,omitempty"`
	// RebuildUnsupported says why consumers.rebuild: end was not run: the
	// driver declared that its store keeps no log to replay (a queue, an
	// MQTT broker); absent when the rebuild ran or was not asked for.
	RebuildUnsupported string `json:"rebuild_unsupported,omitempty"`
	// Rebuilds compares full and snapshot+tail rebuilds at each worker
	// count (consumers.rebuild_workers, snapshot); absent unless asked for.
	Rebuilds *Rebuilds `json:"rebuilds,omitempty"`
	// Recovery is, per store fault that took the store's process away
	// (kill, power-loss, restart), what it cost: RTO and RPO.
	Recovery []Recovery `json:"recovery,omitempty"`
	// ConsumerRestarts is, per consumer-restart fault, how long the durable
	// projector took to resume and what it replayed (see ConsumerRestart).
	ConsumerRestarts []ConsumerRestart `json:"consumer_restarts,omitempty"`
	Delivery         Delivery          `json:"delivery"`
	// ConsumerHandling is what the consumers' inbox, retries, DLQ, breaker
	// and redrive did; absent unless the scenario asked for any of them.
	ConsumerHandling *ConsumerHandling `json:"consumer_handling,omitempty"`
	// Outbox is what the transactional outbox measured (scenario section
	// outbox); absent without one.
	Outbox *Outbox `json:"outbox,omitempty"`
	// Concurrency is what the optimistic-concurrency command handlers met
	// (scenario events.concurrency); absent without it.
	Concurrency *Concurrency  `json:"concurrency,omitempty"`
	Faults      []FaultWindow `json:"faults"`
	// Outages are, per operation (append, subscribe, head), the spans from
	// a first failure to the first success after it: what a client saw.
	Outages     []Outage     `json:"outages"`
	SteadyState []GateResult `json:"steady_state,omitempty"`
	Gates       []GateResult `json:"gates"`
	Passed      bool         `json:"passed"`
	Histograms  Histograms   `json:"histograms"`
	Series      Series       `json:"series"`
	Environment Environment  `json:"environment"`
	Errors      []ErrorCount `json:"errors,omitempty"`
	// Client says whether evbench itself was the limit of this run.
	Client Client `json:"client"`
	// Notes are caveats a reader of the figures must know (percentiles
	// that cover successful appends only, a hold cut short), one sentence
	// each; the summary and the reports print them.
	Notes []string `json:"notes,omitempty"`

	// SchemaEvolution is what the versions timeline and the canary
	// measured (events.versions, consumers.canary); absent without them.
	SchemaEvolution *SchemaEvolution `json:"schema_evolution,omitempty"`

	// Merge is set on a result `evbench merge` combined from shard results
	// (reports/merge); absent on a run of one process.
	Merge *MergeInfo `json:"merge,omitempty"`

	// Shard says which part of a sharded run this is (--shard i/N);
	// absent on an unsharded run.
	Shard *ShardInfo `json:"shard,omitempty"`
}

// Outage is one span during which an operation failed: from its first
// failure to the first success after it (or the end of the run, then
// Recovered is false).
type Outage struct {
	Op       string  `json:"op"`
	StartedS float64 `json:"started_s"`
	EndedS   float64 `json:"ended_s"`
	Seconds  float64 `json:"seconds"`
	// Failed counts the failures within it: events for append (every
	// failed try), calls for subscribe and head.
	Failed    int64 `json:"failed"`
	Recovered bool  `json:"recovered"`
}

// Client is the harness's own verdict on itself: a run whose client was
// the limit measured evbench, not the store.
type Client struct {
	// CPUPercent is the process's CPU time (user+system, getrusage) over
	// the load phase's wall time and the machine's cores, in percent.
	CPUPercent     float64 `json:"cpu_percent"`
	SendDelayP99MS float64 `json:"send_delay_p99_ms"`
	// LateFraction is late events over scheduled events.
	LateFraction float64 `json:"late_fraction"`
	// HarnessLateFraction is the late events that did not wait for the
	// in-flight window, over scheduled events: the lateness evbench caused.
	// Once the window filled, the verdict uses it instead of LateFraction
	// (and leaves the send delay out): waiting behind a full window is the
	// store's backpressure.
	HarnessLateFraction float64 `json:"harness_late_fraction"`
	// Limited is true when send-delay p99 > 1 ms, late > 0.1 % or CPU >=
	// 90 % of the cores: then the figures are the harness's, not the store's.
	Limited bool     `json:"limited"`
	Reasons []string `json:"reasons"`
}

// ScenarioInfo names the scenario and embeds it fully resolved (after
// --set, --duration and --rate-scale), so a result can be re-run.
type ScenarioInfo struct {
	Name     string          `json:"name"`
	Source   string          `json:"source,omitempty"`
	Resolved json.RawMessage `json:"resolved"`
}

// DriverInfo says what was measured. DSN is always redacted.
type DriverInfo struct {
	Name     string `json:"name"`
	DSN      string `json:"dsn"`
	Embedded bool   `json:"embedded"`
	// Managed is true when evbench started the store as its own child
	// process (--managed, or store faults on the embedded refstore).
	Managed  bool   `json:"managed,omitempty"`
	Describe string `json:"describe,omitempty"`
	// BatchAtomic says whether one append of events.batch events lands
	// all-or-nothing (one transaction or record group) or as independent
	// writes that may land in part; absent when the driver does not say.
	BatchAtomic *bool `json:"batch_atomic,omitempty"`
	// Emulated is true when the driver talked to an emulator or fake of a
	// cloud service (pstest, an SQS emulator): the run checks the driver
	// and the workload, but its latency figures are not the service's.
	Emulated bool `json:"emulated,omitempty"`
}

// EventCounts are the generator's counters. Late events were sent after
// their scheduled time because the in-flight window was full (their latency
// still counts from the scheduled time).
type EventCounts struct {
	Scheduled int64 `json:"scheduled"`
	Sent      int64 `json:"sent"`
	Acked     int64 `json:"acked"`
	Failed    int64 `json:"failed"`
	Late      int64 `json:"late"`
	// WindowFull events found the in-flight window (load.max_in_flight)
	// full and waited for a slot: the harness's own cap biting. They are
	// late too when the wait exceeded the late threshold.
	WindowFull int64 `json:"window_full"`
	// Unsent were scheduled but never sent because the run ended or was
	// interrupted first.
	Unsent int64 `json:"unsent"`
	// Retried events needed more than one try under load.retry (whatever
	// the outcome); GaveUp events failed every try or hit the deadline.
	// Failed counts final failures, so GaveUp <= Failed.
	Retried int64 `json:"retried"`
	GaveUp  int64 `json:"gave_up"`
}

// Percentiles of a latency distribution, in milliseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// LagStats summarise the lag samples (events between head and projector).
type LagStats struct {
	Max      int64   `json:"max"`
	P95      int64   `json:"p95"`
	SampleMS float64 `json:"sample_interval_ms"`
}

// CatchUp is the time from the end of a disruption (consumer pause, fault)
// until lag returned to steady state and stayed there.
type CatchUp struct {
	Cause     string  `json:"cause"`
	StartedS  float64 `json:"started_s"`
	Seconds   float64 `json:"seconds"`
	Recovered bool    `json:"recovered"`
	Threshold int64   `json:"threshold"` // the steady-state lag it had to return to
	// Note says why a catch-up is not recovered when lag was back but
	// could not be seen to stay there (the run ended within the hold).
	Note string `json:"note,omitempty"`
}

// CommitRecovery is the time from the end of a producer-path fault until
// the first second whose commit p95 is within 20% (+1 ms) of the p95 over
// the 10 s before the fault.
type CommitRecovery struct {
	Cause       string  `json:"cause"`
	StartedS    float64 `json:"started_s"`
	Seconds     float64 `json:"seconds"`
	Recovered   bool    `json:"recovered"`
	ThresholdMS float64 `json:"threshold_ms"`
}

// Recovery is the RTO and RPO of one store fault.
type Recovery struct {
	Fault string  `json:"fault"`
	AtS   float64 `json:"at_s"`
	// RTOAppendS is the fault's start until the first successful append
	// after it; AppendRecovered is false when none succeeded by the end.
	RTOAppendS      float64 `json:"rto_append_s"`
	AppendRecovered bool    `json:"append_recovered"`
	// RTOProjectionS is the fault's start until the projectors were live
	// again and lag back at steady state (the fault's catch-up).
	RTOProjectionS      float64 `json:"rto_projection_s"`
	ProjectionRecovered bool    `json:"projection_recovered"`
	// RPOEvents are acknowledged events missing from the store after it
	// recovered (read back in full after the run); RPOSeconds is the span
	// of their scheduled times.
	RPOEvents  int64   `json:"rpo_events"`
	RPOSeconds float64 `json:"rpo_seconds"`
	Note       string  `json:"note,omitempty"`
}

// Rebuild is a full replay into a fresh projection.
type Rebuild struct {
	Events       int64   `json:"events"`
	Bytes        int64   `json:"bytes"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	MBPerSec     float64 `json:"mb_per_sec"`
	Complete     bool    `json:"complete"`
}

// Delivery is the verdict of the delivery check. Counts are of distinct
// events over all projectors (an event lost by two projectors is lost
// once); Projectors breaks them down.
type Delivery struct {
	// Expect is what the scenario declared; the verdict is judged against it.
	Expect Expect `json:"expect"`
	// OK is the verdict; Failures say why not, one line each.
	OK       bool     `json:"ok"`
	Failures []string `json:"failures,omitempty"`
	// Lost were acknowledged and not delivered to at least one projector.
	Lost int64 `json:"lost"`
	// Duplicated were delivered more than once to at least one projector.
	Duplicated int64 `json:"duplicated"`
	// Reordered acknowledged events arrived after a later event of their
	// key. Events whose append failed or was retried are not counted (the
	// client, not the store, decided their order): see RetryReordered.
	Reordered int64 `json:"reordered"`
	// RetryReordered arrived after a later event of their key because the
	// client's retry policy re-sent them after that event: not a fault of
	// the store, never failing a run.
	RetryReordered int64 `json:"retry_reordered"`
	// Misrouted were delivered under another key or sequence than they
	// were appended with: always a failure.
	Misrouted  int64 `json:"misrouted"`
	Unexpected int64 `json:"unexpected"`
	// Delivered reached every projector.
	Delivered int64 `json:"delivered"`
	// Ambiguous appends failed from the client's view; landing or not is
	// fine, so they are never counted as lost.
	Ambiguous int64 `json:"ambiguous"`
	// Undelivered were acknowledged but not delivered when the run stopped
	// before the projectors reached the head (interrupted, or the drain
	// timed out). They are not called lost: the check is inconclusive, and
	// the run is not marked passed.
	Undelivered int64 `json:"undelivered"`
	// Checked is true when the projectors reached the head after the last
	// acknowledgement, so lost is conclusive.
	Checked bool `json:"checked"`
	// Projectors is each projector's own view.
	Projectors []ProjectorDelivery `json:"projectors,omitempty"`
	// OtherShards counts the events of the same sharded run's other shards
	// that the projectors read and ignored by ID (the slowest projector's
	// figure; also counted in each projector's foreign): never a failure.
	OtherShards int64 `json:"other_shards,omitempty"`
	// DurableScan is the view of a full read of the store after the run,
	// taken when the scenario has store faults: what the store kept. Its
	// lost events are the RPO, and they count in Lost.
	DurableScan *ProjectorDelivery `json:"durable_scan,omitempty"`
	// RPOBudget is how many of the lost events a gate on rpo.events takes
	// over: a scenario that budgets RPO judges those by its gate, not by
	// the delivery check.
	RPOBudget int64 `json:"rpo_budget,omitempty"`
}

// Expect is a declared delivery guarantee (see scenarios.Expect).
type Expect struct {
	Delivery string `json:"delivery"` // exactly-once | at-least-once
	Order    string `json:"order"`    // per-key | none
}

// ProjectorDelivery is one projector's verdict counts.
type ProjectorDelivery struct {
	Projector      int   `json:"projector"`
	Lost           int64 `json:"lost"`
	Duplicated     int64 `json:"duplicated"`
	Reordered      int64 `json:"reordered"`
	RetryReordered int64 `json:"retry_reordered"`
	Misrouted      int64 `json:"misrouted"`
	Unexpected     int64 `json:"unexpected"`
	Delivered      int64 `json:"delivered"`
	// Foreign events belong to other runs (durable stores keep them).
	Foreign int64 `json:"foreign"`
}

// FaultWindow is one executed fault.
type FaultWindow struct {
	Kind   string         `json:"kind"`
	Path   string         `json:"path"`
	AtS    float64        `json:"at_s"`
	ForS   float64        `json:"for_s"`
	Params map[string]any `json:"params,omitempty"`
	Error  string         `json:"error,omitempty"`
	// Errors counts, by operation (append, subscribe, rebuild, head), the
	// errors that surfaced while the fault was active or within a second of
	// its end: what the fault cost the clients. Append errors count events.
	Errors map[string]int64 `json:"errors,omitempty"`
	// InjectedBy names the shard that injected the fault in a sharded run
	// ("shard 0"); the other shards record the window without injecting it.
	InjectedBy string `json:"injected_by,omitempty"`
}

// GateResult is one evaluated gate expression.
type GateResult struct {
	Expr  string  `json:"expr"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
	Pass  bool    `json:"pass"`
	Error string  `json:"error,omitempty"`
	// Threshold is the resolved right-hand side, in Unit.
	Threshold float64 `json:"threshold,omitempty"`
	// Baseline is the baseline result's value for regression gates.
	Baseline *float64 `json:"baseline,omitempty"`
	// Worse says which direction fails: "higher is worse" or "lower is worse".
	Worse string `json:"worse,omitempty"`
}

// Histograms hold the full-run histograms, base64 of HdrHistogram's V2
// compressed encoding (values in nanoseconds), so results can be merged and
// re-percentiled without loss.
type Histograms struct {
	Unit        string `json:"unit"` // "ns"
	Commit      string `json:"commit,omitempty"`
	ServiceTime string `json:"service_time,omitempty"`
	E2E         string `json:"e2e,omitempty"`
	SendDelay   string `json:"send_delay,omitempty"`
	Failed      string `json:"failed,omitempty"`
	// Clamped counts, per histogram, the values above its range (one hour)
	// that were recorded as its highest value instead of being dropped.
	Clamped map[string]int64 `json:"clamped,omitempty"`
}

// Series are per-second time series for plots.
type Series struct {
	// Seconds since start, one entry per interval.
	T         []float64 `json:"t"`
	Offered   []float64 `json:"offered"`  // events/s scheduled in that second
	Achieved  []float64 `json:"achieved"` // events/s acknowledged in that second
	CommitP50 []float64 `json:"commit_p50_ms"`
	CommitP95 []float64 `json:"commit_p95_ms"`
	CommitP99 []float64 `json:"commit_p99_ms"`
	E2EP50    []float64 `json:"e2e_p50_ms"`
	E2EP95    []float64 `json:"e2e_p95_ms"`
	E2EP99    []float64 `json:"e2e_p99_ms"`
	Failed    []float64 `json:"failed"`
	LagT      []float64 `json:"lag_t"` // lag sample times (s)
	Lag       []int64   `json:"lag"`
	Pauses    []Window  `json:"pauses,omitempty"`
	// Outages shade the plots like faults.
	Outages  []Window  `json:"outages,omitempty"`
	RebuildT []float64 `json:"rebuild_t,omitempty"` // seconds since rebuild start
	RebuildN []int64   `json:"rebuild_events,omitempty"`
	// Outbox is the relay lag per second (runs with an outbox only).
	Outbox *OutboxSeries `json:"outbox,omitempty"`
}

// Window is a shaded interval on a plot.
type Window struct {
	Label  string  `json:"label"`
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
}

// Environment says where the numbers came from.
type Environment struct {
	Go       string `json:"go"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	CPUs     int    `json:"cpus"`
	Hostname string `json:"hostname,omitempty"`
	// Hosts are, on a merged result, every shard's host in shard order
	// (Hostname then joins the distinct ones with commas).
	Hosts   []string `json:"hosts,omitempty"`
	Version string   `json:"evbench_version"`
}

// ErrorCount groups append or subscribe errors by message.
type ErrorCount struct {
	Op      string `json:"op"`
	Message string `json:"message"`
	Count   int64  `json:"count"`
}

// Durability is the result's durability label (drivers.Durability).
type Durability struct {
	// AckAfterFsync is "true", "false" or "unknown".
	AckAfterFsync string `json:"ack_after_fsync"`
	Replication   string `json:"replication,omitempty"`
	Detail        string `json:"detail,omitempty"`
	Source        string `json:"source,omitempty"`
}

// Warmup is what the warm-up (the load's first load.warmup) measured. The
// run's offered and achieved rates, latency percentiles, histograms and
// gates cover the load after it; event counts and the delivery check cover
// the whole run.
type Warmup struct {
	// Seconds is the warm-up's length in whole 1 s intervals (load.warmup
	// rounded up), the boundary the percentiles were split at.
	Seconds      float64     `json:"seconds"`
	Acked        int64       `json:"acked"`
	OfferedRate  float64     `json:"offered_rate"`
	AchievedRate float64     `json:"achieved_rate"`
	Commit       Percentiles `json:"commit_latency_ms"`
	ServiceTime  Percentiles `json:"service_time_ms"`
	E2E          Percentiles `json:"e2e_latency_ms"`
}
