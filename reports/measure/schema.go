package measure

// SchemaEvolution is what a run with a versions timeline or a canary
// measured (result.json "schema_evolution"): the events produced by type and
// version, and what two readers made of them. The current reader knows every
// type's newest version and upcasts older events; the canary knows only its
// old version and has no upcasters, as a consumer not yet redeployed.
type SchemaEvolution struct {
	// Produced counts the events the generator sent, by type and version.
	Produced []TypeVersionCount `json:"produced"`
	Current  SchemaReader       `json:"current"`
	Canary   *SchemaReader      `json:"canary,omitempty"`
}

// TypeVersionCount is a count of events of one version of one type.
type TypeVersionCount struct {
	Type    string `json:"type"`
	Version int    `json:"version"`
	Events  int64  `json:"events"`
}

// SchemaReader is one reader's view: this run's events it decoded.
type SchemaReader struct {
	// Version is the canary's version; 0 for the current reader, which
	// knows each type's newest.
	Version int `json:"version"`
	// Read events were decoded (upcast where needed); ReadBy breaks them
	// down by version as written.
	Read   int64              `json:"read"`
	ReadBy []TypeVersionCount `json:"read_by_version,omitempty"`
	// Unreadable events were newer than the reader knows, had no upcaster
	// or were malformed; UnreadableBy breaks them down by version as
	// written, UnreadableReasons by cause (too-new, no-upcaster, malformed).
	Unreadable        int64              `json:"unreadable"`
	UnreadableBy      []TypeVersionCount `json:"unreadable_by_version,omitempty"`
	UnreadableReasons map[string]int64   `json:"unreadable_reasons,omitempty"`
	// Upcast events needed at least one upcaster step; UpcastSteps counts
	// the steps (v1 -> v3 is two).
	Upcast      int64 `json:"upcast"`
	UpcastSteps int64 `json:"upcast_steps"`
	// UpcastNS is the upcaster chain's time per upcast event, in ns
	// (envelope parsing excluded: every reader pays that).
	UpcastNS UpcastCost `json:"upcast_ns"`
	// Duplicates are redeliveries the reader skipped (counted once).
	Duplicates int64 `json:"duplicates,omitempty"`
	// Drained is true when the reader reached the head after the last
	// acknowledgement, so its counts cover every event of the run.
	Drained bool `json:"drained"`
}

// UpcastCost is a distribution of upcast times, in nanoseconds.
type UpcastCost struct {
	Mean float64 `json:"mean"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// schemaMetrics adds the schema.* gate metrics: schema.unreadable (current
// reader) and schema.upcasts always with a timeline or canary,
// schema.canary_unreadable with a canary, schema.upcast_ns.mean when
// something was upcast.
func schemaMetrics(r *Result, m map[string]float64) {
	s := r.SchemaEvolution
	if s == nil {
		return
	}
	m["schema.unreadable"] = float64(s.Current.Unreadable)
	m["schema.upcasts"] = float64(s.Current.Upcast)
	if s.Current.Upcast > 0 {
		m["schema.upcast_ns.mean"] = s.Current.UpcastNS.Mean
		m["schema.upcast_ns.p99"] = s.Current.UpcastNS.P99
	}
	if s.Canary != nil {
		m["schema.canary_unreadable"] = float64(s.Canary.Unreadable)
		m["schema.canary_read"] = float64(s.Canary.Read)
	}
}
