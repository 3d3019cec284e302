// Package mergetest writes synthetic shard result directories (result.json
// with a "shard" field, and .hlog interval logs recorded through real
// Recorders) for the tests of evbench merge, and keeps, beside them, one
// histogram per metric fed every raw sample of every shard: what a merge
// must reproduce exactly.
package mergetest

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
)

// Metrics are the latency recorders a synthetic shard records.
var Metrics = []string{"commit", "service_time", "e2e", "send_delay"}

// Shard describes one synthetic shard.
type Shard struct {
	Index, Count int
	RunID        string
	Scenario     string // default "campaign"
	// Offset is how long after measuretest.Start this shard started.
	Offset time.Duration
	// Barrier, when set, is written as shard.barrier.
	Barrier *measure.ShardBarrier
	Seed    int64
	// Rate is samples per second (default 500) for Seconds (default 5).
	Rate, Seconds int
	// WarmupS is load.warmup in whole seconds: those seconds' samples go
	// to the reference's "warmup/<metric>" histograms, as the recorders
	// keep them out of the run's totals.
	WarmupS int
	// Fault adds the same latency fault at 2 s (on the merged clock) to
	// the result, as the lead shard's faults are recorded by every shard.
	Fault bool
	// Outbox records a relay lag per sample into RelayLagHlog through a
	// real Recorder (the reference's "relay_lag" gets every raw value) and
	// sets the result's outbox section from it.
	Outbox bool
	// Lead is the shard that injects the faults (shard.lead).
	Lead int
	// Gates are evaluated on the result besides the default two.
	Gates []string
	// Edit, when set, changes the result before its gates and verdict
	// are judged and it is written: a test's section figures.
	Edit func(r *measure.Result)
}

// RelayLagHlog is the interval log of the outbox's relay lag a run with
// an outbox writes (the runner's name for it).
const RelayLagHlog = "relay_lag.hlog"

// Reference holds one histogram per metric fed every raw sample written
// after the warm-up, and "warmup/<metric>" ones of the warm-up's samples.
type Reference map[string]*hdr.Histogram

// NewReference returns empty histograms of the shared geometry.
func NewReference() Reference {
	ref := Reference{}
	for _, m := range append(slices.Clone(Metrics), "relay_lag") {
		ref[m] = measure.NewHistogram()
		ref["warmup/"+m] = measure.NewHistogram()
	}
	return ref
}

// Write records sh's samples into dir (created) as a shard result, adds
// every raw sample to ref, and returns the result as written.
func Write(dir string, sh Shard, ref Reference) (*measure.Result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if sh.Rate == 0 {
		sh.Rate = 500
	}
	if sh.Seconds == 0 {
		sh.Seconds = 5
	}
	seconds := sh.Seconds
	start := measuretest.Start.Add(sh.Offset)
	r := measuretest.Result()
	if sh.Scenario != "" {
		r.Scenario.Name = sh.Scenario
	}
	r.StartedAt = start
	r.Rebuild, r.CatchUp, r.Outages, r.Faults = nil, []measure.CatchUp{}, nil, []measure.FaultWindow{}
	r.Series = measure.Series{}
	r.Environment.Hostname = fmt.Sprintf("pod-%d", sh.Index)
	r.Notes = []string{"synthetic shard written by mergetest"}
	var recs []*measure.Recorder
	var logs []*measure.HlogWriter
	names := slices.Clone(Metrics)
	if sh.Outbox {
		names = append(names, "relay_lag")
	}
	for _, name := range names {
		file := measure.HlogNames[name]
		if name == "relay_lag" {
			file = RelayLagHlog
		}
		w, err := measure.CreateHlog(filepath.Join(dir, file), start)
		if err != nil {
			return nil, err
		}
		logs = append(logs, w)
		rec := measure.NewRecorder(name, start, w)
		rec.SetWarmup(time.Duration(sh.WarmupS) * time.Second)
		recs = append(recs, rec)
	}
	sec := 0
	rng := rand.New(rand.NewSource(sh.Seed))
	record := func(i int, d time.Duration) {
		recs[i].Record(d)
		v := max(int64(d), measure.HistLowest)
		key := names[i]
		if sec < sh.WarmupS {
			key = "warmup/" + key
		}
		if err := ref[key].RecordValue(v); err != nil {
			panic(err)
		}
	}
	n := int64(0)
	for ; sec < seconds; sec++ {
		for j := 0; j < sh.Rate; j++ {
			d := time.Duration(150_000 + rng.ExpFloat64()*float64(1+sh.Index)*1e6)
			record(0, d)
			record(1, d*9/10)
			record(2, 2*d+time.Duration(rng.Intn(5_000_000)))
			record(3, d/10)
			if sh.Outbox {
				record(4, 3*d+time.Duration(rng.Intn(2_000_000)))
			}
			n++
		}
		for _, rc := range recs {
			rc.Roll(start.Add(time.Duration(sec+1) * time.Second))
		}
		r.Series.T = append(r.Series.T, float64(sec))
		r.Series.Offered = append(r.Series.Offered, float64(sh.Rate))
		r.Series.Achieved = append(r.Series.Achieved, float64(sh.Rate))
		r.Series.Failed = append(r.Series.Failed, 0)
	}
	for i, rc := range recs {
		rc.Close(start.Add(time.Duration(seconds) * time.Second))
		if err := logs[i].Close(); err != nil {
			return nil, err
		}
	}
	if err := measure.FillHistograms(r, recs[:len(Metrics)]...); err != nil {
		return nil, err
	}
	r.Commit, r.ServiceTime = measure.Summarize(recs[0].Total()), measure.Summarize(recs[1].Total())
	r.E2E, r.SendDelay = measure.Summarize(recs[2].Total()), measure.Summarize(recs[3].Total())
	r.FailedLatency = measure.Percentiles{}
	r.DurationS = float64(seconds)
	r.Events = measure.EventCounts{Scheduled: n + 3, Sent: n + 1, Acked: n, Failed: 1, Late: int64(sh.Index), Unsent: 2}
	r.OfferedRate, r.AchievedRate = float64(sh.Rate), float64(n)/float64(seconds)
	r.Delivery = measure.Delivery{Expect: measure.Expect{Delivery: measure.ExactlyOnce, Order: measure.PerKey}, OK: true, Checked: true,
		Delivered: n, Ambiguous: 1, Projectors: []measure.ProjectorDelivery{{Projector: 0, Delivered: n}}}
	r.Lag = measure.LagStats{Max: int64(10 * (sh.Index + 1)), P95: int64(5 * (sh.Index + 1)), SampleMS: 100}
	if sh.Fault {
		at := 2 - sh.Offset.Seconds() // the same instant on every shard
		r.Faults = []measure.FaultWindow{{Kind: "latency", Path: "producer", AtS: at, ForS: 2, Errors: map[string]int64{"append": 1}}}
		r.CatchUp = []measure.CatchUp{{Cause: "latency", StartedS: at + 2, Seconds: 0.5 * float64(sh.Index+1), Recovered: true, Threshold: 10}}
	}
	if sh.WarmupS > 0 {
		r.Warmup = &measure.Warmup{Seconds: float64(sh.WarmupS), Acked: int64(sh.WarmupS * sh.Rate), OfferedRate: float64(sh.Rate), AchievedRate: float64(sh.Rate)}
	}
	if sh.Outbox {
		r.Outbox = &measure.Outbox{Relays: 2, Batch: 100, IntervalMS: 10, Prefix: fmt.Sprintf("evbox_%d", sh.Index),
			CommandCommit: r.Commit, RelayLag: measure.Summarize(recs[4].Total()), Published: n, Batches: n / 100}
	}
	r.Shard = &measure.ShardInfo{Index: sh.Index, Count: sh.Count, RunID: sh.RunID, StartAt: measuretest.Start, Barrier: sh.Barrier, Lead: sh.Lead}
	if sh.Edit != nil {
		sh.Edit(r)
	}
	r.Gates = measure.EvaluateGates(r, append([]string{"commit.p99 < 1h", "delivery.lost == 0"}, sh.Gates...), nil)
	r.Passed = r.Complete && r.Delivery.OK && (r.Rebuilds == nil || r.Rebuilds.DigestOK)
	for _, g := range r.Gates {
		r.Passed = r.Passed && g.Pass
	}
	if err := measure.WriteResult(filepath.Join(dir, measure.ResultFile), r); err != nil {
		return nil, err
	}
	return r, nil
}

// WriteRun writes n shards of one run (run id "run-1") under root as
// shard-0..shard-(n-1), started 0, 2, 4 ... ms apart, with a fault, and
// returns their directories and the reference histograms.
func WriteRun(root string, n int) ([]string, Reference, error) {
	ref := NewReference()
	var dirs []string
	for i := 0; i < n; i++ {
		dir := filepath.Join(root, fmt.Sprintf("shard-%d", i))
		sh := Shard{Index: i, Count: n, RunID: "run-1", Offset: time.Duration(2*i) * time.Millisecond, Seed: int64(i + 1), Fault: true}
		if _, err := Write(dir, sh, ref); err != nil {
			return nil, nil, err
		}
		dirs = append(dirs, dir)
	}
	return dirs, ref, nil
}
