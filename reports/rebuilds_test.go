package reports

import (
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
)

func rebuildsResult(ok bool) *measure.Result {
	return &measure.Result{Schema: measure.SchemaV1, Complete: true, Delivery: measure.Delivery{OK: true, Checked: true},
		Rebuilds: &measure.Rebuilds{ProjectionCostUS: 20, LiveDigest: "abc", LiveEvents: 200, Keys: 10,
			Snapshot: &measure.RebuildSnapshot{Trigger: "at 50%", Events: 100, Keys: 8, AtS: 5},
			Runs: []measure.RebuildRun{
				{Mode: "full", Workers: 1, Events: 200, Seconds: 4, EventsPerSec: 50, CPUSeconds: 4, Digest: "abc", DigestOK: true},
				{Mode: "full", Workers: 2, Events: 200, Seconds: 2, EventsPerSec: 100, CPUSeconds: 4, Digest: "abd", DigestOK: ok},
				{Mode: "snapshot", Workers: 1, Events: 100, RestoredEvents: 100, Seconds: 2, EventsPerSec: 50, Digest: "abc", DigestOK: true},
			},
			Speedup: 2, SpeedupWorkers: []int{1, 2}, SnapshotSpeedup: 2, DigestOK: ok}}
}

// TestRebuildRowsInReports: the comparison shows in Markdown and HTML, and
// a digest mismatch turns the verdict to FAIL and says so.
func TestRebuildRowsInReports(t *testing.T) {
	good := rebuildsResult(true)
	md := string(RenderMarkdown(good))
	for _, want := range []string{
		"| rebuild full | P=1 4 s (50 events/s, 1 cores busy), P=2 2 s (100 events/s, 2 cores busy): speed-up 2x (P=2 vs P=1) |",
		"| rebuild snapshot | P=1 2 s (50 events/s, tail of 100 events after 100 restored): 2x faster than full (snapshot at 50%, at 5 s) |",
		"| rebuild digest | matches the live read model (20 µs projection cost per event, 200 events over 10 keys) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if Verdict(good) != "PASS" {
		t.Fatalf("verdict %s", Verdict(good))
	}
	page, err := RenderHTML(good, nil)
	if err != nil || !strings.Contains(string(page), "rebuild snapshot") {
		t.Fatalf("html: %v, has rebuild snapshot row: %v", err, strings.Contains(string(page), "rebuild snapshot"))
	}

	bad := rebuildsResult(false)
	if Verdict(bad) != "FAIL" || RebuildsOK(bad) {
		t.Fatalf("verdict %s with a digest mismatch, want FAIL", Verdict(bad))
	}
	md = string(RenderMarkdown(bad))
	if !strings.Contains(md, "P=2 2 s (100 events/s, 2 cores busy) DIGEST DIFFERS") || !strings.Contains(md, "DIFFERS from the live read model (abc)") {
		t.Fatalf("markdown does not flag the mismatch:\n%s", md)
	}
	if RebuildRows(&measure.Result{}) != nil {
		t.Fatal("rows without a comparison")
	}
}

func TestRebuildDigestInJUnit(t *testing.T) {
	x, err := RenderJUnit(rebuildsResult(false))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(x), `name="rebuild.digest"`) || !strings.Contains(string(x), `type="rebuild_digest"`) {
		t.Fatalf("junit has no failing rebuild.digest case:\n%s", x)
	}
	x, _ = RenderJUnit(rebuildsResult(true))
	if strings.Contains(string(x), `type="rebuild_digest"`) {
		t.Fatal("a matching digest must not fail in junit")
	}
}
