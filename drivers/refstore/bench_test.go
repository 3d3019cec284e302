package refstore

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/internal/pace"
	"golang.org/x/sys/unix"
)

var benchID atomic.Uint64

func benchEvent() drivers.Event {
	n := benchID.Add(1)
	var id [16]byte
	binary.BigEndian.PutUint64(id[:8], uint64(time.Now().UnixNano()))
	binary.BigEndian.PutUint64(id[8:], n)
	return drivers.Event{ID: id, Key: "order-" + strconv.Itoa(int(n%1000)), Seq: n, Type: "OrderPlaced",
		Payload: make([]byte, 256), CreatedAt: time.Now().UnixNano()}
}

func quantile(lat []time.Duration, q float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[min(len(lat)-1, int(q*float64(len(lat))))]
}

func benchEmbed(b *testing.B) (*Embedded, drivers.Driver) {
	return benchEmbedOpts(b, engine.Options{Sync: engine.SyncAlways})
}

func benchEmbedOpts(b *testing.B, o engine.Options) (*Embedded, drivers.Driver) {
	e, err := StartEmbedded(b.TempDir(), o, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	d, err := Open(context.Background(), e.DSN(), drivers.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return e, d
}

// BenchmarkFsyncFloor is the disk's floor measured in the same binary as the
// append benchmarks (run them in one invocation: timings here are noisy): a
// 4 KiB O_DSYNC write loop into a 64 MiB file preallocated with fallocate
// (unwritten extents: each write also commits an extent conversion) and into
// one written with zeros first (what refstore's segments look like after
// its zero-ahead fill). Reports mean, p50 and p99 per write.
func BenchmarkFsyncFloor(b *testing.B) {
	for _, mode := range []string{"fallocate", "zeroed"} {
		b.Run(mode, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "floor")
			f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_DSYNC, 0o644)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			const size = 64 << 20
			if mode == "zeroed" {
				zero := make([]byte, 1<<20)
				for off := int64(0); off < size; off += int64(len(zero)) {
					if _, err := f.WriteAt(zero, off); err != nil {
						b.Fatal(err)
					}
				}
			} else if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
				b.Fatal(err)
			}
			f.Sync()
			buf := make([]byte, 4096)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, err := f.WriteAt(buf, int64(i*4096)%size); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/write")
			b.ReportMetric(float64(quantile(lat, 0.5).Microseconds()), "p50-µs")
			b.ReportMetric(float64(quantile(lat, 0.99).Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkAppendWriters: W closed-loop writers, one 256 B event per
// append, sync=always, over loopback TCP. Reports events/s and commit
// latency percentiles (send -> durable ack).
func BenchmarkAppendWriters(b *testing.B) {
	cases := []struct {
		name string
		w    int
		o    engine.Options
	}{
		{"writers=1", 1, engine.Options{}},
		{"writers=8", 8, engine.Options{}},
		{"writers=64", 64, engine.Options{}},
		{"writers=64/syncs=1", 64, engine.Options{SyncConcurrency: 1}},
		{"writers=64/syncs=4", 64, engine.Options{SyncConcurrency: 4}},
		// Not durable: the ceiling of the client/TCP/committer path alone.
		{"writers=64/sync=none", 64, engine.Options{Sync: engine.SyncNone}},
	}
	for _, c := range cases {
		w, o, name := c.w, c.o, c.name
		b.Run(name, func(b *testing.B) {
			e, d := benchEmbedOpts(b, o)
			var mu sync.Mutex
			var lat []time.Duration
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < w; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					local := make([]time.Duration, 0, b.N/w+1)
					for next.Add(1) <= int64(b.N) {
						ev := []drivers.Event{benchEvent()}
						t0 := time.Now()
						if _, err := d.Append(context.Background(), ev); err != nil {
							b.Error(err)
							return
						}
						local = append(local, time.Since(t0))
					}
					mu.Lock()
					lat = append(lat, local...)
					mu.Unlock()
				}()
			}
			wg.Wait()
			el := time.Since(start)
			b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
			b.ReportMetric(float64(quantile(lat, 0.5).Microseconds()), "p50-µs")
			b.ReportMetric(float64(quantile(lat, 0.99).Microseconds()), "p99-µs")
			reportCommitStats(b, e.Log.Stats())
		})
	}
}

// reportCommitStats adds records per fdatasync and the mean fdatasync time,
// to compare with the floor measured in the same run.
func reportCommitStats(b *testing.B, st engine.Stats) {
	if st.Syncs == 0 {
		return
	}
	b.ReportMetric(float64(st.Records)/float64(st.Syncs), "ev/sync")
	b.ReportMetric(float64(st.Records)/float64(st.Writes), "ev/write")
	b.ReportMetric(float64(st.SyncTime.Microseconds())/float64(st.Syncs), "sync-µs")
}

// BenchmarkAppendAsyncPipelined: one goroutine keeps up to 1000 appends of
// one 256 B event in flight on one connection (the open-loop generator's
// pattern).
func BenchmarkAppendAsyncPipelined(b *testing.B) {
	e, d := benchEmbed(b)
	aa := d.(drivers.AsyncAppender)
	sem := make(chan struct{}, 1000)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		sem <- struct{}{}
		wg.Add(1)
		aa.AppendAsync(context.Background(), []drivers.Event{benchEvent()}, func(_ []drivers.Position, err error) {
			if err != nil {
				b.Error(err)
			}
			<-sem
			wg.Done()
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	reportCommitStats(b, e.Log.Stats())
}

// BenchmarkCommitAt1000PerSecond: an open-loop 1,000 events/s, one 256 B
// event per append; latency from the scheduled time to the durable ack.
func BenchmarkCommitAt1000PerSecond(b *testing.B) {
	b.Run("syncs=1", func(b *testing.B) { benchCommitAt1000(b, engine.Options{SyncConcurrency: 1}) })
	b.Run("syncs=default", func(b *testing.B) { benchCommitAt1000(b, engine.Options{}) })
	// Not durable: the tail of the client/TCP/committer path alone.
	b.Run("sync=none", func(b *testing.B) { benchCommitAt1000(b, engine.Options{Sync: engine.SyncNone}) })
}

func benchCommitAt1000(b *testing.B, o engine.Options) {
	e, d := benchEmbedOpts(b, o)
	aa := d.(drivers.AsyncAppender)
	n := max(b.N, 2000)
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	// time.Sleep would wake ~1 ms late here and add that to every latency;
	// pace wakes within ~100 µs and never early.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	waiter := pace.NewPreciseWaiter()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * time.Millisecond)
		waiter.Until(context.Background(), at)
		wg.Add(1)
		aa.AppendAsync(context.Background(), []drivers.Event{benchEvent()}, func(_ []drivers.Position, err error) {
			if err != nil {
				b.Error(err)
			}
			lat[i] = time.Since(at)
			wg.Done()
		})
	}
	wg.Wait()
	b.ReportMetric(float64(quantile(lat, 0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(quantile(lat, 0.99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(quantile(lat, 0.999).Microseconds()), "p99.9-µs")
	reportCommitStats(b, e.Log.Stats())
}

// BenchmarkReplay: subscribe from 0 to the head of a log of
// REFSTORE_BENCH_EVENTS (default 1,000,000) 256 B events, built once in a
// temp dir, over loopback TCP from the page cache.
func BenchmarkReplay(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("REFSTORE_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	l, err := engine.Open(dir, engine.Options{Sync: engine.SyncNone})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i += 1000 {
		evs := make([]engine.Event, min(1000, n-i))
		for j := range evs {
			var id [16]byte
			binary.BigEndian.PutUint64(id[8:], uint64(i+j))
			evs[j] = engine.Event{ID: id, Stream: "order-" + strconv.Itoa((i+j)%100000), Seq: uint64(i + j), Type: "OrderPlaced", Payload: make([]byte, 256)}
		}
		if _, err := l.Append(context.Background(), engine.AppendRequest{Expected: engine.ExpectAny, Events: evs}); err != nil {
			b.Fatal(err)
		}
	}
	l.Close()
	e, err := StartEmbedded(dir, engine.Options{}, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	d, err := Open(context.Background(), e.DSN(), drivers.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	done := errors.New("done")
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		got := 0
		start := time.Now()
		err := d.Subscribe(context.Background(), nil, func(batch []drivers.Delivered) error {
			got += len(batch)
			if got >= n {
				return done
			}
			return nil
		})
		total += time.Since(start)
		if !errors.Is(err, done) {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "events/s")
	b.ReportMetric(float64(n)*float64(b.N)*(256+72+10+11)/total.Seconds()/1e6, "MB/s")
}
