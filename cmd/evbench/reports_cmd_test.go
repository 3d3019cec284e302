package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/evbench/evbench/reports"
	"github.com/evbench/evbench/reports/measure"
)

// resetFlags sets every flag of c and its subcommands back to its default:
// cobra keeps flag values between runs.
func resetFlags(c *cobra.Command) {
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			_ = sv.Replace(nil)
		} else {
			_ = f.Value.Set(f.DefValue)
		}
		f.Changed = false
	})
	for _, sub := range c.Commands() {
		resetFlags(sub)
	}
}

// execCLI runs the root command with args and returns its exit code and
// output; flags are reset first because cobra keeps them between runs.
func execCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	resetFlags(rootCmd)
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs(args)
	err := rootCmd.Execute()
	code := 0
	if err != nil {
		code = exitUsage
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		out.WriteString("ERR: " + err.Error())
	}
	return code, out.String()
}

// writeResult writes a small complete result directory.
func writeResult(t *testing.T, driver string, commitP99 float64, scenario string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), driver)
	r := &measure.Result{
		Schema: measure.SchemaV1, Complete: true,
		Scenario:  measure.ScenarioInfo{Name: scenario, Resolved: json.RawMessage(`{"name":"` + scenario + `"}`)},
		Driver:    measure.DriverInfo{Name: driver},
		StartedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), DurationS: 10,
		Events:       measure.EventCounts{Scheduled: 100, Sent: 100, Acked: 100},
		Commit:       measure.Percentiles{Count: 100, P50: 1, P95: 2, P99: commitP99, Max: 10},
		E2E:          measure.Percentiles{Count: 100, P50: 2, P95: 4, P99: 8, Max: 20},
		Delivery:     measure.Delivery{Delivered: 100},
		Gates:        []measure.GateResult{{Expr: "commit.p95 < 20ms"}},
		AchievedRate: 10, OfferedRate: 10,
	}
	if err := reports.WriteAll(dir, r); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGateCommand(t *testing.T) {
	res := writeResult(t, "refstore", 3, "campaign")
	slower := writeResult(t, "slower", 30, "campaign")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"pass", []string{"gate", res, "--gate", "delivery.lost == 0"}, 0, "PASS  delivery.lost == 0"},
		{"fail", []string{"gate", res, "--gate", "commit.p95 < 1us"}, 1, "FAIL  commit.p95 < 1us"},
		{"stored gates", []string{"gate", res}, 0, "commit.p95 < 20ms"},
		{"invalid", []string{"gate", res, "--gate", "commit.p95 <"}, 2, "ends early"},
		{"unknown metric", []string{"gate", res, "--gate", "comit.p95 < 1ms"}, 2, "known metrics"},
		{"absent metric", []string{"gate", res, "--gate", "rebuild.events_per_sec > 1"}, 1, "absent"},
		{"default regressions", []string{"gate", slower, "--baseline", res, "--gate", "delivery.lost == 0"}, 1, "higher is worse"},
		{"no regression", []string{"gate", res, "--baseline", res}, 0, "commit.p99 <= baseline * 1.10 + 1ms"},
		{"explicit baseline", []string{"gate", slower, "--baseline", res, "--gate", "commit.p99 < baseline * 20"}, 0, "baseline 3 ms"},
		{"missing result", []string{"gate", filepath.Join(t.TempDir(), "none")}, 2, "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := execCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

func TestCompareCommand(t *testing.T) {
	a := writeResult(t, "refstore", 3, "campaign")
	b := writeResult(t, "postgres", 6, "burst")
	html := filepath.Join(t.TempDir(), "cmp.html")
	code, out := execCLI(t, "compare", a, filepath.Join(b, "result.json"), "--html", html)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{"refstore", "postgres", "6 (+100%, worse)", "WARNING: different scenarios"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if fi, err := os.Stat(html); err != nil || fi.Size() < 1000 {
		t.Errorf("--html not written: %v", err)
	}
	if code, out := execCLI(t, "compare", a); code != 2 {
		t.Errorf("one result: exit %d, want 2\n%s", code, out)
	}
}

func TestReportCommand(t *testing.T) {
	dir := writeResult(t, "refstore", 3, "campaign")
	os.Remove(filepath.Join(dir, "report.md"))
	if code, out := execCLI(t, "report", dir); code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.md")); err != nil {
		t.Error(err)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "result.json"), []byte(`{"schema":"evbench.result/v9"}`), 0o644)
	if code, out := execCLI(t, "report", bad); code != 2 || !strings.Contains(out, "newer evbench") {
		t.Errorf("newer schema: exit %d\n%s", code, out)
	}
}
