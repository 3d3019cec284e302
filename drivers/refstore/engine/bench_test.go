package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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

func rssMB() float64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkOpenLarge measures recovery (open) time and RSS for a large log:
// REFSTORE_BENCH_EVENTS events (default 1,000,000) in REFSTORE_BENCH_DIR
// (default a temp dir; reused across runs when set).
func BenchmarkOpenLarge(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("REFSTORE_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	dir := os.Getenv("REFSTORE_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	buildLog(b, dir, n)
	runtime.GC()
	before := rssMB()
	b.ResetTimer()
	var took time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		l, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		took = time.Since(start)
		if l.Head() < uint64(n) {
			b.Fatalf("head %d", l.Head())
		}
		b.ReportMetric(rssMB(), "MB-RSS-open")
		l.Close()
	}
	b.ReportMetric(took.Seconds(), "s-open")
	b.ReportMetric(before, "MB-RSS-before")
	b.Log(fmt.Sprintf("events=%d open=%v", n, took))
}
