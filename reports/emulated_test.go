package reports

import (
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
)

// TestEmulatedLabelInEveryReport: a result with driver.emulated says so in
// Markdown, HTML, JUnit and a comparison; a real run says nothing of it.
func TestEmulatedLabelInEveryReport(t *testing.T) {
	em := goldenResults()["emulated"]
	real := measuretest.Result()
	html, err := RenderHTML(em, nil)
	if err != nil {
		t.Fatal(err)
	}
	junit, err := RenderJUnit(em)
	if err != nil {
		t.Fatal(err)
	}
	for what, out := range map[string]string{"markdown": string(RenderMarkdown(em)), "html": string(html), "junit": string(junit)} {
		if !strings.Contains(out, "latency figures are not meaningful") {
			t.Errorf("%s report of an emulated run lacks the EMULATED warning", what)
		}
	}
	if strings.Contains(string(RenderMarkdown(real)), "EMULATED") {
		t.Error("a run against a real store is labelled EMULATED")
	}
	c := NewComparison([]string{"real", "fake"}, []*measure.Result{real, em})
	if all := strings.Join(c.Warnings, "\n"); !strings.Contains(all, "fake ran against an emulator") || strings.Contains(all, "real ran against") {
		t.Errorf("comparison warnings:\n%s\nwant one for fake only", all)
	}
}
