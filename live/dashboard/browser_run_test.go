package dashboard

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	_ "github.com/evbench/evbench/drivers/memory"
	"github.com/evbench/evbench/reports"
	"github.com/evbench/evbench/runner"
	"github.com/evbench/evbench/scenarios"
)

// TestBrowserDashboardLiveRun is the dashboard on a real run: the
// runner's own snapshots (memory store, 6 s) stream to the page, which
// must render at least 3 distinct frames while the run goes, then show
// the run's report.html, with no console error.
func TestBrowserDashboardLiveRun(t *testing.T) {
	bin := chromiumPath(t)
	sc, err := scenarios.Parse("live.yaml", []byte(`
name: dashboard-live
events: {size: {min: 100, max: 200}, keys: {count: 100}}
load: {start: 200, duration: 6s, warmup: 1s}
consumers: {projectors: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := scenarios.Validate(sc, scenarios.ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Heartbeat: time.Second})
	url, err := s.Start("--dashboard", "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	}()
	out := t.TempDir()
	done := make(chan error, 1)
	go func() {
		res, err := runner.Run(context.Background(), runner.Config{Scenario: sc, Driver: "memory", OutDir: out, Live: s})
		if err == nil {
			err = reports.WriteAll(out, res)
		}
		done <- err
	}()

	b := startBrowser(t, bin, screenshotDir(t))
	b.step("navigate", 15*time.Second, chromedp.Navigate(url))
	frames := map[string]bool{}
	var st pageState
	running := true
	for running {
		select {
		case err := <-done:
			running = false
			if err != nil {
				t.Fatalf("run: %v", err)
			}
		case <-time.After(200 * time.Millisecond):
		}
		if err := b.eval(stateJS, &st); err != nil {
			t.Fatalf("reading the page: %v", err)
		}
		if running {
			frames[st.Frame+" "+st.Elapsed] = true
		}
	}
	if len(frames) < 3 {
		t.Fatalf("%d distinct frames rendered while the run went (%v), want >= 3", len(frames), frames)
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	s.Finish(html)
	var text string
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(text, "dashboard-live") {
		if time.Now().After(deadline) {
			t.Fatalf("the page never showed the run's report; its frame reads %.200q", text)
		}
		time.Sleep(200 * time.Millisecond)
		if err := b.eval(`(() => { const f = document.getElementById('report-frame'), d = f && f.contentDocument; return d && d.body ? d.body.innerText : ''; })()`, &text); err != nil {
			t.Fatalf("reading the report: %v", err)
		}
	}
	b.screenshot("dashboard-live-run.png")
	if msgs := b.console.all(); len(msgs) > 0 {
		t.Errorf("the page reported %d problems:\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
}
