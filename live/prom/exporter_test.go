package prom

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/evbench/evbench/live"
)

// cumulative turns per-bucket counts into the cumulative shape a
// live.Histogram carries.
func cumulative(per []uint64) []uint64 {
	out := make([]uint64, len(per))
	var n uint64
	for i, c := range per {
		n += c
		out[i] = n
	}
	return out
}

// fullSnapshot sets every field the exporter reads, with distinct values
// so a metric reading the wrong field shows.
func fullSnapshot() live.Snapshot {
	per := make([]uint64, len(live.LatencyBounds))
	per[3], per[4], per[9] = 5, 20, 3 // ≤1ms: 5, ≤2.5ms: 25, ≤100ms: 28
	commit := cumulative(per)
	per[3], per[4], per[9] = 7, 0, 0
	service := cumulative(per)
	per[3], per[10], per[17] = 0, 4, 1
	e2e := cumulative(per)
	return live.Snapshot{
		Scenario: "burst", Driver: "refstore", Durability: "true",
		Phase: live.PhaseLoad, Stage: "stage 1/2", Elapsed: 90 * time.Second, Total: 5 * time.Minute,
		OfferedRate: 2000, AchievedRate: 1990.5, InFlight: 17,
		Scheduled: 1001, Sent: 1002, Acked: 1003, Failed: 4, Retried: 5, GaveUp: 6, Late: 7,
		CommitP50: 1.5, CommitP99: 12, E2EP99: 250,
		Lag: 321, Delivered: 2006, Misrouted: 2,
		Faults: []live.Fault{
			{Kind: "latency", Path: "producer", Started: time.Minute, Remaining: 20 * time.Second},
			{Kind: "down", Path: "store", Started: 80 * time.Second, Remaining: 5 * time.Second},
			{Kind: "latency", Path: "producer", Started: 85 * time.Second, Remaining: 40 * time.Second},
		},
		Outages:       []live.Outage{{Op: "append", Since: 80 * time.Second, Failed: 3}, {Op: "head", Since: 81 * time.Second}},
		OutagesClosed: 2, Errors: 9,
		ClientLimited: true, ClientReason: "late",
		Histograms: map[string]live.Histogram{
			"commit":       {Bounds: live.LatencyBounds, Counts: commit, Count: 30, Sum: 0.25},
			"service_time": {Bounds: live.LatencyBounds, Counts: service, Count: 7, Sum: 0.005},
			"e2e":          {Bounds: live.LatencyBounds, Counts: e2e, Count: 12, Sum: 42.5},
		},
	}
}

// gather scrapes e's registry and indexes the families by name. A gather
// error fails the test unless wantErr.
func gather(t *testing.T, e *Exporter) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := e.Registry().Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// labelsOf renders a metric's labels as k=v,k=v (sorted, as the registry
// sorts them), "" for none.
func labelsOf(m *dto.Metric) string {
	var parts []string
	for _, lp := range m.GetLabel() {
		parts = append(parts, lp.GetName()+"="+lp.GetValue())
	}
	return strings.Join(parts, ",")
}

// series returns the value of each series of a counter or gauge family,
// keyed by labelsOf.
func series(t *testing.T, mf *dto.MetricFamily) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, m := range mf.GetMetric() {
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			out[labelsOf(m)] = m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			out[labelsOf(m)] = m.GetGauge().GetValue()
		default:
			t.Fatalf("%s: type %v is not a counter or gauge", mf.GetName(), mf.GetType())
		}
	}
	return out
}

func TestCollectScalars(t *testing.T) {
	e := New()
	e.Publish(fullSnapshot())
	got := gather(t, e)

	counter, gauge := dto.MetricType_COUNTER, dto.MetricType_GAUGE
	tests := []struct {
		name   string
		typ    dto.MetricType
		series map[string]float64 // every series of the family
	}{
		{"evbench_events_total", counter, map[string]float64{
			"outcome=scheduled": 1001, "outcome=sent": 1002, "outcome=acked": 1003,
			"outcome=failed": 4, "outcome=retried": 5, "outcome=gave_up": 6, "outcome=late": 7}},
		{"evbench_outages_closed_total", counter, map[string]float64{"": 2}},
		{"evbench_errors_total", counter, map[string]float64{"": 9}},
		{"evbench_delivered_total", counter, map[string]float64{"": 2006}},
		{"evbench_misrouted_total", counter, map[string]float64{"": 2}},
		{"evbench_lag_events", gauge, map[string]float64{"": 321}},
		{"evbench_in_flight", gauge, map[string]float64{"": 17}},
		{"evbench_offered_rate_events_per_second", gauge, map[string]float64{"": 2000}},
		{"evbench_achieved_rate_events_per_second", gauge, map[string]float64{"": 1990.5}},
		{"evbench_commit_latency_last_second_seconds", gauge, map[string]float64{"quantile=0.5": 0.0015, "quantile=0.99": 0.012}},
		{"evbench_e2e_latency_last_second_seconds", gauge, map[string]float64{"quantile=0.99": 0.25}},
		{"evbench_elapsed_seconds", gauge, map[string]float64{"": 90}},
		{"evbench_duration_seconds", gauge, map[string]float64{"": 300}},
		{"evbench_client_limited", gauge, map[string]float64{"": 1}},
		{"evbench_phase", gauge, map[string]float64{
			"phase=setup": 0, "phase=warmup": 0, "phase=load": 1, "phase=drain": 0, "phase=rebuild": 0, "phase=done": 0}},
		// Two latency faults on the producer path overlap: counted
		// together, with the longer remaining time.
		{"evbench_fault_active", gauge, map[string]float64{"kind=latency,path=producer": 2, "kind=down,path=store": 1}},
		{"evbench_fault_remaining_seconds", gauge, map[string]float64{"kind=latency,path=producer": 40, "kind=down,path=store": 5}},
		{"evbench_outage_active", gauge, map[string]float64{"op=append": 1, "op=head": 1}},
		{"evbench_run_info", gauge, map[string]float64{"driver=refstore,durability=true,scenario=burst": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mf, ok := got[tt.name]
			if !ok {
				t.Fatalf("%s not exported", tt.name)
			}
			if mf.GetType() != tt.typ {
				t.Fatalf("type %v, want %v", mf.GetType(), tt.typ)
			}
			if mf.GetHelp() == "" {
				t.Errorf("no help text")
			}
			s := series(t, mf)
			if len(s) != len(tt.series) {
				t.Errorf("series %v, want %v", s, tt.series)
			}
			for l, want := range tt.series {
				v, ok := s[l]
				if !ok {
					t.Errorf("no series {%s}; have %v", l, s)
					continue
				}
				if math.Abs(v-want) > 1e-12 {
					t.Errorf("{%s} = %v, want %v", l, v, want)
				}
			}
		})
	}
}

func TestCollectHistograms(t *testing.T) {
	snap := fullSnapshot()
	e := New()
	e.Publish(snap)
	got := gather(t, e)

	for _, h := range histograms {
		t.Run(h.Name, func(t *testing.T) {
			want := snap.Histograms[h.Key]
			mf, ok := got[h.Name]
			if !ok {
				t.Fatalf("%s not exported", h.Name)
			}
			if mf.GetType() != dto.MetricType_HISTOGRAM {
				t.Fatalf("type %v, want histogram", mf.GetType())
			}
			if len(mf.GetMetric()) != 1 {
				t.Fatalf("%d series, want 1", len(mf.GetMetric()))
			}
			hg := mf.GetMetric()[0].GetHistogram()
			if hg.GetSampleCount() != want.Count || hg.GetSampleSum() != want.Sum {
				t.Errorf("count, sum = %d, %v; want %d, %v", hg.GetSampleCount(), hg.GetSampleSum(), want.Count, want.Sum)
			}
			b := hg.GetBucket()
			if len(b) != len(live.LatencyBounds) {
				t.Fatalf("%d buckets, want %d", len(b), len(live.LatencyBounds))
			}
			for i, bk := range b {
				if bk.GetUpperBound() != live.LatencyBounds[i] || bk.GetCumulativeCount() != want.Counts[i] {
					t.Errorf("bucket %d: le=%v count=%d, want le=%v count=%d",
						i, bk.GetUpperBound(), bk.GetCumulativeCount(), live.LatencyBounds[i], want.Counts[i])
				}
			}
		})
	}

	// Spot-check the synthetic commit histogram by hand, so that a
	// mistake in cumulative() cannot hide one in the exporter.
	b := got["evbench_commit_latency_seconds"].GetMetric()[0].GetHistogram().GetBucket()
	for _, c := range []struct {
		le   float64
		want uint64
	}{{0.0005, 0}, {0.001, 5}, {0.0025, 25}, {0.05, 25}, {0.1, 28}, {60, 28}} {
		for _, bk := range b {
			if bk.GetUpperBound() == c.le && bk.GetCumulativeCount() != c.want {
				t.Errorf("commit le=%v: %d, want %d", c.le, bk.GetCumulativeCount(), c.want)
			}
		}
	}
}

func TestCollectAbsentHistogram(t *testing.T) {
	snap := fullSnapshot()
	delete(snap.Histograms, "e2e")
	e := New()
	e.Publish(snap)
	got := gather(t, e)
	if _, ok := got["evbench_e2e_latency_seconds"]; ok {
		t.Error("evbench_e2e_latency_seconds exported without a snapshot histogram")
	}
	if _, ok := got["evbench_commit_latency_seconds"]; !ok {
		t.Error("evbench_commit_latency_seconds missing")
	}
}

func TestCollectMalformedHistogram(t *testing.T) {
	snap := fullSnapshot()
	snap.Histograms["commit"] = live.Histogram{Bounds: live.LatencyBounds, Counts: []uint64{1, 2}, Count: 2}
	e := New()
	e.Publish(snap)
	mfs, err := e.Registry().Gather()
	if err == nil || !strings.Contains(err.Error(), `snapshot histogram "commit": 18 bounds but 2 counts`) {
		t.Fatalf("Gather error = %v, want the malformed commit histogram named", err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	if names["evbench_commit_latency_seconds"] {
		t.Error("malformed histogram exported")
	}
	if !names["evbench_service_time_seconds"] || !names["evbench_events_total"] {
		t.Errorf("a malformed histogram dropped other metrics: have %v", names)
	}
}

func TestCollectInvalidLabel(t *testing.T) {
	// A label value that is not UTF-8 must cost that series, not panic
	// the run (Collect runs on the scrape's goroutine).
	snap := fullSnapshot()
	snap.Scenario = "bad\xff"
	e := New()
	e.Publish(snap)
	mfs, err := e.Registry().Gather()
	if err == nil || !strings.Contains(err.Error(), `labels ["bad\xff" "refstore" "true"]`) {
		t.Fatalf("Gather error = %v, want the invalid label reported", err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	if names["evbench_run_info"] {
		t.Error("evbench_run_info exported with an invalid label value")
	}
	if !names["evbench_events_total"] || !names["evbench_phase"] {
		t.Errorf("an invalid label dropped other metrics: have %v", names)
	}
}

func TestCollectPhase(t *testing.T) {
	for _, phase := range append(append([]string{}, phases...), "", "compact") {
		t.Run(fmt.Sprintf("%q", phase), func(t *testing.T) {
			snap := fullSnapshot()
			snap.Phase = phase
			e := New()
			e.Publish(snap)
			s := series(t, gather(t, e)["evbench_phase"])
			want := map[string]float64{}
			for _, p := range phases {
				want["phase="+p] = 0
			}
			if phase != "" {
				want["phase="+phase] = 1
			}
			if fmt.Sprint(s) != fmt.Sprint(want) {
				t.Errorf("evbench_phase = %v, want %v", s, want)
			}
		})
	}
}

func TestCollectIdle(t *testing.T) {
	// A second with nothing acknowledged, no fault, no outage: the
	// last-second latencies are absent, not 0, and so are fault series.
	snap := fullSnapshot()
	snap.CommitP50, snap.CommitP99, snap.E2EP99 = 0, 0, 0
	snap.Faults, snap.Outages, snap.ClientLimited = nil, nil, false
	e := New()
	e.Publish(snap)
	got := gather(t, e)
	for _, name := range []string{
		"evbench_commit_latency_last_second_seconds", "evbench_e2e_latency_last_second_seconds",
		"evbench_fault_active", "evbench_fault_remaining_seconds", "evbench_outage_active",
	} {
		if _, ok := got[name]; ok {
			t.Errorf("%s exported for an idle second: %v", name, got[name].GetMetric())
		}
	}
	if v := series(t, got["evbench_client_limited"])[""]; v != 0 {
		t.Errorf("evbench_client_limited = %v, want 0", v)
	}
}

func TestCollectBeforeFirstSnapshot(t *testing.T) {
	e := New()
	got := gather(t, e) // must not panic or error
	if _, ok := got["evbench_run_info"]; ok {
		t.Error("evbench_run_info exported before any snapshot")
	}
	for _, h := range histograms {
		if _, ok := got[h.Name]; ok {
			t.Errorf("%s exported before any snapshot", h.Name)
		}
	}
	if s := series(t, got["evbench_events_total"]); len(s) != 7 || s["outcome=acked"] != 0 {
		t.Errorf("evbench_events_total before any snapshot = %v, want 7 outcomes at 0", s)
	}
	for l, v := range series(t, got["evbench_phase"]) {
		if v != 0 {
			t.Errorf("evbench_phase{%s} = %v before any snapshot, want 0", l, v)
		}
	}
	// The Go and process collectors are on the exporter's registry.
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s missing from the exporter's registry", name)
		}
	}
	e.Publish(fullSnapshot())
	if _, ok := gather(t, e)["evbench_run_info"]; !ok {
		t.Error("evbench_run_info missing after the first snapshot")
	}
}

func TestLatestSnapshotWins(t *testing.T) {
	e := New()
	s := fullSnapshot()
	e.Publish(s)
	s.Acked, s.Phase = 5000, live.PhaseDone
	e.Publish(s)
	got := gather(t, e)
	if v := series(t, got["evbench_events_total"])["outcome=acked"]; v != 5000 {
		t.Errorf("acked = %v after the second snapshot, want 5000", v)
	}
	if v := series(t, got["evbench_phase"])["phase=done"]; v != 1 {
		t.Errorf("phase done = %v, want 1", v)
	}
}

func TestLint(t *testing.T) {
	// promlint checks the Prometheus naming conventions: units in names,
	// _total on counters, help text.
	e := New()
	e.Publish(fullSnapshot())
	mfs, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var own []*dto.MetricFamily
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "evbench_") {
			own = append(own, mf)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(own).Lint()
	if err != nil {
		t.Fatal(err)
	}
	// The last-second gauges carry a quantile label by design (the brief's
	// names): they are the run recorders' exact percentiles of one second,
	// with no count or sum to make a summary of. Only that one complaint,
	// on only those two, is accepted.
	quantileGauges := map[string]bool{
		"evbench_commit_latency_last_second_seconds": true,
		"evbench_e2e_latency_last_second_seconds":    true,
	}
	for _, p := range problems {
		if quantileGauges[p.Metric] && strings.Contains(p.Text, `should not have "quantile" label`) {
			continue
		}
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestPublishWhileScraping(t *testing.T) {
	// Run under -race: Publish and Collect share the snapshot.
	e := New()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := fullSnapshot()
		for i := range 200 {
			s.Acked = int64(i)
			e.Publish(s)
		}
	}()
	for range 20 {
		if _, err := e.Registry().Gather(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if v := series(t, gather(t, e)["evbench_events_total"])["outcome=acked"]; v != 199 {
		t.Errorf("acked = %v, want the last published 199", v)
	}
}

// exportedNames are the series names a PromQL query can use after a full
// snapshot: counters and gauges by name, histograms as _bucket, _sum and
// _count. Only evbench_ metrics.
func exportedNames(t *testing.T) []string {
	t.Helper()
	e := New()
	e.Publish(fullSnapshot())
	var out []string
	for name, mf := range gather(t, e) {
		if !strings.HasPrefix(name, "evbench_") {
			continue
		}
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			out = append(out, name+"_bucket", name+"_sum", name+"_count")
		} else {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
