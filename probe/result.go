// Package probe finds the maximum sustainable rate of a store: the highest
// constant rate whose every sub-window meets the SLO, with achieved close
// to offered and lag not growing, from a warm start. It is a loop of short
// runs over the runner (one per step), not a second engine.
package probe

import (
	"time"

	"github.com/evbench/evbench/reports/measure"
)

// SchemaV1 identifies probe.json. Field names are a public contract: add
// freely, rename never.
const SchemaV1 = "evbench.probe/v1"

// FileName is the probe's result file in its directory.
const FileName = "probe.json"

// Result is the content of probe.json.
type Result struct {
	Schema     string              `json:"schema"`
	Complete   bool                `json:"complete"`
	Reason     string              `json:"reason,omitempty"`
	Scenario   string              `json:"scenario"`
	Driver     measure.DriverInfo  `json:"driver"`
	Durability *measure.Durability `json:"durability,omitempty"`
	StartedAt  time.Time           `json:"started_at"`
	// SLO are the gate expressions every step was judged by.
	SLO []string `json:"slo"`
	// MaxSustainableRate is the highest passing offered rate (events/s),
	// 0 when even the first step failed; FirstFailingRate the lowest
	// failing one above it (0 when none failed up to --max).
	MaxSustainableRate float64 `json:"max_sustainable_rate"`
	FirstFailingRate   float64 `json:"first_failing_rate"`
	// Resolution is the relative gap the bisection stopped at.
	Resolution float64 `json:"resolution"`
	// ClientLimitedAt is the lowest offered rate at which evbench itself was
	// the limit (0 when never): no rate at or above it says anything about
	// the store.
	ClientLimitedAt float64             `json:"client_limited_at,omitempty"`
	Steps           []Step              `json:"steps"`
	Environment     measure.Environment `json:"environment"`
}

// Step is one constant-rate run of the probe.
type Step struct {
	Offered  float64  `json:"offered"`
	Achieved float64  `json:"achieved"`
	Pass     bool     `json:"pass"`
	Reasons  []string `json:"reasons,omitempty"`
	// Commit latency over the step after its warm-up, ms.
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	// LagSlope is the least-squares slope of lag over the step (events/s)
	// with its 95 % confidence interval.
	LagSlope      float64    `json:"lag_slope"`
	LagSlopeCI    [2]float64 `json:"lag_slope_ci"`
	ClientLimited bool       `json:"client_limited"`
	// SubWindowsPassed of SubWindows met the SLO.
	SubWindowsPassed int `json:"sub_windows_passed"`
	SubWindows       int `json:"sub_windows"`
	// Repeated is true for the second run of a borderline step.
	Repeated bool `json:"repeated,omitempty"`
	// Histograms holds the step's post-warm-up commit histogram (base64
	// V2, ns), so steps can be re-percentiled or merged.
	Histograms measure.Histograms `json:"histograms"`
	// Dir is the step's own result directory (relative to the probe's).
	Dir string `json:"dir,omitempty"`
	// DurationS is the measured part (after warm-up), seconds.
	DurationS float64 `json:"duration_s"`
}
