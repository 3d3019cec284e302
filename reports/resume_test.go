package reports

import (
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
)

// TestConsumerRestartRow: the restarts appear in the Markdown and HTML key
// numbers when the run had any, and not at all otherwise (the goldens).
func TestConsumerRestartRow(t *testing.T) {
	r := &measure.Result{Complete: true, ConsumerRestarts: []measure.ConsumerRestart{
		{AtS: 1.15, Projector: 0, Group: "g-p0", ResumeS: 0.42, Resumed: true, Replayed: 46, CommitEvery: 100, CommitIntervalS: 1},
		{AtS: 5, DownS: 2, Projector: 1, ResumeS: 3, Replayed: 0},
	}}
	text := ConsumerRestartText(r)
	for _, want := range []string{"projector 0 at 1.15 s: resumed in 0.42 s, replayed 46 (commit every 100 events / 1 s), lost 0", "projector 1 at 5 s: NOT resumed (3 s to the end)"} {
		if !strings.Contains(text, want) {
			t.Errorf("ConsumerRestartText = %q, want %q in it", text, want)
		}
	}
	if md := string(RenderMarkdown(r)); !strings.Contains(md, "| consumer restarts (durable resume) | projector 0 at 1.15 s") {
		t.Errorf("markdown lacks the consumer restarts row:\n%s", md)
	}
	html, err := RenderHTML(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "consumer restarts (durable resume)") {
		t.Errorf("html lacks the consumer restarts row")
	}
	if ConsumerRestartText(&measure.Result{}) != "" {
		t.Errorf("a run without restarts has a restarts text")
	}
}
