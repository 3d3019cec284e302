package reports

import (
	"encoding/json"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
	"strings"
	"testing"
)

func TestComparison(t *testing.T) {
	a, b := measuretest.Result(), measuretest.Result()
	b.Driver.Name = "postgres"
	b.Commit.P99 = a.Commit.P99 * 2
	b.AchievedRate = a.AchievedRate / 2
	b.Rebuild = nil
	c := NewComparison([]string{"refstore-run", "postgres-run"}, []*measure.Result{a, b})
	if len(c.Warnings) != 0 {
		t.Errorf("same scenario warned: %v", c.Warnings)
	}
	txt := c.Text()
	for _, want := range []string{"refstore-run", "postgres-run", "campaign / postgres", "commit p99 (ms)", "24.6 (+100%, worse)", "(-50%, worse)", "rebuild (events/s)"} {
		if !strings.Contains(txt, want) {
			t.Errorf("comparison lacks %q:\n%s", want, txt)
		}
	}
	// The rebuild row shows "-" for the run without a rebuild.
	for _, l := range strings.Split(txt, "\n") {
		if strings.HasPrefix(l, "rebuild") && !strings.HasSuffix(strings.TrimSpace(l), "-") {
			t.Errorf("rebuild row should end with -: %q", l)
		}
	}

	other := measuretest.Result()
	other.Scenario.Name = "burst"
	resolved := measuretest.Result()
	resolved.Scenario.Resolved = json.RawMessage(`{"name":"campaign","load":{"start":1000}}`)
	incomplete := measuretest.Result()
	incomplete.Complete, incomplete.Reason = false, "interrupted"
	for i, r := range []*measure.Result{a, other} {
		if _, err := measuretest.Record(r, "", int64(20+i)); err != nil {
			t.Fatal(err)
		}
	}
	c = NewComparison([]string{"a", "b", "c", "d"}, []*measure.Result{a, other, resolved, incomplete})
	all := strings.Join(c.Warnings, "\n")
	for _, want := range []string{"different scenarios", "resolved differently", "incomplete run: interrupted"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q: %v", want, c.Warnings)
		}
	}
	if !strings.Contains(c.Text(), "WARNING: different scenarios") {
		t.Error("Text does not show the warning")
	}
	html, err := RenderCompareHTML(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"different scenarios", `id="summary"`, "Commit latency percentile spectrum"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("compare HTML lacks %q", want)
		}
	}
}
