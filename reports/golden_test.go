package reports

import (
	"bytes"
	"flag"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update if intended)\n--- got ---\n%s", name, path, got)
	}
}

func goldenResults() map[string]*measure.Result {
	failing := measuretest.Result()
	failing.Delivery.Lost = 3
	failing.Gates = measure.EvaluateGates(failing, []string{"commit.p95 < 1ms", "delivery.lost == 0", "catch_up.max < 10s", "commit.p97 < 1ms"}, nil)
	failing.Errors = []measure.ErrorCount{{Op: "append", Message: "refstore: append: connection reset | retried", Count: 10}}
	incomplete := &measure.Result{Schema: measure.SchemaV1, Reason: "store unreachable: dial tcp 127.0.0.1:7000: connection refused",
		Scenario: measure.ScenarioInfo{Name: "burst"}, Driver: measure.DriverInfo{Name: "postgres", DSN: "postgres://postgres:***@127.0.0.1:5432/test"},
		StartedAt: measuretest.Start}
	limited := measuretest.Result()
	limited.Client = measure.JudgeClient(95, 3.2, 0.005)
	limited.Histograms.Clamped = map[string]int64{"send_delay": 1, "commit": 3}
	emulated := measuretest.Result()
	emulated.Driver = measure.DriverInfo{Name: "pubsub", DSN: "pubsub://evbench-emulated/evbench?emulator=true&endpoint=127.0.0.1:40000", Embedded: true,
		Describe: "pstest in-process Pub/Sub fake (emulated: in memory, latency figures not meaningful)", Emulated: true}
	return map[string]*measure.Result{"pass": measuretest.Result(), "fail": failing, "incomplete": incomplete, "limited": limited, "emulated": emulated}
}

func TestGoldenMarkdown(t *testing.T) {
	for name, r := range goldenResults() {
		t.Run(name, func(t *testing.T) { checkGolden(t, "report_"+name+".md", RenderMarkdown(r)) })
	}
}

func TestGoldenJUnit(t *testing.T) {
	for name, r := range goldenResults() {
		t.Run(name, func(t *testing.T) {
			b, err := RenderJUnit(r)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "junit_"+name+".xml", b)
		})
	}
}
