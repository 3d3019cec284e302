package merge_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/reports"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/merge"
	"github.com/evbench/evbench/reports/merge/mergetest"
)

// sectionCase is one optional section: edit fills shard i's section (with
// fail, shard 1's fails its run: a verdict or one of gates), check reads
// the merged one.
type sectionCase struct {
	name   string
	gates  []string
	outbox bool // shards record a relay lag (mergetest.Shard.Outbox)
	// shardKeepsPassing: the failing shard passed its own verdict (a result
	// written before the runner judged the section), so only the merge's
	// own judgement can fail the merged run.
	shardKeepsPassing bool
	// lead is the shard that injects the faults; shardPassed, when set,
	// says whether shard i passes its own verdict (default: all but a
	// failing shard 1).
	lead        int
	shardPassed func(i int, fail bool) bool
	edit        func(i int, r *measure.Result, fail bool)
	check       func(t *testing.T, res *measure.Result, ref mergetest.Reference, fail bool)
}

func notesHave(t *testing.T, res *measure.Result, want string) {
	t.Helper()
	if !strings.Contains(strings.Join(res.Notes, "\n"), want) {
		t.Errorf("notes %q: want one containing %q", res.Notes, want)
	}
}

var sectionCases = []sectionCase{
	{
		name: "rebuilds",
		edit: func(i int, r *measure.Result, fail bool) {
			rb := &measure.Rebuilds{ProjectionCostUS: 5, LiveDigest: "d1", LiveEvents: int64(100 + i), Keys: 10, DigestOK: true,
				Speedup: 2 - 0.5*float64(i), SpeedupWorkers: []int{1, 2},
				Snapshot: &measure.RebuildSnapshot{Trigger: "at 50%", Events: 50, Keys: 10, AtS: 1},
				Runs: []measure.RebuildRun{{Mode: "full", Workers: 1, Events: 100, Seconds: 2, Digest: "d1", DigestOK: true},
					{Mode: "full", Workers: 2, Events: 100, Seconds: 1, Digest: "d1", DigestOK: true}}}
			if fail && i == 1 {
				rb.Runs[1].Digest, rb.Runs[1].DigestOK, rb.DigestOK = "d2", false, false
			}
			r.Rebuilds = rb
		},
		check: func(t *testing.T, res *measure.Result, _ mergetest.Reference, fail bool) {
			rb := res.Rebuilds
			if rb == nil || len(rb.Runs) != 4 || rb.LiveEvents != 101 || rb.Keys != 10 || rb.Speedup != 1.5 || rb.DigestOK == fail {
				t.Fatalf("rebuilds %+v: want 4 runs, live_events 101 (the largest, every shard folded the whole log), speedup 1.5 (the lowest), digest_ok %v", rb, !fail)
			}
			notesHave(t, res, "rebuilds.runs are the shards' entries in shard order: [0-1] shard 0, [2-3] shard 1")
			if fail != strings.Contains(res.Reason, "rebuild is not deterministic: shard 1: ") {
				t.Errorf("reason %q: want the rebuild mismatch named by shard exactly when one shard's differed", res.Reason)
			}
		},
	},
	{
		name: "consumer_handling",
		edit: func(i int, r *measure.Result, fail bool) {
			f := float64(i)
			h := &measure.ConsumerHandling{Inbox: "memory", DLQ: "memory", FailureRate: 0.01, Applied: 100, DuplicatesDelivered: 3,
				DeadLettered: 2, NotApplied: 2, Retries: int64(5 + i), RetriedEvents: 4,
				RetryE2E:     measure.Percentiles{Count: 10, Min: 1 + f, Mean: 5 + f, P50: 4 + f, P90: 8, P95: 8, P99: 9 + 10*f, P999: 9 + 10*f, Max: 10 + 20*f},
				BreakerOpenS: 1.5, BreakerOpens: 1, BreakerPauses: []measure.Window{{Label: "breaker open", StartS: 1, EndS: 2.5}},
				BreakerTransitions: []measure.BreakerTransition{{Projector: 0, AtS: 1, From: "closed", To: "open"}}}
			if fail && i == 1 { // what the runner does with events lost inside the handler
				h.Unaccounted = 3
				r.Delivery.OK = false
				r.Delivery.Failures = append(r.Delivery.Failures, "consumer handling: 3 event(s) neither applied nor dead-lettered")
			}
			r.ConsumerHandling = h
		},
		check: func(t *testing.T, res *measure.Result, _ mergetest.Reference, fail bool) {
			h := res.ConsumerHandling
			want := measure.Percentiles{Count: 20, Min: 1, Mean: 5.5, P50: 5, P90: 8, P95: 8, P99: 19, P999: 19, Max: 30}
			if h == nil || h.Applied != 200 || h.Retries != 11 || h.DeadLettered != 4 || h.BreakerOpenS != 3 || h.BreakerOpens != 2 || h.RetryE2E != want {
				t.Fatalf("consumer handling %+v: want sums, retry e2e %+v", h, want)
			}
			if (h.Unaccounted == 3) != fail || res.Delivery.OK == fail {
				t.Errorf("unaccounted %d, delivery ok %v: want 3 and not ok exactly when shard 1 lost events", h.Unaccounted, res.Delivery.OK)
			}
			if len(h.BreakerPauses) != 2 || h.BreakerPauses[1].Label != "breaker open (shard 1)" || len(h.BreakerTransitions) != 2 {
				t.Errorf("breaker pauses %+v, transitions %+v: want both shards', labelled by shard", h.BreakerPauses, h.BreakerTransitions)
			}
			notesHave(t, res, "consumer_handling.retry_e2e_latency_ms: p50 to p99.9 are the worst shard's (an upper bound")
		},
	},
	{
		name:              "consumer_handling rejudged",
		shardKeepsPassing: true,
		edit: func(i int, r *measure.Result, fail bool) {
			r.ConsumerHandling = &measure.ConsumerHandling{Inbox: "none", DLQ: "memory", Applied: 100}
			if fail && i == 1 {
				r.ConsumerHandling.DLQErrors = 2
			}
		},
		check: func(t *testing.T, res *measure.Result, _ mergetest.Reference, fail bool) {
			if res.Delivery.OK == fail || fail != strings.Contains(strings.Join(res.Delivery.Failures, "\n"), "consumer handling: 2 dead letter(s) lost") {
				t.Errorf("delivery %+v: the merge must fail lost dead letters itself", res.Delivery)
			}
		},
	},
	{
		name:   "outbox",
		outbox: true,
		gates:  []string{"outbox.unsent == 0"},
		edit: func(i int, r *measure.Result, fail bool) {
			r.Outbox.Duplicates, r.Outbox.BacklogMax, r.Outbox.OldestUnsentMaxMS = 1, int64(10*(i+1)), float64(100*(i+1))
			if fail && i == 1 {
				r.Outbox.Unsent = 5
			}
		},
		check: func(t *testing.T, res *measure.Result, ref mergetest.Reference, fail bool) {
			o := res.Outbox
			if o == nil || o.Published != 200 || o.Duplicates != 2 || o.BacklogMax != 20 || o.OldestUnsentMaxMS != 200 || o.Prefix != "evbox_0,evbox_1" || (o.Unsent == 5) != fail {
				t.Fatalf("outbox %+v: want sums, maxima and both prefixes", o)
			}
			if want := measure.Summarize(ref["relay_lag"]); o.RelayLag != want || want.Count != 200 {
				t.Errorf("relay lag %+v, want (one histogram of every sample, from the merged relay_lag.hlog) %+v", o.RelayLag, want)
			}
			if o.CommandCommit != res.Commit {
				t.Errorf("command commit %+v, want the merged commit latency %+v", o.CommandCommit, res.Commit)
			}
		},
	},
	{
		name:  "concurrency",
		gates: []string{"concurrency.conflict_rate < 0.22"},
		edit: func(i int, r *measure.Result, fail bool) {
			c := &measure.Concurrency{WritersPerKey: 2, MaxRetries: 3, Commands: 100, Committed: 100, Attempts: 100, Conflicts: 10, Reloads: 110,
				RetriesPerCommand: measure.RetryCount{Mean: 0.1, Max: 1}}
			if i == 1 {
				c.Commands, c.Committed, c.Attempts, c.Conflicts = 300, 300, 300, 30
				c.RetriesPerCommand = measure.RetryCount{Mean: 0.1, Max: 2}
				if fail {
					c.Conflicts, c.RetriesPerCommand.Mean, c.GaveUp = 90, 0.3, 1
				}
			}
			c.ConflictRate = float64(c.Conflicts) / float64(c.Attempts)
			r.Concurrency = c
		},
		check: func(t *testing.T, res *measure.Result, _ mergetest.Reference, fail bool) {
			c := res.Concurrency
			rate, mean := 0.1, 0.1
			if fail { // the average of the shards' rates, 0.2, would pass the gate
				rate, mean = 0.25, 0.25
			}
			if c == nil || c.Commands != 400 || c.Attempts != 400 || c.ConflictRate != rate || c.RetriesPerCommand.Mean != mean || c.RetriesPerCommand.Max != 2 {
				t.Fatalf("concurrency %+v: want sums, conflict rate %v and mean retries %v from them", c, rate, mean)
			}
		},
	},
	{
		name:  "schema_evolution",
		gates: []string{"schema.unreadable == 0"},
		edit: func(i int, r *measure.Result, fail bool) {
			tv := func(v int, n int64) measure.TypeVersionCount {
				return measure.TypeVersionCount{Type: "OrderPlaced", Version: v, Events: n}
			}
			s := &measure.SchemaEvolution{Produced: []measure.TypeVersionCount{tv(1, 50), tv(2, 50)},
				Current: measure.SchemaReader{Read: 100, ReadBy: []measure.TypeVersionCount{tv(1, 50), tv(2, 50)}, Upcast: 50, UpcastSteps: 50,
					UpcastNS: measure.UpcastCost{Mean: float64(100 + 100*i), P99: float64(200 + 300*i), Max: 1000}, Drained: true},
				Canary: &measure.SchemaReader{Version: 1, Read: 50, Unreadable: 50, UnreadableReasons: map[string]int64{"too-new": 50}, Drained: true}}
			if fail && i == 1 {
				s.Current.Unreadable, s.Current.UnreadableBy = 2, []measure.TypeVersionCount{tv(3, 2)}
				s.Current.UnreadableReasons = map[string]int64{"too-new": 2}
			}
			r.SchemaEvolution = s
		},
		check: func(t *testing.T, res *measure.Result, _ mergetest.Reference, fail bool) {
			s := res.SchemaEvolution
			if s == nil || fmt.Sprint(s.Produced) != "[{OrderPlaced 1 100} {OrderPlaced 2 100}]" || s.Current.Read != 200 || s.Current.Upcast != 100 ||
				s.Current.UpcastNS != (measure.UpcastCost{Mean: 150, P99: 500, Max: 1000}) || !s.Current.Drained ||
				s.Canary == nil || s.Canary.Unreadable != 100 || s.Canary.UnreadableReasons["too-new"] != 100 {
				t.Fatalf("schema evolution %+v: want sums by type and version, upcast mean weighted", s)
			}
			if (s.Current.Unreadable == 2) != fail {
				t.Errorf("current unreadable %d", s.Current.Unreadable)
			}
			notesHave(t, res, "upcast_ns.p99 is the worst shard's")
		},
	},
	{
		name:  "consumer_restarts",
		gates: []string{"consumer_restart.lost == 0"},
		lead:  1,
		// Shard 0 injects no consumer-restart, so its own gate fails as
		// absent; the merged run has the lead's figure and judges it.
		shardPassed: func(i int, fail bool) bool { return i == 1 && !fail },
		edit: func(i int, r *measure.Result, fail bool) {
			if i != 1 { // the lead alone injects consumer-restart faults
				return
			}
			r.ConsumerRestarts = []measure.ConsumerRestart{{AtS: 1, DownS: 0.5, Projector: 0, Group: "g", ResumeS: 0.2, Resumed: true, Replayed: 10, CommitEvery: 100}}
			if fail {
				r.ConsumerRestarts[0].Lost = 3
			}
		},
		check: func(t *testing.T, res *measure.Result, _ mergetest.Reference, fail bool) {
			if len(res.ConsumerRestarts) != 1 || (res.ConsumerRestarts[0].Lost == 3) != fail {
				t.Fatalf("consumer restarts %+v: want shard 1's one", res.ConsumerRestarts)
			}
			if at := res.ConsumerRestarts[0].AtS; at != 1.001 {
				t.Errorf("restart at %v s, want 1.001 (shard 1 started 1 ms after shard 0)", at)
			}
			notesHave(t, res, "consumer_restarts merged from shard(s) 1 only; shard(s) 0 had none (the lead, shard 1, injects the consumer-restart faults)")
		},
	},
}

// TestMergeSections: each optional section is merged (sums, rates from
// the sums, maxima, lists), and a shard whose section fails its run fails
// the merged run; the same shards without that failure pass, so the
// failure is the section's.
func TestMergeSections(t *testing.T) {
	for _, tc := range sectionCases {
		for _, fail := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/fail=%v", tc.name, fail), func(t *testing.T) {
				root := t.TempDir()
				ref := mergetest.NewReference()
				var dirs []string
				for i := 0; i < 2; i++ {
					d := filepath.Join(root, fmt.Sprint(i))
					sh := mergetest.Shard{Index: i, Count: 2, RunID: "s", Seed: int64(i + 5), Rate: 50, Seconds: 2, Offset: time.Duration(i) * time.Millisecond,
						Outbox: tc.outbox, Gates: tc.gates, Lead: tc.lead, Edit: func(r *measure.Result) { tc.edit(i, r, fail) }}
					r, err := mergetest.Write(d, sh, ref)
					if err != nil {
						t.Fatal(err)
					}
					wantPass := !fail || i != 1 || tc.shardKeepsPassing
					if tc.shardPassed != nil {
						wantPass = tc.shardPassed(i, fail)
					}
					if r.Passed != wantPass {
						t.Fatalf("shard %d passed %v, want %v: the test data do not do what the case says", i, r.Passed, wantPass)
					}
					dirs = append(dirs, d)
				}
				res, err := merge.Dirs(dirs, filepath.Join(root, "m"), merge.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Passed == fail {
					t.Errorf("merged passed %v, want %v (reason %q, delivery %+v, gates %+v)", res.Passed, !fail, res.Reason, res.Delivery, res.Gates)
				}
				if strings.Contains(strings.Join(res.Notes, "\n"), "not merged") {
					t.Errorf("notes %q still call a section not merged", res.Notes)
				}
				tc.check(t, res, ref, fail)
				// The merged sections render like a run's (once per case: plots cost).
				if fail {
					if err := reports.WriteAll(filepath.Join(root, "m"), res); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}

// TestMergeSectionsKeepEveryField: every field of every optional section,
// set on each shard, is set on the merged result. A field added to one
// of these structs and forgotten by the merge fails here.
func TestMergeSectionsKeepEveryField(t *testing.T) {
	root := t.TempDir()
	ref := mergetest.NewReference()
	var dirs []string
	for i := 0; i < 2; i++ {
		d := filepath.Join(root, fmt.Sprint(i))
		edit := func(r *measure.Result) {
			for _, p := range []any{&r.Rebuilds, &r.ConsumerHandling, &r.Outbox, &r.Concurrency, &r.SchemaEvolution, &r.ConsumerRestarts} {
				fill(reflect.ValueOf(p).Elem(), i+1)
			}
		}
		if _, err := mergetest.Write(d, mergetest.Shard{Index: i, Count: 2, RunID: "f", Seed: 9, Rate: 20, Seconds: 2, Edit: edit}, ref); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	res, err := merge.Dirs(dirs, filepath.Join(root, "m"), merge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var zero []string
	for name, v := range map[string]any{"rebuilds": res.Rebuilds, "consumer_handling": res.ConsumerHandling, "outbox": res.Outbox,
		"concurrency": res.Concurrency, "schema_evolution": res.SchemaEvolution, "consumer_restarts": res.ConsumerRestarts} {
		zeroPaths(reflect.ValueOf(v), name, &zero)
	}
	if len(zero) > 0 {
		t.Errorf("set on every shard but not on the merged result: %s", strings.Join(zero, ", "))
	}
	if len(res.ConsumerRestarts) != 2 {
		t.Errorf("consumer restarts %+v: want both shards'", res.ConsumerRestarts)
	}
	notesHave(t, res, "consumer_restarts are the shards' entries in shard order: [0] shard 0, [1] shard 1")
}

// fill sets every field reachable from v to something non-zero: numbers
// n (n + 0.5 for floats), strings "x", bools true, one element per slice
// and map, pointers to filled values.
func fill(v reflect.Value, n int) {
	switch v.Kind() {
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(n))
	case reflect.Float64:
		v.SetFloat(float64(n) + 0.5)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), n)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), n)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, n)
		fill(e, n)
		v.SetMapIndex(k, e)
	default:
		panic("fill: add kind " + v.Kind().String())
	}
}

// zeroPaths appends the paths of the zero leaves (and empty slices, maps,
// nil pointers) under v.
func zeroPaths(v reflect.Value, path string, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			*out = append(*out, path)
			return
		}
		zeroPaths(v.Elem(), path, out)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			zeroPaths(v.Field(i), path+"."+v.Type().Field(i).Name, out)
		}
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			*out = append(*out, path)
		} else if v.Kind() == reflect.Slice {
			zeroPaths(v.Index(0), path+"[0]", out)
		}
	default:
		if v.IsZero() {
			*out = append(*out, path)
		}
	}
}
