// Package browsertest finds headless Chromium for the browser tests (the
// HTML report, the live dashboard): Debian's package "chromium", which
// `make test-browser` and CI (`make test` with CI=true) install.
package browsertest

import (
	"os"
	"os/exec"
	"testing"
)

// ChromiumPath returns Chromium's path. Without it the test skips with a
// one-line reason, or fails in CI (CI=true), where it must run.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI must run `make test-browser` (apt-get install -y chromium)")
	}
	t.Skip("chromium not installed (apt-get install -y chromium); skipping the browser test")
	return ""
}
