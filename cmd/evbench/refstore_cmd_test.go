package main

import (
	"strings"
	"testing"
)

// TestRefstoreServeFlagErrors: bad limits are usage errors (exit 2) that
// name the flag and the accepted range.
func TestRefstoreServeFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-conns", "0"}, "--max-conns 0: want 1 to"},
		{[]string{"--max-conn-bytes", "12 parsecs"}, "not a byte size"},
		{[]string{"--max-conn-bytes", "1KiB"}, "--max-conn-bytes 1KiB: want 64KiB to 1GiB"},
		{[]string{"--idle-timeout", "-1s"}, "--idle-timeout -1s: want a duration >= 0"},
		{[]string{"--idle-timeout", "1ms"}, "want at least 100ms, or 0 for never"},
	} {
		args := append([]string{"refstore", "serve", "--dir", dir, "--addr", "127.0.0.1:0"}, c.args...)
		code, _, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"65536": 65536, "512KiB": 512 << 10, "64MiB": 64 << 20, "1GiB": 1 << 30, "2M": 2 << 20, "10B": 10} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "MiB", "1.5MiB", "1TiB"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q): no error", bad)
		}
	}
}

// TestRefstoreTorturePowerLoss: sync=always exits 0 with lost=0; sync=none
// exits 1 and prints its losses.
func TestRefstoreTorturePowerLoss(t *testing.T) {
	code, out, stderr := runCLI(t, "refstore", "torture", "--power-loss", "--cycles", "30", "--seed", "3")
	if code != 0 || !strings.Contains(out, "sync=always cycles=30 ") || !strings.Contains(out, " lost=0 ") {
		t.Fatalf("sync=always: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "refstore", "torture", "--power-loss", "--cycles", "30", "--seed", "3", "--sync", "none")
	if code != 1 || !strings.Contains(out, "as expected: it acknowledges before fsync") || strings.Contains(out, " lost=0 ") {
		t.Fatalf("sync=none: exit %d\n%s%s", code, out, stderr)
	}
	code, _, stderr = runCLI(t, "refstore", "torture", "--sync", "none")
	if code != 2 || !strings.Contains(stderr, "need --power-loss") {
		t.Fatalf("--sync without --power-loss: exit %d %q", code, stderr)
	}
}
