package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkFsyncFloor is the machine's floor: a 4 KiB O_DSYNC write loop
// into a preallocated file (what one durable commit can cost at best).
func BenchmarkFsyncFloor(b *testing.B) {
	path := filepath.Join(b.TempDir(), "floor")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_DSYNC, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const size = 64 << 20
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		b.Fatal(err)
	}
	f.Sync()
	buf := make([]byte, 4096)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := f.WriteAt(buf, int64(i*4096)%size); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/write")
}

// buildLog writes n events of 256 B payload (sync=none, big batches).
func buildLog(tb testing.TB, dir string, n int) {
	l, err := Open(dir, Options{Sync: SyncNone})
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	payload := make([]byte, 256)
	const batch = 1000
	for i := int(l.Head()); i < n; i += batch {
		evs := make([]Event, min(batch, n-i))
		for j := range evs {
			var id [16]byte
			copy(id[:], strconv.Itoa(i+j))
			evs[j] = Event{ID: id, Stream: "order-" + strconv.Itoa((i+j)%100000), Seq: uint64(i + j), Type: "OrderPlaced", Payload: payload, CreatedAt: int64(i)}
		}
		if _, err := l.Append(context.Background(), AppendRequest{Expected: ExpectAny, Events: evs}); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkOpenLarge measures recovery (open) time and RSS for a large log of
// REFSTORE_BENCH_EVENTS events (default 1,000,000) of 256 B in 100,000
// streams, built with sync=none in REFSTORE_BENCH_DIR (default a temp dir,
// removed afterwards; reused across runs when set). Each open runs in a
// fresh child process (this test binary re-executed) so RSS is the open's
// own: first with the checkpoint removed (full scan), then with the
// checkpoint that the first open's Close wrote.
func BenchmarkOpenLarge(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("REFSTORE_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	dir := os.Getenv("REFSTORE_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	t0 := time.Now()
	buildLog(b, dir, n)
	b.Logf("built %d events in %v", n, time.Since(t0))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, mode := range []string{"fullscan", "checkpoint"} {
			out, err := openChild(dir, mode)
			if err != nil {
				b.Fatalf("%s: %v\n%s", mode, err, out)
			}
			b.Logf("%s: %s", mode, out)
			var secs, rss, hwm float64
			var head uint64
			if _, err := fmt.Sscanf(out, "open_s=%g head=%d rss_mb=%g hwm_mb=%g", &secs, &head, &rss, &hwm); err != nil {
				b.Fatalf("%s: parse %q: %v", mode, out, err)
			}
			if head < uint64(n) {
				b.Fatalf("%s: head %d, want %d", mode, head, n)
			}
			b.ReportMetric(secs, "s-open-"+mode)
			b.ReportMetric(hwm, "MB-peakRSS-"+mode)
		}
	}
}

func openChild(dir, mode string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenChild$", "-test.v")
	cmd.Env = append(os.Environ(), "REFSTORE_OPEN_CHILD="+dir, "REFSTORE_OPEN_MODE="+mode)
	raw, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(raw), "\n") {
		if i := strings.Index(line, "open_s="); i >= 0 {
			return strings.TrimSpace(line[i:]), err
		}
	}
	return string(raw), fmt.Errorf("no result line (err %v)", err)
}

// TestOpenChild is BenchmarkOpenLarge's child process; it does nothing in a
// normal test run.
func TestOpenChild(t *testing.T) {
	dir := os.Getenv("REFSTORE_OPEN_CHILD")
	if dir == "" {
		t.Skip("only run as BenchmarkOpenLarge's child")
	}
	if os.Getenv("REFSTORE_OPEN_MODE") == "fullscan" {
		os.Remove(filepath.Join(dir, checkpointFile))
	}
	start := time.Now()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	rss, hwm := procStatusMB("VmRSS:"), procStatusMB("VmHWM:")
	rep := l.Recovery()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("open_s=%.3f head=%d rss_mb=%.1f hwm_mb=%.1f checkpoint=%d scanned=%d streams_note=%d\n",
		took.Seconds(), l.Head(), rss, hwm, rep.Checkpoint, rep.Scanned, len(rep.Notes))
}

func procStatusMB(field string) float64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field) {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}
