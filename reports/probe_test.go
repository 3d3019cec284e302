package reports

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
)

// testProbe is a synthetic probe: a ramp 1,000..8,000/s that fails at
// 8,000, a bisection between 4,000 and 8,000, a repeated borderline step.
func testProbe() *measure.ProbeResult {
	step := func(off, ach float64, pass bool, p99 float64, reasons ...string) measure.ProbeStep {
		return measure.ProbeStep{Offered: off, Achieved: ach, Pass: pass, Reasons: reasons,
			P50: p99 / 4, P95: p99 * 0.8, P99: p99, P999: p99 * 1.5,
			LagSlope: 0.5, LagSlopeCI: [2]float64{-1, 2}, SubWindowsPassed: 6, SubWindows: 6, DurationS: 30}
	}
	fail := step(8000, 6100, false, 180, "commit.p99 < 20ms: 180 ms in 4 of 6 sub-windows", "achieved 76% of offered (< 95%)")
	fail.SubWindowsPassed, fail.LagSlope, fail.LagSlopeCI = 2, 1900, [2]float64{1700, 2100}
	border := step(6000, 5980, true, 19)
	border.SubWindowsPassed, border.Borderline = 5, true
	rep := border
	rep.Repeated, rep.Borderline, rep.P99 = true, false, 17
	return &measure.ProbeResult{
		Schema: measure.ProbeSchemaV1, Complete: true, Scenario: "probe-constant",
		Driver:     measure.DriverInfo{Name: "refstore", DSN: "refstore://127.0.0.1:7000", Embedded: true, Describe: "refstore (fsync per group)"},
		Durability: &measure.Durability{AckAfterFsync: "true", Replication: "none (single copy)", Source: "driver"},
		StartedAt:  measuretest.Start,
		SLO:        []string{"commit.p99 < 20ms", "events.failed_rate < 0.001"},
		Resolution: 0.05, MaxSustainableRate: 6000, FirstFailingRate: 7000,
		Steps: []measure.ProbeStep{step(1000, 1000, true, 2), step(2000, 2000, true, 2.5), step(4000, 3998, true, 4), fail,
			border, rep, step(7000, 6500, false, 40, "commit.p99 < 20ms: 40 ms")},
		Environment: measure.Environment{Go: "go1.26.8", OS: "linux", Arch: "amd64", CPUs: 2, Hostname: "ci", Version: "dev"},
	}
}

func goldenProbes() map[string]*measure.ProbeResult {
	limited := testProbe()
	limited.ClientLimitedAt, limited.FirstFailingRate = 7000, 8000
	limited.Steps[6].ClientLimited = true
	limited.Steps[6].Pass = false
	none := &measure.ProbeResult{Schema: measure.ProbeSchemaV1, Complete: false, Reason: "interrupted", Scenario: "probe-constant",
		Driver: measure.DriverInfo{Name: "postgres", DSN: "postgres://127.0.0.1:5432/test"}, StartedAt: measuretest.Start,
		SLO: []string{"commit.p99 < 5ms"}, FirstFailingRate: 1000, Resolution: 0.05,
		Steps: []measure.ProbeStep{{Offered: 1000, Achieved: 990, P50: 3, P95: 8, P99: 12, P999: 20, Reasons: []string{"commit.p99 < 5ms: 12 ms | all"}, SubWindows: 6}}}
	return map[string]*measure.ProbeResult{"probe": testProbe(), "probe_limited": limited, "probe_none": none}
}

func TestGoldenProbeMarkdown(t *testing.T) {
	for name, r := range goldenProbes() {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, "report_"+name+".md", RenderProbeMarkdown(r, []Plot{{Name: ProbeCurveName, Title: "Probe curve"}}))
		})
	}
}

func TestGoldenProbeTable(t *testing.T) {
	var b bytes.Buffer
	tb := NewProbeTable(&b)
	r := goldenProbes()["probe_limited"]
	for _, s := range r.Steps {
		if err := tb.Row(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.Summary(r); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "probe_table.txt", b.Bytes())
	if n := strings.Count(b.String(), "offered/s"); n != 1 {
		t.Errorf("header printed %d times", n)
	}
}

func TestGoldenProbeCompare(t *testing.T) {
	a := testProbe()
	b := testProbe()
	b.Driver.Name, b.MaxSustainableRate, b.FirstFailingRate = "postgres", 2000, 4000
	b.Durability = &measure.Durability{AckAfterFsync: "false", Replication: "none (single copy)"}
	b.Steps = b.Steps[:2] // 1,000 and 2,000 only: 80% of 2,000 lies between them, 50% (1,000) exactly on one
	c := goldenProbes()["probe_none"]
	cmp := NewProbeComparison([]string{"refstore-probe", "postgres-probe", "none"}, []*measure.ProbeResult{a, b, c})
	checkGolden(t, "probe_compare.txt", []byte(cmp.Text()))
	all := strings.Join(cmp.Warnings, "\n")
	for _, want := range []string{
		"WARNING: durability differs: refstore-probe acks after fsync, postgres-probe acks before fsync",
		"WARNING: different SLOs", "incomplete probe: interrupted",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	html, err := RenderProbeCompareHTML(cmp)
	if err != nil {
		t.Fatal(err)
	}
	selfContained(t, "probe compare HTML", html)
	for _, want := range []string{`id="summary"`, "data:image/svg", "durability differs", "interpolated"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("probe compare HTML lacks %q", want)
		}
	}
}

func TestProbeP99At(t *testing.T) {
	r := testProbe()
	for _, tc := range []struct {
		rate float64
		want float64
		ok   bool
	}{
		{1000, 2, true},
		{1500, 2.25, true},
		{3000, 3.25, true},
		{6000, 18, true}, // the repeated step is averaged: (19 + 17) / 2
		{6500, 29, true}, // between 6,000 (18) and 7,000 (40)
		{500, 0, false},  // below the first step
		{9000, 0, false}, // above the last
		{0, 0, false},
	} {
		got, ok := ProbeP99At(r, tc.rate)
		if ok != tc.ok || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("ProbeP99At(%v) = %v, %v; want %v, %v", tc.rate, got, ok, tc.want, tc.ok)
		}
	}
	// Client-limited steps say nothing about the store: left out.
	r.Steps[6].ClientLimited, r.ClientLimitedAt = true, 7000
	if got, ok := ProbeP99At(r, 6500); ok {
		t.Errorf("interpolated %v from a client-limited step", got)
	}
}

func selfContained(t *testing.T, what string, html []byte) {
	t.Helper()
	for _, bad := range []string{"http://", "https://", "<link", "src=\"plots/", "src=\"/"} {
		if bytes.Contains(html, []byte(bad)) {
			t.Errorf("%s refers outside itself: %q", what, bad)
		}
	}
}

func TestWriteProbe(t *testing.T) {
	for name, r := range goldenProbes() {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteProbe(dir, r); err != nil {
				t.Fatalf("WriteProbe: %v", err)
			}
			for _, f := range []string{MarkdownFile, HTMLFile, "plots/probe_curve.png", "plots/probe_curve.svg"} {
				fi, err := os.Stat(filepath.Join(dir, f))
				if err != nil {
					t.Errorf("missing %s: %v", f, err)
				} else if fi.Size() < 100 {
					t.Errorf("%s is only %d bytes", f, fi.Size())
				}
			}
			png, _ := os.ReadFile(filepath.Join(dir, "plots/probe_curve.png"))
			if !bytes.HasPrefix(png, []byte("\x89PNG")) {
				t.Error("probe_curve.png is not a PNG")
			}
			html, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
			selfContained(t, "probe report.html", html)
			for _, want := range []string{`id="steps"`, `id="verdict"`, "data:image/svg", "commit.p99 &lt; ", "Commit durability"} {
				if !strings.Contains(string(html), want) {
					t.Errorf("probe report.html lacks %q", want)
				}
			}
			if strings.Contains(name, "limited") && !strings.Contains(string(html), `id="client-limited"`) {
				t.Error("client-limited probe has no warning block")
			}
			if n := strings.Count(string(html), "<tr><td>"); n != len(r.Steps) {
				t.Errorf("steps table has %d rows, want %d", n, len(r.Steps))
			}
		})
	}
}

func TestWriteProbeNoSteps(t *testing.T) {
	dir := t.TempDir()
	r := &measure.ProbeResult{Schema: measure.ProbeSchemaV1, Reason: "store unreachable"}
	if err := WriteProbe(dir, r); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, PlotsDir, ProbeCurveName+".png")); !os.IsNotExist(err) {
		t.Errorf("a curve was drawn without steps: %v", err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if !strings.Contains(string(md), "no step ran") {
		t.Errorf("report.md:\n%s", md)
	}
}

func TestIsProbe(t *testing.T) {
	dir := t.TempDir()
	if IsProbe(dir) {
		t.Error("an empty directory is a probe")
	}
	b, _ := json.Marshal(testProbe())
	if err := os.WriteFile(filepath.Join(dir, measure.ProbeFileName), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if !IsProbe(dir) || !IsProbe(filepath.Join(dir, measure.ProbeFileName)) {
		t.Error("IsProbe misses a probe directory or its probe.json")
	}
	run := t.TempDir()
	if err := measure.WriteResult(filepath.Join(run, measure.ResultFile), measuretest.Result()); err != nil {
		t.Fatal(err)
	}
	if IsProbe(run) || IsProbe(filepath.Join(run, measure.ResultFile)) {
		t.Error("a run result counts as a probe")
	}
}
