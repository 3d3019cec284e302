package measure

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ProbeSchemaV1 identifies probe.json. Field names are a public contract: add
// freely, rename never.
const ProbeSchemaV1 = "evbench.probe/v1"

// ProbeFileName is the probe's result file in its directory.
const ProbeFileName = "probe.json"

// ProbeResult is the content of probe.json (written by package probe,
// rendered by reports).
type ProbeResult struct {
	Schema     string      `json:"schema"`
	Complete   bool        `json:"complete"`
	Reason     string      `json:"reason,omitempty"`
	Scenario   string      `json:"scenario"`
	Driver     DriverInfo  `json:"driver"`
	Durability *Durability `json:"durability,omitempty"`
	StartedAt  time.Time   `json:"started_at"`
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
	ClientLimitedAt float64     `json:"client_limited_at,omitempty"`
	Steps           []ProbeStep `json:"steps"`
	// Rebuild is a full replay measured after the search, over the
	// history of one run at the max sustainable rate: what evbench plan
	// takes bytes per event and rebuild time from.
	Rebuild     *Rebuild    `json:"rebuild,omitempty"`
	Environment Environment `json:"environment"`
}

// ProbeStep is one constant-rate run of the probe.
type ProbeStep struct {
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
	Histograms Histograms `json:"histograms"`
	// Gates are the SLO expressions judged over the pooled measured part.
	Gates []GateResult `json:"gates,omitempty"`
	// LagMax is the highest lag sample in the measured part (events).
	LagMax int64 `json:"lag_max"`
	// Borderline is true when the step was close to its verdict (passed
	// in only 4 of 5 sub-windows, an SLO value within 10 % of its
	// threshold, or achieved short of offered by 1-2 %): such a step is
	// run once more and the repeat decides.
	Borderline bool `json:"borderline,omitempty"`
	// Dir is the step's own result directory (relative to the probe's).
	Dir string `json:"dir,omitempty"`
	// DurationS is the measured part (after warm-up), seconds.
	DurationS float64 `json:"duration_s"`
}

// WriteProbeResult writes r as indented JSON to dir/probe.json.
func WriteProbeResult(dir string, r *ProbeResult) error {
	path := filepath.Join(dir, ProbeFileName)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("probe: encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("probe: write %s: %w; check that the directory exists and is writable", path, err)
	}
	return nil
}

// ReadProbeResult reads a probe result from a probe directory or a probe.json
// path, refusing a truncated file or another schema with one line naming
// the file.
func ReadProbeResult(dir string) (*ProbeResult, error) {
	path := dir
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		path = filepath.Join(dir, ProbeFileName)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("probe: %s does not exist; give a probe directory (evbench probe --out DIR) or its %s", path, ProbeFileName)
		}
		return nil, fmt.Errorf("probe: read %s: %w", path, err)
	}
	var r ProbeResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("probe: %s is truncated or not valid JSON (%v); re-run the probe or restore the file", path, err)
	}
	if r.Schema != ProbeSchemaV1 {
		if strings.HasPrefix(r.Schema, "evbench.probe/v") {
			return nil, fmt.Errorf("probe: %s has schema %q; this build reads %s, upgrade evbench", path, r.Schema, ProbeSchemaV1)
		}
		return nil, fmt.Errorf("probe: %s is not a probe result (schema %q, want %q)", path, r.Schema, ProbeSchemaV1)
	}
	return &r, nil
}
