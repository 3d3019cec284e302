package merge_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/evbench/evbench/reports"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
	"github.com/evbench/evbench/reports/merge"
	"github.com/evbench/evbench/reports/merge/mergetest"
)

// TestMergeReproducesOneHistogram: the merged percentiles are exactly
// those of one histogram fed every raw sample of the three shards, and
// the counters are the sums.
func TestMergeReproducesOneHistogram(t *testing.T) {
	root := t.TempDir()
	dirs, ref, err := mergetest.WriteRun(root, 3)
	if err != nil {
		t.Fatal(err)
	}
	var shards []*measure.Result
	for _, d := range dirs {
		r, err := measure.ReadResult(d)
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, r)
	}
	out := filepath.Join(root, "merged")
	res, err := merge.Dirs(dirs, out, merge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]measure.Percentiles{"commit": res.Commit, "service_time": res.ServiceTime, "e2e": res.E2E, "send_delay": res.SendDelay} {
		if want := measure.Summarize(ref[name]); got != want {
			t.Errorf("%s: merged %+v\nwant (one histogram of all samples) %+v", name, got, want)
		}
	}
	// The shards' own percentiles differ from the merged ones: a merge that
	// averaged them could not pass the check above.
	if avg := (shards[0].Commit.P99 + shards[1].Commit.P99 + shards[2].Commit.P99) / 3; avg == res.Commit.P99 {
		t.Errorf("averaged p99 %v equals the merged one: the data do not tell averaging from merging", avg)
	}
	var acked, sched, delivered, late int64
	var offered float64
	for _, r := range shards {
		acked += r.Events.Acked
		sched += r.Events.Scheduled
		delivered += r.Delivery.Delivered
		late += r.Events.Late
		offered += r.OfferedRate
	}
	if res.Events.Acked != acked || res.Events.Scheduled != sched || res.Events.Late != late || res.Delivery.Delivered != delivered {
		t.Errorf("counts: acked %d sched %d late %d delivered %d, want sums %d %d %d %d",
			res.Events.Acked, res.Events.Scheduled, res.Events.Late, res.Delivery.Delivered, acked, sched, late, delivered)
	}
	if res.OfferedRate != offered {
		t.Errorf("offered rate %v, want the sum %v", res.OfferedRate, offered)
	}
	if res.AchievedRate < 0.99*offered || res.AchievedRate > offered {
		t.Errorf("achieved rate %v, want about %v (all acks over the common span)", res.AchievedRate, offered)
	}
	if !res.Delivery.OK || !res.Delivery.Checked || !res.Complete || !res.Passed {
		t.Errorf("ok %v checked %v complete %v passed %v, want all true", res.Delivery.OK, res.Delivery.Checked, res.Complete, res.Passed)
	}
	if len(res.Faults) != 1 || res.Faults[0].Errors["append"] != 3 {
		t.Errorf("faults %+v: want the one fault every shard recorded, its append errors summed to 3", res.Faults)
	}
	if len(res.CatchUp) != 1 || res.CatchUp[0].Seconds != 1.5 {
		t.Errorf("catch-ups %+v: want one, as long as the slowest shard's (1.5 s)", res.CatchUp)
	}
	if notes := strings.Join(res.Notes, "\n"); !strings.Contains(notes, "shards 0, 1, 2: ") {
		t.Errorf("notes %q: want the shards' common note once, naming them", res.Notes)
	}
	if got := strings.Join(res.Environment.Hosts, " "); got != "pod-0 pod-1 pod-2" {
		t.Errorf("hosts %q, want every shard's", got)
	}
	mi := res.Merge
	if mi == nil || mi.Shards != 3 || mi.Count != 3 || mi.RunID != "run-1" || len(mi.ClockOffsetsMS) != 3 {
		t.Fatalf("merge info %+v", mi)
	}
	if mi.MaxSkewMS != 4 || mi.ClockOffsetsMS[2] != 4 || mi.SkewFlagged || mi.SkewMethod != merge.SkewFromStart {
		t.Errorf("clock: %+v, want offsets 0, 2, 4 ms from the start instants, not flagged", mi)
	}
	if !res.StartedAt.Equal(measuretest.Start) {
		t.Errorf("started at %v, want the earliest shard's %v", res.StartedAt, measuretest.Start)
	}

	// The merged interval logs hold every sample, second by second.
	for _, name := range mergetest.Metrics {
		ivs, err := measure.ReadHlog(filepath.Join(out, measure.HlogNames[name]))
		if err != nil {
			t.Fatal(err)
		}
		all := measure.NewHistogram()
		for i, h := range ivs {
			all.Merge(h)
			if want := measuretest.Start.UnixMilli() + int64(i)*1000; h.StartTimeMs() != want {
				t.Errorf("%s interval %d starts at %d, want %d (the merged clock)", name, i, h.StartTimeMs(), want)
			}
		}
		if len(ivs) != 5 || !sameCounts(all, ref[name]) {
			t.Errorf("%s.hlog: %d intervals, %d values; want 5 intervals holding the %d raw samples", name, len(ivs), all.TotalCount(), ref[name].TotalCount())
		}
	}

	// A merged directory is a normal result: written, re-read, gated (the
	// CLI test runs report, compare and gate on one).
	if err := reports.WriteAll(out, res); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{reports.MarkdownFile, reports.HTMLFile} {
		if b, _ := os.ReadFile(filepath.Join(out, f)); !strings.Contains(string(b), "3 of 3 shards") {
			t.Errorf("%s does not say the result was merged from 3 of 3 shards", f)
		}
	}
	back, err := measure.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if back.Merge == nil || back.Commit != res.Commit || len(back.Series.CommitP99) != 5 {
		t.Errorf("re-read: merge %v, commit %+v, %d per-second commit p99s (want 5, from the merged log)", back.Merge, back.Commit, len(back.Series.CommitP99))
	}
	for _, g := range measure.EvaluateGates(back, []string{"commit.p99 < 1h", "delivery.lost == 0", "events.acked == 7500"}, nil) {
		if !g.Pass {
			t.Errorf("gate %s on the merged result: %+v", g.Expr, g)
		}
	}
}

func sameCounts(a, b *hdr.Histogram) bool {
	ea, eb := a.Export().Counts, b.Export().Counts
	if len(ea) != len(eb) {
		return false
	}
	for i := range ea {
		if ea[i] != eb[i] {
			return false
		}
	}
	return a.TotalCount() == b.TotalCount()
}

// TestMergeFlagsSkew: clock offsets are bounded by the barrier markers
// both ways, and a skew the bounds prove above the threshold is flagged.
func TestMergeFlagsSkew(t *testing.T) {
	const latency = 3 * time.Millisecond // the store's delivery latency, both ways
	for _, tc := range []struct {
		offsets []time.Duration // each host's true clock offset
		skewMS  float64
		flag    bool
	}{
		// Shard 1's offset lies in [17, 23] ms, shard 2's in [-8, -2]: at
		// least 17 - (-2) = 19 ms apart.
		{[]time.Duration{0, 20 * time.Millisecond, -5 * time.Millisecond}, 19, true},
		// Within the 3 ms delay, the markers cannot tell the clocks apart.
		{[]time.Duration{0, time.Millisecond, 2 * time.Millisecond}, 0, false},
	} {
		root := t.TempDir()
		ref := mergetest.NewReference()
		var dirs []string
		t0 := measuretest.Start.Add(-time.Second)
		for i, oi := range tc.offsets {
			b := &measure.ShardBarrier{Markers: len(tc.offsets)}
			for j, oj := range tc.offsets {
				if j != i {
					b.Peers = append(b.Peers, measure.ShardPeer{Shard: j, SentAt: t0.Add(oj), ReceivedAt: t0.Add(latency + oi)})
				}
			}
			d := filepath.Join(root, fmt.Sprint(i))
			if _, err := mergetest.Write(d, mergetest.Shard{Index: i, Count: len(tc.offsets), RunID: "r", Seed: 7, Rate: 50, Seconds: 2, Barrier: b}, ref); err != nil {
				t.Fatal(err)
			}
			dirs = append(dirs, d)
		}
		res, err := merge.Dirs(dirs, filepath.Join(root, "m"), merge.Options{})
		if err != nil {
			t.Fatal(err)
		}
		mi := res.Merge
		noted := strings.Contains(strings.Join(res.Notes, "\n"), "clocks are at least")
		if mi.SkewMethod != merge.SkewFromBarrier || mi.MaxSkewMS != tc.skewMS || mi.SkewFlagged != tc.flag || noted != tc.flag {
			t.Errorf("offsets %v: %+v, noted %v; want method barrier, skew %v ms, flagged %v", tc.offsets, mi, noted, tc.skewMS, tc.flag)
		}
		if tc.flag && fmt.Sprint(mi.ClockOffsetBoundsMS) != "[[0 0] [17 23] [-8 -2]]" {
			t.Errorf("bounds %v, want [[0 0] [17 23] [-8 -2]]", mi.ClockOffsetBoundsMS)
		}
	}
}

// TestMergeWarmup: the warm-up's percentiles come from the merged
// intervals of its seconds, exactly, and the run's leave them out.
func TestMergeWarmup(t *testing.T) {
	root := t.TempDir()
	ref := mergetest.NewReference()
	var dirs []string
	for i := 0; i < 2; i++ {
		d := filepath.Join(root, fmt.Sprint(i))
		if _, err := mergetest.Write(d, mergetest.Shard{Index: i, Count: 2, RunID: "w", Seed: int64(i + 3), Rate: 100, Seconds: 3, WarmupS: 1,
			Offset: time.Duration(i) * time.Millisecond}, ref); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	res, err := merge.Dirs(dirs, filepath.Join(root, "m"), merge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Warmup == nil || res.Warmup.Acked != 200 || res.Warmup.OfferedRate != 200 {
		t.Fatalf("warmup %+v, want acked 200 and offered 200/s summed", res.Warmup)
	}
	if want := measure.Summarize(ref["warmup/commit"]); res.Warmup.Commit != want || want.Count != 200 {
		t.Errorf("warm-up commit %+v, want %+v", res.Warmup.Commit, want)
	}
	if want := measure.Summarize(ref["e2e"]); res.E2E != want || want.Count != 400 {
		t.Errorf("run e2e %+v, want (after the warm-up) %+v", res.E2E, want)
	}
}

// TestMergeBadInput: each bad input is refused with one line saying what.
func TestMergeBadInput(t *testing.T) {
	root := t.TempDir()
	ref := mergetest.NewReference()
	w := func(name string, sh mergetest.Shard) string {
		t.Helper()
		d := filepath.Join(root, name)
		sh.Rate, sh.Seconds = 20, 2
		if sh.RunID == "" {
			sh.RunID = "run-1"
		}
		if _, err := mergetest.Write(d, sh, ref); err != nil {
			t.Fatal(err)
		}
		return d
	}
	s0 := w("s0", mergetest.Shard{Index: 0, Count: 3})
	s1 := w("s1", mergetest.Shard{Index: 1, Count: 3})
	s2 := w("s2", mergetest.Shard{Index: 2, Count: 3})
	otherScenario := w("other-scenario", mergetest.Shard{Index: 2, Count: 3, Scenario: "steady"})
	otherN := w("other-n", mergetest.Shard{Index: 2, Count: 4})
	otherRun := w("other-run", mergetest.Shard{Index: 2, Count: 3, RunID: "run-2"})
	empty := filepath.Join(root, "empty")
	os.MkdirAll(empty, 0o755)
	notShard := filepath.Join(root, "not-shard")
	os.MkdirAll(notShard, 0o755)
	if err := measure.WriteResult(filepath.Join(notShard, measure.ResultFile), measuretest.Result()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		dirs []string
		out  string
		want string
	}{
		{"different scenarios", []string{s0, s1, otherScenario}, "", `ran scenario "steady"`},
		{"different N", []string{s0, s1, otherN}, "", "every shard of a run has the same N"},
		{"different run ids", []string{s0, s1, otherRun}, "", "different runs"},
		{"duplicate index", []string{s0, s1, s1}, "", "are both shard 1/3"},
		{"missing shard", []string{s0, s2}, "", "shard(s) 1 of 3 missing"},
		{"no result.json", []string{s0, empty}, "", "has no result.json"},
		{"not a shard", []string{s0, notShard}, "", "is not a shard result"},
		{"not a directory", []string{s0, filepath.Join(root, "nowhere")}, "", "is not a directory"},
		{"out is an input", []string{s0, s1, s2}, s1, "is one of the shard directories"},
		{"out holds a result", []string{s0, s1, s2}, notShard, "already holds a result.json"},
		{"no dirs", nil, "", "no shard directories"},
	}
	for _, tc := range cases {
		out := tc.out
		if out == "" {
			out = filepath.Join(root, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
		}
		_, err := merge.Dirs(tc.dirs, out, merge.Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", tc.name, err, tc.want)
		}
		if _, serr := os.Stat(filepath.Join(out, "commit.hlog")); tc.out == "" && serr == nil {
			t.Errorf("%s: wrote into --out before refusing", tc.name)
		}
	}

	// --partial merges what there is, marked incomplete, naming the gap.
	res, err := merge.Dirs([]string{s0, s2}, filepath.Join(root, "partial"), merge.Options{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Complete || res.Passed || !strings.Contains(res.Reason, "shard(s) 1 of 3 missing") || len(res.Merge.Missing) != 1 || res.Merge.Missing[0] != 1 {
		t.Errorf("partial: complete %v passed %v reason %q missing %v; want incomplete, failed, shard 1 named", res.Complete, res.Passed, res.Reason, res.Merge.Missing)
	}
}

// TestMergeDeliveryFailsIfAnyShardFails: one shard's lost events fail the
// merged check and are named by shard.
func TestMergeDeliveryFailsIfAnyShardFails(t *testing.T) {
	root := t.TempDir()
	dirs, _, err := mergetest.WriteRun(root, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := measure.ReadResult(dirs[1])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dirs[1], measure.ResultFile))
	s := strings.Replace(string(b), `"lost": 0`, `"lost": 4`, 1)
	s = strings.Replace(s, `"ok": true`, `"ok": false`, 1)
	if s == string(b) || r.Delivery.Lost != 0 {
		t.Fatal("could not edit the shard's delivery")
	}
	os.WriteFile(filepath.Join(dirs[1], measure.ResultFile), []byte(s), 0o644)
	res, err := merge.Dirs(dirs, filepath.Join(root, "m"), merge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivery.OK || res.Delivery.Lost != 4 || res.Passed {
		t.Errorf("delivery %+v passed %v: want not ok, 4 lost, not passed", res.Delivery, res.Passed)
	}
}
