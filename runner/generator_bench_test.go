package runner

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers/memory"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// BenchmarkGenerator is the harness's own per-event cost: schedule, key
// and payload choice, send-delay/commit/service recording and completion,
// against the memory driver (no I/O), with every event already due so the
// generator never sleeps. Compare commits with benchstat (see `make bench`).
func BenchmarkGenerator(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(map[int]string{1: "batch1", 100: "batch100"}[batch], func(b *testing.B) {
			sc := &scenarios.Scenario{Name: "bench"}
			sc.Events.Keys.Count = 100_000
			sc.Events.Batch = batch
			sc.Events.Size.Min, sc.Events.Size.Max = 400, 400
			sc.Events.Payload = scenarios.PayloadRandom
			scenarios.ApplyDefaults(sc)
			sc.Load.Start = 1e12 // every event due at once: pure CPU
			sc.Load.Duration = scenarios.Duration(time.Duration(float64(b.N)/1e12*1e9) + time.Nanosecond)
			sc.Load.Events = int64(b.N)
			sched := NewSchedule(sc.Load)
			l := newLedger([8]byte{1}, sc.Events.Keys.Count)
			src, err := newScenarioSource(sc, 1, l)
			if err != nil {
				b.Fatal(err)
			}
			drv := memory.New()
			start := time.Now()
			g := &generator{sched: sched, start: start, drv: drv, async: drv, batch: batch, window: 1024,
				source: src, ledger: l, errs: newErrorCounter(),
				commit: measure.NewRecorder("commit", start, nil), service: measure.NewRecorder("service_time", start, nil),
				sendDelay: measure.NewRecorder("send_delay", start, nil), failedLat: measure.NewRecorder("failed", start, nil),
				outages: newOutageTracker(start), fresh: benchFresh(start, src)}
			b.ReportAllocs()
			b.ResetTimer()
			g.run(context.Background())
			b.StopTimer()
			if got := g.acked.Load(); got != int64(b.N) {
				b.Fatalf("acked %d of %d", got, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// benchFresh is the freshness tracker the benchmark runs with; set
// EVBENCH_BENCH_NOFRESH=1 to measure the generator without it (A/B).
func benchFresh(start time.Time, src *scenarioSource) *freshness {
	if os.Getenv("EVBENCH_BENCH_NOFRESH") == "1" {
		return nil
	}
	return newFreshness(start, src.pool.Types(), 1)
}
