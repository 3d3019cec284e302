package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
)

// TestRunExitCodes pins the public exit-code contract of `evbench run`.
func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		code     int
		complete bool // a result.json must exist, with this completeness
		inOutput string
	}{
		{"passes", []string{"run", "burst", "--driver", "memory", "--duration", "2s", "-q"}, exitOK, true, "PASS"},
		{"gate fails", []string{"run", "burst", "--driver", "memory", "--duration", "2s", "-q", "--set", `gates=["commit.p50 < 1ns"]`}, exitGateFailed, true, "FAIL"},
		{"unknown driver", []string{"run", "burst", "--driver", "kafak"}, exitUsage, false, `unknown driver "kafak"`},
		{"invalid scenario", []string{"run", "burst", "--set", "load.start=-5"}, exitUsage, false, "load.start"},
		{"faults on memory", []string{"run", "burst", "--driver", "memory", "--set", "faults=[{at: 0s, for: 1s, path: consumer, kind: partition}]"}, exitUsage, false, "no network connection"},
		{"random payload too small", []string{"run", "burst", "--driver", "memory", "--set", "events.payload=random", "--set", "events.size={min: 8, max: 8}"}, exitUsage, false, "events.size"},
		{"random_ratio out of range", []string{"run", "burst", "--driver", "memory", "--set", "events.payload=random", "--set", "events.random_ratio=1.5"}, exitUsage, false, "random_ratio"},
		{"delivery state too large", []string{"run", "burst", "--driver", "memory", "--set", "events.keys.count=100000000", "--set", "consumers.projectors=4"}, exitUsage, false, "GiB limit"},
		{"unreachable store", []string{"run", "burst", "--dsn", "refstore://127.0.0.1:1", "--duration", "2s", "-q"}, exitIncomplete, false, "127.0.0.1:1"},
		// The verifier's verdicts reach the exit code: each stub store breaks
		// one promise (drivers/faulty) and the run must exit 1 saying which.
		{"store loses an acked event", faulty("lose"), exitGateFailed, true, "acknowledged event(s) lost"},
		{"store duplicates", faulty("duplicate"), exitGateFailed, true, "more than once"},
		{"duplicates allowed by expect", append(faulty("duplicate"), "--set", "expect.delivery=at-least-once"), exitOK, true, "PASS"},
		{"store reorders a key", faulty("swap"), exitGateFailed, true, "out of per-key order"},
		{"store delivers after the drain", append(faulty("late"), "--set", "consumers.drain=1s", "--set", "consumers.rebuild=none"), exitGateFailed, true, "inconclusive"},
		{"store misroutes", faulty("misroute"), exitGateFailed, true, "another key"},
		{"bad expect", []string{"run", "burst", "--driver", "memory", "--set", "expect.order=global"}, exitUsage, false, "expect.order"},
		{"store fault without a managed store", []string{"run", "burst", "--driver", "nats", "--set", "faults=[{at: 1s, path: store, kind: kill}]"}, exitUsage, false, "--managed"},
		{"restart_after negative", []string{"run", "burst", "--set", "faults=[{at: 1s, path: store, kind: kill, restart_after: -1s}]"}, exitUsage, false, "restart_after"},
		{"managed with a dsn", []string{"run", "burst", "--managed", "--dsn", "refstore://127.0.0.1:7600"}, exitUsage, false, "exclude each other"},
		{"managed kafka", []string{"run", "burst", "--driver", "kafka", "--managed"}, exitUsage, false, "cannot be managed"},
		{"managed-param without managed", []string{"run", "burst", "--managed-param", "sync=always"}, exitUsage, false, "add --managed"},
		{"network kind on the store path", []string{"run", "burst", "--set", "faults=[{at: 1s, for: 1s, path: store, kind: latency, latency: 5ms}]"}, exitUsage, false, "acts on a network path"},
		{"probe plan without a peak", []string{"probe", "burst", "--driver", "memory", "--retention", "30d"}, exitUsage, false, "--peak-rate"},
		{"probe min above max", []string{"probe", "burst", "--driver", "memory", "--min", "5000", "--max", "100"}, exitUsage, false, "--min"},
		{"bad retry", []string{"run", "burst", "--driver", "memory", "--set", "load.retry={attempts: 0}"}, exitUsage, false, "load.retry.attempts"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name)
			args := append(append([]string(nil), tc.args...), "--out", out)
			code, text := execCLI(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; output:\n%s", code, tc.code, text)
			}
			if !strings.Contains(text, tc.inOutput) {
				t.Fatalf("output lacks %q:\n%s", tc.inOutput, text)
			}
			r, err := measure.ReadResult(out)
			if tc.code == exitUsage {
				if err == nil {
					t.Fatal("a usage error must not start a run or write a result")
				}
				return
			}
			if err != nil {
				t.Fatalf("case %d: no result written: %v", i, err)
			}
			if r.Complete != tc.complete {
				t.Fatalf("complete = %v, want %v (reason %q)", r.Complete, tc.complete, r.Reason)
			}
		})
	}
}

// faulty runs a short burst on the deliberately broken store.
func faulty(fault string) []string {
	return []string{"run", "burst", "--driver", "faulty", "--dsn", "faulty://cli-" + fault + "?fault=" + fault + "&every=97",
		"--duration", "2s", "-q", "--seed", "7", "--set", "events.keys.count=3"}
}
