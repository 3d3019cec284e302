// Package probe finds the maximum sustainable rate of a store: the highest
// constant rate whose every sub-window meets the SLO, with achieved close
// to offered and lag not growing, from a warm start. It is a loop of short
// runs over the runner (one per step), not a second engine.
package probe

import "github.com/evbench/evbench/reports/measure"

// The probe.json model lives in reports/measure beside result.json's, so
// reports can render it without depending on the engine.
type (
	// Result is the content of probe.json.
	Result = measure.ProbeResult
	// Step is one constant-rate run of the probe.
	Step = measure.ProbeStep
)

// SchemaV1 identifies probe.json; FileName is its name in a probe directory.
const (
	SchemaV1 = measure.ProbeSchemaV1
	FileName = measure.ProbeFileName
)

// WriteResult writes r as indented JSON to dir/probe.json.
func WriteResult(dir string, r *Result) error { return measure.WriteProbeResult(dir, r) }

// ReadResult reads a probe directory or its probe.json.
func ReadResult(dir string) (*Result, error) { return measure.ReadProbeResult(dir) }
