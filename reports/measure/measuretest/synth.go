// Package measuretest builds deterministic results for the tests of
// measure and reports.
package measuretest

import (
	"encoding/json"
	"errors"
	"github.com/evbench/evbench/reports/measure"
	"math/rand"
	"path/filepath"
	"time"
)

var batchAtomic = true

// Start is a fixed start time so artefacts are deterministic.
var Start = time.Date(2026, 3, 1, 12, 0, 0, 250_000_000, time.UTC)

// Result builds a plausible complete result with gates, faults,
// pauses, catch-ups, rebuild and series, without recorders.
func Result() *measure.Result {
	r := &measure.Result{
		Schema:   measure.SchemaV1,
		Complete: true,
		Scenario: measure.ScenarioInfo{Name: "campaign", Source: "builtin:campaign",
			Resolved: json.RawMessage(`{"name":"campaign","load":{"start":500,"stages":[{"to":4000,"over":"60s"}]},"gates":["commit.p95 < 20ms"]}`)},
		Driver: measure.DriverInfo{Name: "refstore", DSN: "refstore://127.0.0.1:7000", Embedded: true, Describe: "refstore (fsync per group)", BatchAtomic: &batchAtomic},
		Durability: &measure.Durability{AckAfterFsync: "true", Replication: "none (single copy)",
			Detail: "sync=always: every commit group is fdatasync'd before its appends are acknowledged", Source: "embedded server configuration"},
		StartedAt:    Start,
		DurationS:    30,
		Events:       measure.EventCounts{Scheduled: 60000, Sent: 59990, Acked: 59980, Failed: 10, Late: 12, Unsent: 10},
		OfferedRate:  2000,
		AchievedRate: 1999.3,
		Commit:       measure.Percentiles{Count: 59980, Min: 0.21, Mean: 1.9, P50: 1.2, P90: 3.4, P95: 5.6, P99: 12.3, P999: 45.6, Max: 120},
		ServiceTime:  measure.Percentiles{Count: 59980, Min: 0.2, Mean: 1.5, P50: 1.1, P90: 3, P95: 5, P99: 11, P999: 40, Max: 110},
		E2E:          measure.Percentiles{Count: 59980, Min: 0.5, Mean: 20, P50: 3, P90: 8, P95: 15, P99: 900, P999: 4000, Max: 5200},
		Lag:          measure.LagStats{Max: 9000, P95: 300, SampleMS: 100},
		CatchUp:      []measure.CatchUp{{Cause: "pause", StartedS: 15, Seconds: 2.5, Recovered: true, Threshold: 2000}},
		Rebuild:      &measure.Rebuild{Events: 59980, Bytes: 60_000_000, Seconds: 1.2, EventsPerSec: 49983, MBPerSec: 50, Complete: true},
		Delivery: measure.Delivery{Expect: measure.Expect{Delivery: measure.ExactlyOnce, Order: measure.PerKey}, OK: true,
			Delivered: 59980, Unexpected: 1, Ambiguous: 10, Checked: true,
			Projectors: []measure.ProjectorDelivery{{Projector: 0, Delivered: 59980, Unexpected: 1}}},
		FailedLatency: measure.Percentiles{Count: 10, Min: 900, Mean: 1500, P50: 1400, P90: 2000, P95: 2000, P99: 2100, P999: 2100, Max: 2100},
		Outages:       []measure.Outage{{Op: "append", StartedS: 20.4, EndedS: 22.1, Seconds: 1.7, Failed: 10, Recovered: true}},
		Faults:        []measure.FaultWindow{{Kind: "latency", Path: "producer", AtS: 20, ForS: 5, Params: map[string]any{"latency": "50ms"}}},
		Environment:   measure.Environment{Go: "go1.26.8", OS: "linux", Arch: "amd64", CPUs: 2, Hostname: "ci", Version: "dev"},
	}
	r.Gates = measure.EvaluateGates(r, []string{"commit.p95 < 20ms", "e2e.p99 <= 250ms", "delivery.lost == 0", "rebuild.events_per_sec > 50000"}, nil)
	r.Passed = r.Complete && gatesPass(r.Gates) && r.Delivery.OK
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 30; i++ {
		t := float64(i)
		r.Series.T = append(r.Series.T, t)
		r.Series.Offered = append(r.Series.Offered, 2000)
		ach := 2000.0
		if i >= 20 && i < 25 {
			ach = 1500 + 100*rng.Float64()
		}
		r.Series.Achieved = append(r.Series.Achieved, ach)
		base := 1 + rng.Float64()
		if i >= 20 && i < 25 {
			base += 50
		}
		r.Series.CommitP50 = append(r.Series.CommitP50, base)
		r.Series.CommitP95 = append(r.Series.CommitP95, base*3)
		r.Series.CommitP99 = append(r.Series.CommitP99, base*6)
		r.Series.E2EP50 = append(r.Series.E2EP50, base*2)
		r.Series.E2EP95 = append(r.Series.E2EP95, base*5)
		r.Series.E2EP99 = append(r.Series.E2EP99, base*9)
		r.Series.Failed = append(r.Series.Failed, 0)
	}
	for i := 0; i < 300; i++ {
		t := float64(i) / 10
		lag := int64(100 + rng.Intn(50))
		if t >= 10 && t < 15 {
			lag = int64((t - 10) * 1800)
		} else if t >= 15 && t < 17.5 {
			lag = int64(9000 - (t-15)*3600)
		}
		r.Series.LagT = append(r.Series.LagT, t)
		r.Series.Lag = append(r.Series.Lag, lag)
	}
	r.Series.Pauses = []measure.Window{{Label: "consumer pause", StartS: 10, EndS: 15}}
	for i := 0; i <= 12; i++ {
		r.Series.RebuildT = append(r.Series.RebuildT, float64(i)/10)
		r.Series.RebuildN = append(r.Series.RebuildN, int64(i)*59980/12)
	}
	return r
}

func gatesPass(gs []measure.GateResult) bool {
	for _, g := range gs {
		if !g.Pass {
			return false
		}
	}
	return true
}

// Record records deterministic latencies over 30 s through real Recorders
// (commit, service_time, e2e, send_delay), streams their interval logs into
// dir when it is not "", fills r.Histograms and returns the recorders.
func Record(r *measure.Result, dir string, seed int64) ([]*measure.Recorder, error) {
	rng := rand.New(rand.NewSource(seed))
	var recs []*measure.Recorder
	var logs []*measure.HlogWriter
	for _, name := range []string{"commit", "service_time", "e2e", "send_delay"} {
		var sink measure.IntervalSink
		if dir != "" {
			w, err := measure.CreateHlog(filepath.Join(dir, measure.HlogNames[name]), Start)
			if err != nil {
				return nil, err
			}
			logs = append(logs, w)
			sink = w
		}
		recs = append(recs, measure.NewRecorder(name, Start, sink))
	}
	for i := 0; i < 30_000; i++ {
		if i%1000 == 0 && i > 0 {
			for _, rc := range recs {
				rc.Roll(Start.Add(time.Duration(i) * time.Millisecond))
			}
		}
		d := time.Duration(200_000 + rng.ExpFloat64()*1e6)
		recs[0].Record(d)
		recs[1].Record(d * 9 / 10)
		recs[2].Record(2 * d)
		recs[3].Record(d / 10)
	}
	var errs []error
	for _, rc := range recs {
		rc.Close(Start.Add(30 * time.Second))
	}
	for _, w := range logs {
		errs = append(errs, w.Close())
	}
	errs = append(errs, measure.FillHistograms(r, recs...))
	return recs, errors.Join(errs...)
}
