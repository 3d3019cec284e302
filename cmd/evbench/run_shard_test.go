package main

import (
	"strings"
	"testing"
	"time"
)

// TestRunShardUsageErrors: every bad sharding flag is a one-line usage
// error (exit 2) before anything starts.
func TestRunShardUsageErrors(t *testing.T) {
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	soon := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"index = N", []string{"--shard", "3/3", "--barrier"}, "index must be 0 to 2"},
		{"N = 0", []string{"--shard", "0/0", "--barrier"}, "N must be 1 to"},
		{"malformed", []string{"--shard", "two", "--barrier"}, "want i/N"},
		{"barrier and start-at", []string{"--shard", "0/3", "--barrier", "--start-at", soon}, "exclude each other"},
		{"lead >= N", []string{"--shard", "0/3", "--barrier", "--lead", "3"}, "--lead 3"},
		{"no common start", []string{"--shard", "1/3"}, "needs a common start"},
		{"start-at in the past", []string{"--shard", "0/3", "--start-at", past}, "in the past"},
		{"start-at not RFC3339", []string{"--shard", "0/3", "--start-at", "tomorrow"}, "RFC3339"},
		{"barrier without shard", []string{"--barrier"}, "add --shard i/N"},
		{"more shards than keys", []string{"--shard", "0/3", "--barrier", "--set", "events.keys.count=2"}, "events.keys.count 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "burst", "--driver", "memory", "--out", t.TempDir()}, tc.args...)
			code, text := execCLI(t, args...)
			if code != exitUsage || !strings.Contains(text, tc.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, exitUsage, tc.want, text)
			}
			if msg := text[strings.Index(text, "ERR: "):]; strings.Contains(strings.TrimSpace(msg), "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}
