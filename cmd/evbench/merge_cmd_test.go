package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evbench/evbench/reports"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/merge/mergetest"
)

// TestMergeCommand: evbench merge writes a normal result directory that
// report, compare and gate accept, with the percentiles of one histogram
// of every raw sample; bad input exits 2 with one line.
func TestMergeCommand(t *testing.T) {
	root := t.TempDir()
	dirs, ref, err := mergetest.WriteRun(root, 3)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "merged")
	code, text := execCLI(t, append(append([]string{"merge"}, dirs...), "--out", out)...)
	if code != exitOK || !strings.Contains(text, "merged 3 of 3 shard(s)") {
		t.Fatalf("merge: exit %d\n%s", code, text)
	}
	for _, f := range []string{measure.ResultFile, "commit.hlog", "e2e.hlog", reports.MarkdownFile, reports.HTMLFile, reports.JUnitFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("merged directory lacks %s", f)
		}
	}
	r, err := measure.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := measure.Summarize(ref["commit"]); r.Commit != want {
		t.Errorf("commit %+v, want %+v", r.Commit, want)
	}
	if code, text := execCLI(t, "report", out); code != exitOK {
		t.Errorf("report on the merged directory: exit %d\n%s", code, text)
	}
	if code, text := execCLI(t, "gate", out, "--gate", "events.acked == 7500", "--gate", "delivery.ok == 1"); code != exitOK {
		t.Errorf("gate on the merged directory: exit %d\n%s", code, text)
	}
	if code, text := execCLI(t, "gate", out, "--baseline", dirs[0]); code != exitGateFailed || !strings.Contains(text, "FAIL") {
		t.Errorf("gate against one shard (3x the latency tail of shard 0): exit %d, want 1\n%s", code, text)
	}
	if code, text := execCLI(t, "compare", dirs[0], out); code != exitOK || !strings.Contains(text, "merged") {
		t.Errorf("compare shard 0 with the merged result: exit %d\n%s", code, text)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"merge", dirs[0], dirs[2], "--out", filepath.Join(root, "m2")}, exitUsage, "shard(s) 1 of 3 missing"},
		{[]string{"merge", dirs[0], dirs[2], "--partial", "--out", filepath.Join(root, "m3")}, exitIncomplete, "incomplete"},
		{[]string{"merge", dirs[0], dirs[1], dirs[2]}, exitUsage, `"out" not set`},
		{[]string{"merge", dirs[0], dirs[1], dirs[2], "--out", out}, exitUsage, "already holds a result.json"},
	} {
		code, text := execCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(text, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s", tc.args, code, tc.code, tc.want, text)
		}
	}
}
