package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestRunServesMetricsWhileRunning: with --metrics-addr, /metrics answers
// evbench_ series during the run, and the plain progress lines (stderr is
// not a terminal) carry rate and p99.
func TestRunServesMetricsWhileRunning(t *testing.T) {
	addr := freeAddr(t)
	out := filepath.Join(t.TempDir(), "r")
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		c, so, se := runCLI(t, "run", "burst", "--driver", "memory", "--duration", "4s", "--metrics-addr", addr, "--out", out)
		done <- result{c, so, se}
	}()
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(body, "evbench_events_total{outcome=\"acked\"}") || !strings.Contains(body, `evbench_phase{phase="load"} 1`) {
		if time.Now().After(deadline) {
			t.Fatalf("no evbench_ series at http://%s/metrics during the run; last body:\n%.2000s", addr, body)
		}
		time.Sleep(200 * time.Millisecond)
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
	}
	for _, want := range []string{`evbench_run_info{driver="memory",durability=`, "evbench_commit_latency_seconds_bucket{le=", "evbench_lag_events"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	r := <-done
	if r.code != exitOK {
		t.Fatalf("run exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "Prometheus metrics at http://"+addr+"/metrics") {
		t.Errorf("stderr does not announce the metrics URL:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "load  offered ") || !strings.Contains(r.stderr, " p99 ") {
		t.Errorf("plain progress lines lack rate and p99:\n%s", r.stderr)
	}
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("the metrics server still answers after the run")
	}
}

// TestLiveAddressErrors: an address in use or off loopback is a usage
// error (exit 2) naming the flag, before any load: no result directory.
func TestLiveAddressErrors(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	busy := held.Addr().String()
	cases := []struct{ flag, addr, want string }{
		{"--metrics-addr", busy, "--metrics-addr " + busy + ": address in use"},
		{"--dashboard", busy, "--dashboard " + busy + ": address in use"},
		{"--metrics-addr", "0.0.0.0:0", "--metrics-addr 0.0.0.0:0: not a loopback address; add --listen-any"},
		{"--dashboard", "9464", "--dashboard 9464: not HOST:PORT"},
	}
	for _, tc := range cases {
		out := filepath.Join(t.TempDir(), "r")
		code, _, stderr := runCLI(t, "run", "burst", "--driver", "memory", "--duration", "2s", tc.flag, tc.addr, "--out", out)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s %s: exit %d, stderr %q; want exit 2 and %q", tc.flag, tc.addr, code, stderr, tc.want)
		}
		if strings.Count(strings.TrimSpace(stderr[strings.Index(stderr, "evbench: "+tc.flag):]), "\n") != 0 {
			t.Errorf("%s %s: the error is not one line: %q", tc.flag, tc.addr, stderr)
		}
		if _, err := os.Stat(filepath.Join(out, "result.json")); err == nil {
			t.Errorf("%s %s: a run started (result.json written)", tc.flag, tc.addr)
		}
	}
}
