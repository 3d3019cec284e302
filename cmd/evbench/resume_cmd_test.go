package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
)

// TestRunDurableUsageErrors: durable consumers on a driver without them,
// and a consumer-restart a scenario is not ready for, are usage errors
// (exit 2) before any run starts, one line each.
func TestRunDurableUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"durable on refstore", []string{"run", "burst", "--driver", "refstore", "--set", "consumers.durable={}"}, "driver refstore has no durable consumers"},
		{"restart without durable", []string{"run", "burst", "--driver", "memory", "--set", "expect.delivery=at-least-once", "--set", "faults=[{at: 1s, kind: consumer-restart}]"}, "add consumers.durable"},
		{"restart expecting exactly-once", []string{"run", "burst", "--driver", "memory", "--set", "consumers.durable={}", "--set", "faults=[{at: 1s, kind: consumer-restart}]"}, "declare expect: {delivery: at-least-once}"},
		{"restart of a missing projector", []string{"run", "burst", "--driver", "memory", "--set", "consumers.durable={}", "--set", "expect.delivery=at-least-once", "--set", "faults=[{at: 1s, kind: consumer-restart, projector: 3}]"}, "faults[0].projector: 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			code, text := execCLI(t, append(tc.args, "--out", out)...)
			if code != exitUsage || !strings.Contains(text, tc.want) {
				t.Fatalf("exit %d, want %d with %q; output:\n%s", code, exitUsage, tc.want, text)
			}
			if _, err := measure.ReadResult(out); err == nil {
				t.Fatal("a usage error must not start a run or write a result")
			}
		})
	}
}

// TestRunConsumerRestart runs the CLI end to end on memory (--duration
// rescales the restart with the rest of the timeline): the restart is
// in the summary and the at-least-once run passes.
func TestRunConsumerRestart(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r")
	code, text := execCLI(t, "run", "burst", "--driver", "memory", "--duration", "2s", "-q", "--out", out,
		"--set", "consumers.durable={commit_every: 50}", "--set", "expect.delivery=at-least-once",
		"--set", "faults=[{at: 1s, kind: consumer-restart}]", "--set", `gates=["consumer_restart.replayed.max <= 50"]`)
	if code != exitOK || !strings.Contains(text, "  restarts   projector 0 at ") {
		t.Fatalf("exit %d; output:\n%s", code, text)
	}
	r, err := measure.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ConsumerRestarts) != 1 || r.ConsumerRestarts[0].Lost != 0 || r.ConsumerRestarts[0].Replayed > 50 {
		t.Fatalf("consumer_restarts = %+v", r.ConsumerRestarts)
	}
}
