package measure

// MergeInfo describes a result that `evbench merge` combined from the
// result directories of a sharded run (evbench run --shard i/N): which
// shards went in, and how far apart their clocks were estimated to be.
// Absent on a result of one process.
type MergeInfo struct {
	// Shards is how many shard results were merged; Count is the N they
	// were cut into (Shards < Count only with --partial).
	Shards int `json:"shards"`
	Count  int `json:"count"`
	// RunID is the run id every shard shares (empty for shards that
	// recorded none).
	RunID string `json:"run_id,omitempty"`
	// Indexes are the merged shards' indexes, ascending; Missing the
	// indexes of 0..Count-1 that were not given (--partial only).
	Indexes []int `json:"indexes"`
	Missing []int `json:"missing,omitempty"`
	// Sources are the shard directories as given, in Indexes order.
	Sources []string `json:"sources"`
	// ClockOffsetsMS is, per merged shard (Indexes order), its clock's
	// estimated offset from the first merged shard's, in ms; MaxSkewMS is
	// the largest minus the smallest. SkewMethod says what they were
	// estimated from (see docs/reports.md, "Merged results"). From the
	// barrier markers, ClockOffsetBoundsMS are the [lowest, highest] offset
	// each shard's markers allow, and the offsets the ones nearest zero in
	// them: MaxSkewMS is then the least skew the clocks have.
	ClockOffsetsMS      []float64    `json:"clock_offsets_ms"`
	ClockOffsetBoundsMS [][2]float64 `json:"clock_offset_bounds_ms,omitempty"`
	MaxSkewMS           float64      `json:"max_skew_ms"`
	SkewMethod          string       `json:"skew_method"`
	// SkewThresholdMS is the skew above which the merge flags the result
	// (SkewFlagged, and a note): the larger of 5 ms and 10% of the merged
	// e2e p50.
	SkewThresholdMS float64 `json:"skew_threshold_ms"`
	SkewFlagged     bool    `json:"skew_flagged"`
}
