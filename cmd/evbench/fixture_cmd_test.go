package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateReportsFixtureLine: a malformed line of a scenario's
// events.fixture is a file:line error from evbench validate (exit 2), and
// a good catalogue (the shipped orders.jsonl) passes.
func TestValidateReportsFixtureLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("bad.jsonl", "{\"type\":\"OrderPlaced\",\"data\":{\"a\":1}}\n\n{\"type\":\"OrderPlaced\",\"data\":{\"a\":1}\n")
	bad := write("bad.yaml", "name: fx\nevents: {fixture: bad.jsonl, keys: {count: 10}}\nload: {start: 100, duration: 2s}\nconsumers: {projectors: 1}\n")
	code, _, stderr := runCLI(t, "validate", bad)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitUsage, stderr)
	}
	if want := "bad.yaml:2: events.fixture: " + filepath.Join(dir, "bad.jsonl") + ":3: not a JSON object"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q\nwant it to contain %q", stderr, want)
	}
	orders, err := filepath.Abs("../../fixtures/orders.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	good := write("good.yaml", "name: fx\nevents: {fixture: "+orders+", keys: {count: 10}}\nload: {start: 100, duration: 2s}\nconsumers: {projectors: 1}\n")
	if code, _, stderr := runCLI(t, "validate", good); code != 0 {
		t.Errorf("orders.jsonl: exit %d: %s", code, stderr)
	}
}
