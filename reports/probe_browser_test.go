package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrowserRendersProbeReport opens a probe's report.html in headless
// Chromium: it must render with no script error and its curve decoded
// (the page's error catcher notes an image that did not decode).
func TestBrowserRendersProbeReport(t *testing.T) {
	bin := chromiumPath(t)
	t.Parallel()
	dir := t.TempDir()
	if err := WriteProbe(dir, goldenProbes()["probe_limited"]); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "report.png")
	dom, stderr := runChromium(t, bin, filepath.Join(t.TempDir(), "ud"), "--screenshot="+shot, "--dump-dom", "--window-size=1280,2400", "file://"+filepath.Join(dir, HTMLFile))
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 50_000 {
		t.Errorf("screenshot missing or nearly empty: %v\n%s", err, stderr)
	}
	for _, want := range []string{`data-rendered="yes"`, `id="js-errors" data-count="0"`, `id="steps"`, `id="plot-probe_curve"`, `id="client-limited"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	if ce := consoleErrors(stderr); len(ce) > 0 {
		t.Errorf("console errors while rendering:\n%s", strings.Join(ce, "\n"))
	}
}
