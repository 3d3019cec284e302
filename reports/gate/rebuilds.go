package gate

// rebuildModeMetrics are the metrics of the rebuild comparison
// (consumers.rebuild_workers, consumers.snapshot): result.json rebuilds.
var rebuildModeMetrics = map[string]string{
	"rebuild.speedup":          UnitRatio,
	"rebuild.snapshot_speedup": UnitRatio,
	"rebuild.digest_ok":        UnitFlag,
}

func init() {
	for k, u := range rebuildModeMetrics {
		known[k] = u
	}
}
