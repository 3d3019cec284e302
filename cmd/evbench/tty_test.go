package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for evbench (EVBENCH_AS_MAIN=1),
// so a test can run the real CLI in a real terminal without a build step.
func TestMain(m *testing.M) {
	if os.Getenv("EVBENCH_AS_MAIN") == "1" {
		os.Exit(execute(os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestLiveDisplayInTmux runs `evbench run` in a tmux terminal and checks
// that the live display (not plain lines) is drawn and redrawn at least
// once a second, and that the terminal is left clean (cursor shown) with
// the summary after it.
func TestLiveDisplayInTmux(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed; CI needs it for the live display test (apt-get install -y tmux)")
		}
		t.Skip("tmux not installed; skipping the live display test")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "tmux.sock") // a private server: never the user's sessions
	tm := func(args ...string) string {
		out, err := exec.Command(tmux, append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	script := filepath.Join(dir, "run.sh")
	body := "#!/bin/sh\nEVBENCH_AS_MAIN=1 " + self + " run burst --driver memory --duration 6s --out " + filepath.Join(dir, "r") +
		"; echo EXIT=$?; sleep 30\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	tm("new-session", "-d", "-s", "ev", "-x", "120", "-y", "35", script)
	defer exec.Command(tmux, "-S", sock, "kill-server").Run()

	bars := map[string]bool{}
	deadline := time.Now().Add(20 * time.Second)
	var screen string
	for time.Now().Before(deadline) {
		screen = tm("capture-pane", "-p", "-t", "ev")
		if strings.Contains(screen, "EXIT=") {
			break
		}
		for _, l := range strings.Split(screen, "\n") {
			if strings.HasPrefix(l, "[") && strings.Contains(l, "█") && strings.Contains(l, "/ 6s") {
				bars[strings.TrimSpace(l)] = true
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.Contains(screen, "EXIT=0") {
		t.Fatalf("the run did not finish with exit 0 within 20 s; screen:\n%s", screen)
	}
	if len(bars) < 4 {
		t.Errorf("the progress bar was drawn %d distinct times in a 6 s run (%v), want >= 4: not redrawn every second", len(bars), bars)
	}
	if strings.Contains(screen, "load  offered") {
		t.Errorf("plain progress lines on a terminal; want the live view:\n%s", screen)
	}
	for _, want := range []string{"burst · memory", "latency  commit p50", "PASS", "result "} {
		if !strings.Contains(screen, want) {
			t.Errorf("the final screen lacks %q:\n%s", want, screen)
		}
	}
	if cur := strings.TrimSpace(tm("display-message", "-p", "-t", "ev", "#{cursor_flag}")); cur != "1" {
		t.Errorf("cursor_flag %q after the run: the cursor was left hidden", cur)
	}
}
