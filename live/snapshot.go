// Package live carries a run's state while it goes, once a second, from
// the runner to whoever shows it: the terminal display (live/term), the
// Prometheus exporter (live/prom) and the browser dashboard
// (live/dashboard). The runner fills a Snapshot; Hub fans it out.
//
// A Snapshot is a plain value, safe to keep and to marshal: the dashboard
// sends it as JSON, so its field names are a contract of the page.
package live

import "time"

// Phases of a run, in order. A run interrupted or failed ends in PhaseDone
// like any other.
const (
	PhaseSetup   = "setup"   // store opening, proxies, projectors starting
	PhaseWarmup  = "warmup"  // load.warmup: load runs, reported separately
	PhaseLoad    = "load"    // the measured load
	PhaseDrain   = "drain"   // load ended, projectors catching up
	PhaseRebuild = "rebuild" // the closing read-model rebuild
	PhaseDone    = "done"
)

// Snapshot is the state of one run at one instant. Rates and percentiles
// are of the last second (the latest closed 1 s interval of the
// recorders); counters are since the start of the run.
type Snapshot struct {
	// Run info, the same in every snapshot of a run.
	Scenario   string `json:"scenario"`
	Driver     string `json:"driver"`
	Durability string `json:"durability"` // the driver's durability label (true, unknown, false)

	Phase   string        `json:"phase"`
	Stage   string        `json:"stage"` // the load stage now, e.g. "stage 2/3: 500 -> 2000/s"
	Elapsed time.Duration `json:"elapsed_ns"`
	Total   time.Duration `json:"total_ns"` // the load's length (warm-up included)

	OfferedRate  float64 `json:"offered_rate"`  // events/s the schedule asked for in the last second
	AchievedRate float64 `json:"achieved_rate"` // events/s acknowledged in the last second
	InFlight     int64   `json:"in_flight"`     // appends sent and not yet answered

	Scheduled int64 `json:"scheduled"`
	Sent      int64 `json:"sent"`
	Acked     int64 `json:"acked"`
	Failed    int64 `json:"failed"`
	Retried   int64 `json:"retried"`
	GaveUp    int64 `json:"gave_up"`
	Late      int64 `json:"late"` // sent after their scheduled instant by more than the pacer's slack

	// Latency of the last second in milliseconds; 0 when nothing closed.
	CommitP50 float64 `json:"commit_p50_ms"`
	CommitP99 float64 `json:"commit_p99_ms"`
	E2EP99    float64 `json:"e2e_p99_ms"`

	Lag int64 `json:"lag"` // events the slowest projector is behind the head

	// Delivery counters of the projectors so far (summed over projectors).
	Delivered int64 `json:"delivered"`
	Misrouted int64 `json:"misrouted"`

	Faults        []Fault  `json:"faults"`         // faults active now
	Outages       []Outage `json:"outages"`        // outages open now
	OutagesClosed int      `json:"outages_closed"` // outages that ended so far
	Errors        int64    `json:"errors"`         // store errors so far, all operations

	// ClientLimited is set when evbench itself could not keep the offered
	// rate in the last second (sends late behind a window that was not
	// full); ClientReason says why.
	ClientLimited bool   `json:"client_limited"`
	ClientReason  string `json:"client_reason,omitempty"`

	// Histograms are whole-run cumulative latency histograms (commit,
	// service_time, e2e) at fixed bounds, for Prometheus. Not sent to the
	// dashboard (json:"-"): it shows percentiles.
	Histograms map[string]Histogram `json:"-"`
}

// Fault is one fault of the timeline that is active now.
type Fault struct {
	Kind      string        `json:"kind"`
	Path      string        `json:"path"`         // producer, consumer, both, store
	Started   time.Duration `json:"started_ns"`   // since the run's start
	Remaining time.Duration `json:"remaining_ns"` // until it is scheduled to end
}

// Outage is an operation (append, subscribe, head) failing now.
type Outage struct {
	Op     string        `json:"op"`
	Since  time.Duration `json:"since_ns"` // since the run's start
	Failed int64         `json:"failed"`
}

// Histogram is a cumulative histogram in Prometheus' shape: Counts[i] is
// the number of values ≤ Bounds[i] (seconds); Count and Sum (seconds) are
// over all values.
type Histogram struct {
	Bounds []float64 `json:"bounds"`
	Counts []uint64  `json:"counts"`
	Count  uint64    `json:"count"`
	Sum    float64   `json:"sum"`
}

// LatencyBounds are the histogram bounds in seconds every Snapshot uses:
// 100 µs to 60 s, roughly 1-2.5-5 per decade, wide enough for a store
// in a fault and fine enough near a healthy commit.
var LatencyBounds = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}
