package measure

// Rebuilds compares rebuild strategies on the run's own events: a full
// rebuild from the run's first position and, with a snapshot, a rebuild
// from the live read model's snapshot plus the tail, each with every
// worker count P of consumers.rebuild_workers (keys partitioned among P
// workers). Every rebuilt read model's digest is checked against the live
// one's: a mismatch fails the run.
type Rebuilds struct {
	// ProjectionCostUS is the CPU time each rebuild spent per event folded
	// (consumers.projection_cost), in microseconds. The live read model
	// folds without it.
	ProjectionCostUS float64 `json:"projection_cost_us"`
	// LiveDigest is the live read model's digest when it reached the head;
	// LiveEvents and Keys are what it folded.
	LiveDigest string `json:"live_digest"`
	LiveEvents int64  `json:"live_events"`
	Keys       int    `json:"keys"`
	// Snapshot is the snapshot the snapshot rebuilds started from.
	Snapshot *RebuildSnapshot `json:"snapshot,omitempty"`
	Runs     []RebuildRun     `json:"runs"`
	// Speedup is the full rebuild's time with the fewest workers over its
	// time with the most (SpeedupWorkers: [fewest, most]); absent with a
	// single worker count.
	Speedup        float64 `json:"speedup,omitempty"`
	SpeedupWorkers []int   `json:"speedup_workers,omitempty"`
	// SnapshotSpeedup is, with the fewest workers, the full rebuild's time
	// over the snapshot+tail rebuild's; absent without a snapshot.
	SnapshotSpeedup float64 `json:"snapshot_speedup,omitempty"`
	// DigestOK is true when every run's digest equals LiveDigest.
	DigestOK bool `json:"digest_ok"`
}

// RebuildSnapshot is when the live read model took its snapshot.
type RebuildSnapshot struct {
	// Trigger is the scenario's rule ("at 50%", "every 50000 events"), with
	// " (taken at the end)" when its moment never came.
	Trigger string `json:"trigger"`
	// Events is how many events its states hold; Keys how many aggregates.
	Events int64 `json:"events"`
	Keys   int   `json:"keys"`
	// AtS is when it was taken, in seconds since the run's start.
	AtS float64 `json:"at_s"`
}

// RebuildRun is one rebuild.
type RebuildRun struct {
	Mode    string `json:"mode"` // full | snapshot
	Workers int    `json:"workers"`
	// Events were read from the store and folded (the tail only, for a
	// snapshot rebuild); RestoredEvents came from the snapshot.
	Events         int64   `json:"events"`
	RestoredEvents int64   `json:"restored_events,omitempty"`
	Seconds        float64 `json:"seconds"`
	EventsPerSec   float64 `json:"events_per_sec"`
	// CPUSeconds is the evbench process's CPU time during the rebuild
	// (an embedded store's share included): over Seconds, the cores it
	// kept busy, which shows whether P workers ran in parallel when other
	// processes took the machine.
	CPUSeconds float64 `json:"cpu_seconds"`
	Digest     string  `json:"digest"`
	DigestOK   bool    `json:"digest_ok"`
}

// Rebuild modes.
const (
	RebuildModeFull     = "full"
	RebuildModeSnapshot = "snapshot"
)

// rebuildsMetrics adds rebuild.speedup, rebuild.snapshot_speedup and
// rebuild.digest_ok, each only when measured.
func rebuildsMetrics(r *Result, m map[string]float64) {
	rb := r.Rebuilds
	if rb == nil {
		return
	}
	if rb.Speedup > 0 {
		m["rebuild.speedup"] = rb.Speedup
	}
	if rb.SnapshotSpeedup > 0 {
		m["rebuild.snapshot_speedup"] = rb.SnapshotSpeedup
	}
	m["rebuild.digest_ok"] = 0
	if rb.DigestOK {
		m["rebuild.digest_ok"] = 1
	}
}
