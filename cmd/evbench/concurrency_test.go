package main

import (
	"strings"
	"testing"
)

// expected_version on a driver without the capability is a usage error
// before anything starts, for run and probe alike.
func TestExpectedVersionRefusedOnKafka(t *testing.T) {
	for _, args := range [][]string{
		{"run", "contention", "--driver", "kafka", "--duration", "2s", "--out", t.TempDir()},
		{"probe", "contention", "--driver", "kafka", "--out", t.TempDir()},
	} {
		code, _, stderr := runCLI(t, args...)
		want := "events.concurrency.expected_version: driver kafka cannot append at an expected version"
		if code != 2 || !strings.Contains(stderr, want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line containing %q", args[0], code, stderr, want)
		}
	}
}
