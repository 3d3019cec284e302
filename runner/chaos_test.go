package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/evbench/evbench/drivers/nats"
	_ "github.com/evbench/evbench/drivers/refstore"
)

// latencyScenario: a steady 200/s for 4 s with a 50 ms latency fault on one
// path for the whole run.
func latencyScenario(t *testing.T, path string) string {
	return fmt.Sprintf(`
name: latency-%s
events: {size: {min: 200, max: 400}, keys: {count: 100}}
load: {start: 200, duration: 4s}
consumers: {projectors: 1}
faults:
  - {at: 0s, for: 4s, path: %s, kind: latency, latency: 50ms}
`, path, path)
}

// TestLatencyFaultPerPath is the chaos acceptance check: 50 ms on the
// producer path raises commit p50 to >= 50 ms; on the consumer path it leaves
// commit latency alone and raises end-to-end p50 to >= 50 ms. Run for the
// embedded refstore and for one real driver (NATS JetStream, embedded).
func TestLatencyFaultPerPath(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four 4 s scenarios")
	}
	for _, driver := range []string{"refstore", "nats"} {
		t.Run(driver, func(t *testing.T) {
			prod, err := Run(context.Background(), Config{Scenario: mustParse(t, latencyScenario(t, "producer")), Driver: driver})
			if err != nil {
				t.Fatalf("producer run: %v", err)
			}
			cons, err := Run(context.Background(), Config{Scenario: mustParse(t, latencyScenario(t, "consumer")), Driver: driver})
			if err != nil {
				t.Fatalf("consumer run: %v", err)
			}
			t.Logf("producer fault: commit p50 %.2f ms, e2e p50 %.2f ms; consumer fault: commit p50 %.2f ms, e2e p50 %.2f ms",
				prod.Commit.P50, prod.E2E.P50, cons.Commit.P50, cons.E2E.P50)
			if prod.Commit.P50 < 50 {
				t.Errorf("producer latency 50ms: commit p50 = %.2f ms, want >= 50", prod.Commit.P50)
			}
			if cons.E2E.P50 < 50 {
				t.Errorf("consumer latency 50ms: e2e p50 = %.2f ms, want >= 50", cons.E2E.P50)
			}
			// "Unchanged": the consumer-path fault must not reach the append path.
			if cons.Commit.P50 >= 50 {
				t.Errorf("consumer latency 50ms leaked into commits: commit p50 = %.2f ms", cons.Commit.P50)
			}
			for _, r := range []struct {
				name string
				lost int64
				n    int
			}{{"producer", prod.Delivery.Lost, len(prod.Faults)}, {"consumer", cons.Delivery.Lost, len(cons.Faults)}} {
				if r.lost != 0 {
					t.Errorf("%s run lost %d events", r.name, r.lost)
				}
				if r.n != 1 {
					t.Errorf("%s run recorded %d fault windows, want 1", r.name, r.n)
				}
			}
		})
	}
}

// listeningInodes returns the socket inodes of this process that are in the
// LISTEN state on TCP (v4 or v6), i.e. every listener evbench opened.
func listeningInodes(t *testing.T) map[string]bool {
	t.Helper()
	listen := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) > 9 && fs[3] == "0A" { // TCP_LISTEN
				listen[fs[9]] = true
			}
		}
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil || !strings.HasPrefix(target, "socket:[") {
			continue
		}
		inode := strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")
		if listen[inode] {
			mine[inode] = true
		}
	}
	return mine
}

// TestNoListenerLeftAfterRun: after a run with faults, complete or
// interrupted, every listener evbench opened (embedded store, proxies) is
// closed.
func TestNoListenerLeftAfterRun(t *testing.T) {
	yml := `
name: leak-test
events: {size: {min: 100, max: 200}, keys: {count: 10}}
load: {start: 200, duration: 3s}
consumers: {projectors: 1}
faults:
  - {at: 1s, for: 1s, path: consumer, kind: partition}
  - {at: 0s, for: 3s, path: producer, kind: latency, latency: 5ms}
`
	before := listeningInodes(t)
	for _, interrupt := range []time.Duration{0, 1500 * time.Millisecond} {
		t.Run("interrupt="+strconv.Itoa(int(interrupt/time.Millisecond))+"ms", func(t *testing.T) {
			ctx := context.Background()
			if interrupt > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, interrupt)
				defer cancel()
			}
			res, err := Run(ctx, Config{Scenario: mustParse(t, yml), Driver: "refstore"})
			if interrupt > 0 && (err == nil || res.Complete) {
				t.Fatalf("interrupted run: err=%v complete=%v", err, res.Complete)
			}
			if interrupt == 0 && err != nil {
				t.Fatalf("run: %v", err)
			}
			var leaked []string
			for inode := range listeningInodes(t) {
				if !before[inode] {
					leaked = append(leaked, inode)
				}
			}
			if len(leaked) > 0 {
				t.Fatalf("%d listener(s) left open after the run (socket inodes %v)", len(leaked), leaked)
			}
		})
	}
}

// TestFaultErrorsAttributed: append errors caused by a reset storm are
// counted on the fault's window and in the per-second failure series.
func TestFaultErrorsAttributed(t *testing.T) {
	res, err := Run(context.Background(), Config{Driver: "refstore", Scenario: mustParse(t, `
name: reset-test
events: {size: {min: 100, max: 200}, keys: {count: 10}}
load: {start: 300, duration: 4s}
consumers: {projectors: 1}
faults:
  - {at: 1s, for: 1s, path: producer, kind: reset}
`)})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(res.Faults) != 1 {
		t.Fatalf("faults %+v", res.Faults)
	}
	if res.Events.Failed == 0 {
		t.Fatalf("a reset storm on the producer path failed no append: %+v", res.Events)
	}
	if got := res.Faults[0].Errors["append"]; got == 0 || got > res.Events.Failed {
		t.Fatalf("fault window counts %d append errors, run failed %d", got, res.Events.Failed)
	}
	var series float64
	for _, v := range res.Series.Failed {
		series += v
	}
	if int64(series) != res.Events.Failed {
		t.Fatalf("failure series sums to %v, run failed %d", series, res.Events.Failed)
	}
	if res.Delivery.Lost != 0 {
		t.Fatalf("lost %d", res.Delivery.Lost)
	}
}
