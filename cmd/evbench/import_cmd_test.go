package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
	"github.com/evbench/evbench/scenarios/omb"
)

const ombTestdata = "../../scenarios/omb/testdata/workloads/"

// execSplit runs the CLI as execCLI does but keeps stdout and stderr apart:
// import omb's stdout must be YAML alone.
func execSplit(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	resetFlags(rootCmd)
	var out, errOut bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	rootCmd.SetArgs(args)
	if err := rootCmd.Execute(); err != nil {
		code = exitUsage
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		errOut.WriteString("ERR: " + err.Error())
	}
	return code, out.String(), errOut.String()
}

func TestImportOMB(t *testing.T) {
	tests := []struct {
		file       string
		code       int
		warnings   int    // "# warning:" lines on stdout = "evbench: warning:" lines on stderr
		inStdout   string // e.g. the DSN hint
		inStderr   string
		partitions string
	}{
		{"1-topic-1-partition-100b.yaml", exitOK, 1, "--dsn 'kafka://127.0.0.1:9092?partitions=1'", "cannot send a file's bytes", "1"},
		{"1-topic-100-partitions-1kb-4p-4c-backlog.yaml", exitOK, 4, "--dsn 'kafka://127.0.0.1:9092?partitions=100'", "consumers pause at 5m0s for 1m45s", "100"},
		{"max-rate-many-topics.yaml", exitOK, 4, "run `evbench probe FILE`", "folded into one topic of 50 partitions", "50"},
		{"unknown-field.yaml", exitOK, 2, "partitions=16", `unknown field "producerStartRate"`, "16"},
		{"bad-syntax.yaml", exitUsage, 0, "", "bad-syntax.yaml:3: syntax: did not find expected ',' or ']'", ""},
		{"negative-rate.yaml", exitUsage, 0, "", "negative-rate.yaml:9: producerRate: -100 is negative", ""},
		{"missing.yaml", exitUsage, 0, "", "missing.yaml: cannot read OMB workload", ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			code, stdout, stderr := execSplit(t, "import", "omb", ombTestdata+tc.file)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.inStdout) || !strings.Contains(stderr, tc.inStderr) {
				t.Fatalf("stdout lacks %q or stderr lacks %q\nstdout:\n%s\nstderr:\n%s", tc.inStdout, tc.inStderr, stdout, stderr)
			}
			if tc.code != exitOK {
				if stdout != "" {
					t.Fatalf("a bad file must print no scenario, got:\n%s", stdout)
				}
				if lines := strings.Count(strings.TrimSpace(stderr), "\n"); lines != 0 {
					t.Fatalf("error is %d lines, want one:\n%s", lines+1, stderr)
				}
				return
			}
			if got := strings.Count(stdout, "\n# warning: "); got != tc.warnings {
				t.Errorf("%d warning comments, want %d", got, tc.warnings)
			}
			if got := strings.Count(stderr, "evbench: warning: "); got != tc.warnings {
				t.Errorf("%d warnings on stderr, want %d", got, tc.warnings)
			}
			// What import prints is a scenario evbench run accepts as it is.
			path := filepath.Join(t.TempDir(), "s.yaml")
			if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			sc, err := scenarios.LoadFile(path)
			if err != nil {
				t.Fatalf("printed scenario does not load: %v\n%s", err, stdout)
			}
			if err := scenarios.Validate(sc, validateOptions()); err != nil {
				t.Fatalf("printed scenario invalid: %v", err)
			}
			if sc.Events.Payload != scenarios.PayloadRandom || !strings.Contains(sc.Description, tc.file) {
				t.Errorf("payload %q description %q", sc.Events.Payload, sc.Description)
			}
		})
	}
}

func TestRunOMB(t *testing.T) {
	dir := t.TempDir()
	w100b := ombTestdata + "1-topic-1-partition-100b.yaml"
	tests := []struct {
		name     string
		args     []string
		code     int
		inOutput string
	}{
		// 50000 msg/s x 0.02 = 1000/s for 3 s: short, and light on a shared machine.
		{"runs on refstore", []string{"run", "--omb", w100b, "--duration", "3s", "--rate-scale", "0.02", "-q"}, exitOK, "PASS"},
		{"scenario and --omb", []string{"run", "burst", "--omb", w100b}, exitUsage, "exclude each other"},
		{"bad workload", []string{"run", "--omb", ombTestdata + "negative-rate.yaml"}, exitUsage, "producerRate: -100 is negative"},
		{"bad override", []string{"run", "--omb", w100b, "--set", "load.start=-1"}, exitUsage, "load.start"},
		// producerRate: 0 goes to evbench probe (here stopped by a bad override
		// before any step runs: a real probe takes minutes).
		{"rate 0 probes", []string{"run", "--omb", ombTestdata + "max-rate-many-topics.yaml", "--driver", "memory", "--set", "events.batch=0"}, exitUsage, "producerRate: 0 asks for the maximum rate: probing"},
		{"no scenario and no --omb", []string{"run"}, exitUsage, "accepts 1 arg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			code, text := execCLI(t, append(tc.args, "--out", out)...)
			if code != tc.code || !strings.Contains(text, tc.inOutput) {
				t.Fatalf("exit %d, want %d with %q; output:\n%s", code, tc.code, tc.inOutput, text)
			}
			if tc.code == exitUsage {
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Fatalf("a usage error left %s behind (%v)", out, err)
				}
				return
			}
			r, err := measure.ReadResult(out)
			if err != nil || !r.Complete {
				t.Fatalf("result: %v (%+v)", err, r)
			}
			if r.Scenario.Name != "1-topic-1-partition-100b" {
				t.Errorf("result scenario %q", r.Scenario.Name)
			}
			if _, err := os.Stat(filepath.Join(out, ombScenarioFile)); err != nil {
				t.Errorf("converted scenario not kept beside the result: %v", err)
			}
		})
	}
}

func TestOMBDSN(t *testing.T) {
	r := &omb.Result{DSNParams: map[string]map[string]string{"kafka": {"partitions": "100"}}}
	tests := []struct {
		driver, dsn, want, warning string
	}{
		{"kafka", "kafka://127.0.0.1:9092", "kafka://127.0.0.1:9092?partitions=100", ""},
		{"kafka", "kafka://b1:9092,b2:9092?topic=omb", "kafka://b1:9092,b2:9092?partitions=100&topic=omb", ""},
		{"kafka", "kafka://127.0.0.1:9092?partitions=12", "kafka://127.0.0.1:9092?partitions=12", "--dsn sets partitions=12, the workload implies partitions=100; keeping --dsn's"},
		{"kafka", "", "", "partitions=100 applies only with --dsn"},
		{"refstore", "", "", ""},
		{"nats", "nats://127.0.0.1:4222", "nats://127.0.0.1:4222", ""},
	}
	for _, tc := range tests {
		var stderr bytes.Buffer
		got := ombDSN(&stderr, tc.driver, tc.dsn, r)
		if got != tc.want {
			t.Errorf("%s %q: dsn %q, want %q", tc.driver, tc.dsn, got, tc.want)
		}
		if tc.warning == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tc.warning) {
			t.Errorf("%s %q: stderr %q, want %q", tc.driver, tc.dsn, stderr.String(), tc.warning)
		}
	}
}

// TestOMBProbeRefusesShard: a producerRate: 0 workload probes, and the
// probe does not shard, so --shard is refused (exit 2) rather than ignored.
func TestOMBProbeRefusesShard(t *testing.T) {
	code, _, stderr := runCLI(t, "run", "--omb", "../../scenarios/omb/testdata/workloads/max-rate-many-topics.yaml",
		"--shard", "0/2", "--barrier", "--out", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "--shard with --omb") {
		t.Errorf("exit %d, stderr %q; want exit 2 refusing --shard", code, stderr)
	}
}
