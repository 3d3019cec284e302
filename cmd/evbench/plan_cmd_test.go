package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/evbench/evbench/probe"
	"github.com/evbench/evbench/reports"
	"github.com/evbench/evbench/reports/measure"
)

func TestPlanCommand(t *testing.T) {
	noRebuild := writeResult(t, "memory", 5, "burst")
	r, err := measure.ReadResult(noRebuild)
	if err != nil {
		t.Fatal(err)
	}
	r.Rebuild = &measure.Rebuild{Events: 200000, Bytes: 140000000, Seconds: 4, EventsPerSec: 50000, Complete: true}
	withRebuild := filepath.Join(t.TempDir(), "rebuild")
	if err := reports.WriteAll(withRebuild, r); err != nil {
		t.Fatal(err)
	}
	probeDir := t.TempDir()
	if err := probe.WriteResult(probeDir, &probe.Result{Schema: probe.SchemaV1, Complete: true, Scenario: "burst",
		MaxSustainableRate: 40000, FirstFailingRate: 44000}); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"run with rebuild", []string{"plan", withRebuild, "--peak-rate", "5000", "--retention", "30d"}, 0,
			[]string{"bytes per event", "700 B", "storage for the retention", "9.07 TB", "maximum rebuild duration after a failure", "3.0 days", "achieved, not a sustainable rate"}},
		{"markdown", []string{"plan", withRebuild, "--peak-rate", "5000", "--markdown"}, 0,
			[]string{"## Capacity plan", "| storage per day at peak | 302 GB/day |"}},
		{"result.json path", []string{"plan", filepath.Join(withRebuild, "result.json"), "--peak-rate", "5000"}, 0,
			[]string{"storage per day at peak"}},
		{"probe", []string{"plan", probeDir, "--peak-rate", "10000", "--event-size", "1KiB", "--cost-per-hour", "0.72"}, 0,
			[]string{"max sustainable rate", "40,000 events/s", "headroom over peak", "4.00 ×", "cost per million events at the sustainable rate", "--event-size"}},
		{"no rebuild with retention", []string{"plan", noRebuild, "--peak-rate", "5000", "--retention", "30d"}, exitUsage,
			[]string{"RESULT has no rebuild: re-run with --set consumers.rebuild=end", "or drop --retention"}},
		{"probe without event size", []string{"plan", probeDir, "--peak-rate", "10000"}, exitUsage,
			[]string{"pass --event-size BYTES"}},
		{"bad retention", []string{"plan", withRebuild, "--peak-rate", "5000", "--retention", "a month"}, exitUsage,
			[]string{`--retention "a month": want days (30d) or a Go duration`}},
		{"bad event size", []string{"plan", withRebuild, "--event-size", "big"}, exitUsage,
			[]string{`--event-size "big"`}},
		{"retention without peak", []string{"plan", withRebuild, "--retention", "7d"}, exitUsage,
			[]string{"--retention needs --peak-rate"}},
		{"empty dir", []string{"plan", empty}, exitUsage, []string{"holds neither result.json nor probe.json"}},
		{"missing", []string{"plan", filepath.Join(empty, "nope")}, exitUsage, []string{"does not exist"}},
		{"no args", []string{"plan"}, exitUsage, []string{"accepts 1 arg"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := execCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.code != 0 {
				if msg := out[strings.Index(out, "ERR: ")+5:]; strings.Contains(strings.TrimSpace(msg), "\n") {
					t.Errorf("error spans lines: %q", msg)
				}
			}
		})
	}
}
