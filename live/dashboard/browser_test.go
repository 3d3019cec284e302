package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/evbench/evbench/internal/browsertest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/evbench/evbench/live"
	"github.com/evbench/evbench/reports"
	"github.com/evbench/evbench/reports/measure/measuretest"
)

// chromiumPath finds headless Chromium (internal/browsertest).
func chromiumPath(t *testing.T) string { return browsertest.ChromiumPath(t) }

// browserFeed publishes a synthetic run every 300 ms, one simulated
// second per frame: warm-up, then load; a latency fault is active from
// 10 s to 30 s (the middle of the 40 s run) and an append outage is open
// from 14 s to 20 s, with the latency and lag climbing inside them.
func browserFeed(ctx context.Context, s *Server) {
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for i := 1; ; i++ {
		el := time.Duration(i) * time.Second
		x := live.Snapshot{
			Scenario: "steady-fault", Driver: "refstore", Durability: "true", Phase: live.PhaseLoad,
			Stage: "stage 1/1: 1000/s", Elapsed: el, Total: 40 * time.Second,
			OfferedRate: 1000, AchievedRate: 995, InFlight: 12, Scheduled: int64(i) * 1000, Sent: int64(i) * 1000,
			Acked: int64(i) * 995, CommitP50: 1.2, CommitP99: 6, E2EP99: 14, Lag: 20 + int64(i%3),
			Delivered: int64(i) * 990,
		}
		if i < 4 {
			x.Phase = live.PhaseWarmup
		}
		if i >= 10 && i < 30 {
			x.Faults = []live.Fault{{Kind: "latency", Path: "producer", Started: 10 * time.Second, Remaining: 30*time.Second - el}}
			x.AchievedRate, x.CommitP99, x.E2EP99, x.Lag = 700, 180, 260, 900
		}
		if i >= 14 && i < 20 {
			x.Outages = []live.Outage{{Op: "append", Since: 14 * time.Second, Failed: int64(i-13) * 40}}
			x.Failed, x.Errors = int64(i-13)*40, int64(i-13)*40
		}
		s.Publish(x)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// consoleLog collects what the page reports as wrong.
type consoleLog struct {
	mu   sync.Mutex
	msgs []string
}

func (c *consoleLog) add(format string, args ...any) {
	c.mu.Lock()
	c.msgs = append(c.msgs, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

func (c *consoleLog) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

// listen records console errors and warnings, uncaught exceptions and
// browser log errors. It runs on chromedp's reader goroutine: it only
// formats and appends.
func (c *consoleLog) listen(ev any) {
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
			var parts []string
			for _, a := range e.Args {
				if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			c.add("console.%s: %s", e.Type, strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		c.add("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg)
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError {
			c.add("log %s error: %s (%s)", e.Entry.Source, e.Entry.Text, e.Entry.URL)
		}
	}
}

// pageState is what the test reads from the page on each poll.
type pageState struct {
	Frame    string `json:"frame"`
	Count    string `json:"count"`
	Elapsed  string `json:"elapsed"`
	Faults   int    `json:"faults"`
	Outages  int    `json:"outages"`
	Bands    int    `json:"bands"`
	Conn     string `json:"conn"`
	JSErrors string `json:"jsErrors"`
}

const stateJS = `(() => {
  const q = (s) => document.querySelector(s);
  return {
    frame: q('#frame').textContent,
    count: document.body.dataset.frames,
    elapsed: q('#elapsed').textContent,
    faults: document.querySelectorAll('#faults li.fault').length,
    outages: document.querySelectorAll('#outages li.outage').length,
    bands: Number(q('#chart-rate').dataset.bands || 0),
    conn: q('#conn').textContent,
    jsErrors: q('#js-errors').dataset.count,
  };
})()`

// colorPixelsJS counts the pixels of a canvas near an RGB colour with at
// least minAlpha: a drawn series line, or a band (translucent).
const colorPixelsJS = `((id, r, g, b, minA, maxA) => {
  const c = document.getElementById(id);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (Math.abs(d[i] - r) < 28 && Math.abs(d[i+1] - g) < 28 && Math.abs(d[i+2] - b) < 28 && d[i+3] >= minA && d[i+3] <= maxA) n++;
  }
  return n;
})`

// browser is one headless Chromium tab with its console collected.
type browser struct {
	t       *testing.T
	root    context.Context // ends the browser: nothing can outlive it
	ctx     context.Context // the tab
	console *consoleLog
	shots   string
}

// startBrowser launches Chromium for at most 50 s (the allocator's
// context ends it, so no step can hang the test); the test's cleanup
// stops it.
func startBrowser(t *testing.T, bin, shots string) *browser {
	t.Helper()
	root, cancelRoot := context.WithTimeout(context.Background(), 50*time.Second)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(root,
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // small /dev/shm in containers
		chromedp.Flag("force-color-profile", "srgb"), // the pixel checks compare colours
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "ud")),
		chromedp.WindowSize(1280, 1100),
		chromedp.Env("DBUS_SESSION_BUS_ADDRESS=disabled:"), // no D-Bus retries
	)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelTab(); cancelAlloc(); cancelRoot() })
	b := &browser{t: t, root: root, ctx: ctx, console: &consoleLog{}, shots: shots}
	if err := chromedp.Listen(ctx, b.console.listen); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return b
}

// step runs one action with its own timeout and fails the test on error.
func (b *browser) step(name string, d time.Duration, a chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if _, err := chromedp.Run(sctx, a); err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
}

// eval evaluates js and decodes its JSON value into out.
func (b *browser) eval(js string, out any) error {
	sctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[[]byte](js))
	if err != nil {
		return fmt.Errorf("evaluating %.40q...: %w", js, err)
	}
	if err := json.Unmarshal(v, out); err != nil {
		return fmt.Errorf("decoding %s: %w", v, err)
	}
	return nil
}

// screenshot saves a full-page PNG into the screenshot directory.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.shots, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s (%d bytes)", p, len(png))
}

// screenshotDir is $EVBENCH_SCREENSHOT_DIR, or a temporary directory.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("EVBENCH_SCREENSHOT_DIR")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowserDashboardUpdates opens the dashboard in headless Chromium
// while synthetic snapshots stream in, and checks that the page renders
// successive frames, shows the fault as it becomes active (list and chart
// band), draws its charts, and shows the final report after Finish, all
// without a console error or exception. Screenshots go to
// $EVBENCH_SCREENSHOT_DIR when set.
func TestBrowserDashboardUpdates(t *testing.T) {
	bin := chromiumPath(t)
	shots := screenshotDir(t)

	s := New(Options{Heartbeat: time.Second})
	url, err := s.Start("--dashboard-addr", "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	feedCtx, stopFeed := context.WithCancel(context.Background())
	fed := make(chan struct{})
	go func() { defer close(fed); browserFeed(feedCtx, s) }()
	defer func() { stopFeed(); <-fed }()

	b := startBrowser(t, bin, shots)
	root, console, step, eval, screenshot := b.root, b.console, b.step, b.eval, b.screenshot

	// Open the page mid-run: it must get the history first.
	for s.Stats().Frames < 3 {
		if root.Err() != nil {
			t.Fatal("the feed published nothing")
		}
		time.Sleep(50 * time.Millisecond)
	}
	step("navigate", 15*time.Second, chromedp.Navigate(url))

	// Poll until the page has rendered several frames and the fault.
	frames := map[string]bool{}
	var st pageState
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := eval(stateJS, &st); err != nil {
			t.Fatalf("reading the page: %v", err)
		}
		frames[st.Frame+" "+st.Elapsed] = true
		if len(frames) >= 4 && st.Faults > 0 && st.Bands > 0 && st.Outages > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: %d distinct frames rendered %v, last state %+v; want >= 3 and the fault and outage shown",
				len(frames), frames, st)
		}
		time.Sleep(150 * time.Millisecond)
	}
	if st.Count != st.Frame {
		t.Errorf("the page holds %s snapshots but the last id is %s: the history before it opened is missing", st.Count, st.Frame)
	}
	if st.Conn != "live" {
		t.Errorf("connection shows %q, want live", st.Conn)
	}

	// The charts drew their lines and the fault band, in their colours.
	for _, c := range []struct {
		canvas     string
		r, g, b    int
		minA, maxA int
		min        int
		what       string
	}{
		{"chart-rate", 31, 111, 235, 200, 255, 50, "achieved-rate line"},
		{"chart-latency", 191, 57, 137, 200, 255, 50, "e2e p99 line"},
		{"chart-lag", 130, 80, 223, 200, 255, 50, "lag line"},
		{"chart-rate", 212, 167, 44, 40, 90, 500, "fault band"},
	} {
		var n int
		js := fmt.Sprintf("%s(%q, %d, %d, %d, %d, %d)", colorPixelsJS, c.canvas, c.r, c.g, c.b, c.minA, c.maxA)
		if err := eval(js, &n); err != nil {
			t.Fatalf("reading %s pixels: %v", c.canvas, err)
		}
		if n < c.min {
			t.Errorf("%s: %d pixels of the %s, want >= %d: not drawn", c.canvas, n, c.what, c.min)
		}
	}
	screenshot("dashboard-live.png")

	// The end of the run: the report replaces nothing, it comes below.
	stopFeed()
	<-fed
	const marker = "REPORT-MARKER-7f3a"
	s.Finish([]byte("<!doctype html>\n<html><head><style>h1 { color: #0a6 }</style></head>\n<body>\n<h1>" + marker +
		"</h1>\n<p>final numbers</p>\n<script>document.body.dataset.rendered = 'yes';</script>\n</body></html>\n"))
	var rep struct {
		Text, Rendered, Conn string
		LiveHidden           bool
		Points               int
	}
	const reportJS = `(() => {
  const f = document.getElementById('report-frame'), d = f && f.contentDocument;
  return { text: d && d.body ? d.body.innerText : '', rendered: d && d.body ? (d.body.dataset.rendered || '') : '',
    conn: document.getElementById('conn').textContent, liveHidden: document.getElementById('live').hidden,
    points: Number(document.getElementById('chart-rate').dataset.points || 0) };
})()`
	deadline = time.Now().Add(10 * time.Second)
	for {
		if err := eval(reportJS, &rep); err != nil {
			t.Fatalf("reading the report: %v", err)
		}
		if strings.Contains(rep.Text, marker) && rep.Rendered == "yes" && rep.Conn == "finished" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Finish: the page shows %+v; want the report with %q, its script run, and 'finished'", rep, marker)
		}
		time.Sleep(150 * time.Millisecond)
	}
	// The page scrolled to the report; back to the top, so the full-page
	// screenshot has the sticky header where it belongs.
	time.Sleep(600 * time.Millisecond) // the smooth scroll
	step("scroll to the top", 5*time.Second, chromedp.Evaluate[chromedp.Void](`window.scrollTo({top: 0, behavior: 'instant'})`))
	if rep.LiveHidden || rep.Points == 0 {
		t.Errorf("after the report the live charts are hidden (%v) or empty (%d points); they should stay", rep.LiveHidden, rep.Points)
	}
	screenshot("dashboard-report.png")

	msgs := console.all()
	if len(msgs) > 0 {
		t.Errorf("the page reported %d problems:\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
	if st.JSErrors != "0" {
		t.Errorf("the page's own error banner counts %s errors", st.JSErrors)
	}

	// The negative control: the collector must see each kind of problem,
	// or its silence above proves nothing.
	step("provoke errors", 5*time.Second, chromedp.Evaluate[chromedp.Void](
		`setTimeout(() => { console.error('probe-error'); fetch('/no-such-path'); noSuchFunction(); })`))
	wants := []string{"console.error: \"probe-error\"", "noSuchFunction", "log network error"}
	deadline = time.Now().Add(5 * time.Second)
	for {
		got := strings.Join(console.all()[len(msgs):], "\n")
		missing := ""
		for _, w := range wants {
			if !strings.Contains(got, w) {
				missing = w
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console collector missed %q; it got:\n%s", missing, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserDashboardShowsRealReport finishes with the report.html that
// evbench writes (with its plots) and checks it renders inside the page:
// the srcdoc frame inherits the dashboard's Content-Security-Policy, so
// an inline script or a data: image the policy blocked would show here
// as a console error or as the report's own error counter.
func TestBrowserDashboardShowsRealReport(t *testing.T) {
	bin := chromiumPath(t)
	dir := t.TempDir()
	r := measuretest.Result()
	if _, err := measuretest.Record(r, dir, 4); err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteAll(dir, r); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, reports.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}

	s := New(Options{})
	for i := 1; i <= 5; i++ {
		s.Publish(snap(i))
	}
	s.Finish(html)
	url, err := s.Start("--dashboard-addr", "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()

	b := startBrowser(t, bin, screenshotDir(t))
	b.step("navigate", 15*time.Second, chromedp.Navigate(url))
	var got struct {
		Rendered, Errors, ErrorText, Conn string
		Images, Broken, Frames            int
	}
	const js = `(() => {
  const d = document.getElementById('report-frame').contentDocument;
  const q = (s) => d && d.querySelector(s);
  const imgs = d ? Array.from(d.images) : [];
  return {
    rendered: q('#render-check') ? q('#render-check').dataset.rendered : '',
    errors: q('#js-errors') ? q('#js-errors').dataset.count : '',
    errorText: q('#js-errors') ? q('#js-errors').textContent : '',
    images: imgs.length, broken: imgs.filter((i) => i.complete && i.naturalWidth === 0).length,
    conn: document.getElementById('conn').textContent, frames: Number(document.body.dataset.frames),
  };
})()`
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := b.eval(js, &got); err != nil {
			t.Fatal(err)
		}
		if got.Rendered == "yes" && got.Conn == "finished" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the report did not render in the page: %+v", got)
		}
		time.Sleep(150 * time.Millisecond)
	}
	if got.Errors != "0" {
		t.Errorf("the report counted %s script errors inside the dashboard: %s", got.Errors, got.ErrorText)
	}
	if got.Images == 0 || got.Broken > 0 {
		t.Errorf("report plots: %d images, %d not decoded; want them all shown", got.Images, got.Broken)
	}
	if got.Frames != 5 {
		t.Errorf("a page opened after Finish holds %d snapshots, want the 5 of the run", got.Frames)
	}
	time.Sleep(600 * time.Millisecond) // the page's smooth scroll to the report
	b.step("scroll to the top", 5*time.Second, chromedp.Evaluate[chromedp.Void](`window.scrollTo({top: 0, behavior: 'instant'})`))
	b.screenshot("dashboard-real-report.png")
	if msgs := b.console.all(); len(msgs) > 0 {
		t.Errorf("the page reported %d problems:\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
}
