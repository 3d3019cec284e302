package measure

// Freshness is, for one event type, the age of the oldest acknowledged
// event a projector had not applied yet, sampled every 100 ms (worst over
// projectors): how stale the read model was for that type. Ages have the
// 100 ms resolution of the sampling buckets and may read up to that much
// older than the event really was.
type Freshness struct {
	Type string  `json:"type"`
	MaxS float64 `json:"max_s"` // the worst age in the run, seconds
	// P95S is the 95th percentile of the per-second worst ages.
	P95S float64 `json:"p95_s"`
	// Series is the worst age in each second of the run.
	Series []float64 `json:"series,omitempty"`
}
