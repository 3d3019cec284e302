package reports

import (
	"bytes"
	"context"
	"github.com/evbench/evbench/internal/browsertest"
	"github.com/evbench/evbench/reports/measure/measuretest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chromiumPath finds headless Chromium (internal/browsertest).
func chromiumPath(t *testing.T) string { return browsertest.ChromiumPath(t) }

// runChromium runs headless Chromium on a local file with networking
// features off; it returns stdout and stderr. The whole process group is
// killed on timeout, so no renderer outlives the test.
func runChromium(t *testing.T, bin, userData string, extra ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + userData, "--enable-logging=stderr", "--v=0"}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS=disabled:") // no D-Bus retries
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
	}
	return out.String(), errb.String()
}

// consoleErrors returns Chromium's logged console messages (page errors).
func consoleErrors(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "CONSOLE") || strings.Contains(l, "Uncaught") {
			out = append(out, l)
		}
	}
	return out
}

// TestBrowserRendersReport opens report.html in headless Chromium, saves a
// screenshot beside it and checks the page rendered without script errors.
// With EVBENCH_REPORT_DIR set it checks that existing result directory (a
// real run's) instead of a synthetic one, and the screenshot stays there.
func TestBrowserRendersReport(t *testing.T) {
	bin := chromiumPath(t)
	t.Parallel()
	dir := os.Getenv("EVBENCH_REPORT_DIR")
	if dir == "" {
		dir = t.TempDir()
		r := measuretest.Result()
		if _, err := measuretest.Record(r, dir, 4); err != nil {
			t.Fatal(err)
		}
		if err := WriteAll(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	page := "file://" + filepath.Join(dir, HTMLFile)
	shot := filepath.Join(dir, "report.png")
	// One run does both: screenshot and the DOM after scripts ran.
	dom, stderr := runChromium(t, bin, filepath.Join(t.TempDir(), "ud"), "--screenshot="+shot, "--dump-dom", "--window-size=1280,2400", page)
	fi, err := os.Stat(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, stderr)
	}
	if fi.Size() < 50_000 { // a blank 1280x2400 page is a few KB
		t.Errorf("screenshot is only %d bytes: the page looks empty", fi.Size())
	}
	wants := []string{`id="summary"`, `data-rendered="yes"`, `id="js-errors" data-count="0"`, `id="numbers"`}
	if os.Getenv("EVBENCH_REPORT_DIR") == "" {
		wants = append(wants, "commit.p95 &lt; 20ms", `id="plot-percentile_spectrum"`)
	}
	for _, want := range wants {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	if ce := consoleErrors(stderr); len(ce) > 0 {
		t.Errorf("console errors while rendering:\n%s", strings.Join(ce, "\n"))
	}
}

// TestBrowserCatchesErrors is the negative control: a page with a broken
// script must be caught, or the check above proves nothing.
func TestBrowserCatchesErrors(t *testing.T) {
	bin := chromiumPath(t)
	t.Parallel()
	dir := t.TempDir()
	b, err := RenderHTML(measuretest.Result(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("</body>"), []byte("<script>noSuchFunction();</script></body>"), 1)
	path := filepath.Join(dir, "broken.html")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	dom, stderr := runChromium(t, bin, filepath.Join(t.TempDir(), "ud"), "--dump-dom", "file://"+path)
	if strings.Contains(dom, `data-count="0"`) || !strings.Contains(dom, "noSuchFunction") {
		t.Errorf("script error not recorded in the DOM:\n%s", dom[:min(len(dom), 800)])
	}
	if len(consoleErrors(stderr)) == 0 {
		t.Errorf("chromium logged no CONSOLE line for the script error: the stderr check would miss errors")
	}
}
