package term

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/evbench/evbench/live"
)

var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// visible is what the terminal shows of a rendered line.
func visible(l string) string { return sgr.ReplaceAllString(l, "") }

func cells(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// view renders s through Update, as the program would.
func view(t *testing.T, s live.Snapshot, width int, color bool) string {
	t.Helper()
	m := newModel(width, color)
	next, _ := m.Update(snapMsg(s))
	return next.View()
}

func TestViewFitsAndShowsFields(t *testing.T) {
	// Fields every width must show, then those that need room.
	always := []string{
		"evbench basic-a", "[", "rate     offered 1000/s", "latency  commit p50 0.41 ms",
		"lag      0", "events   acked 4990", "faults   latency/producer", "         partition/store",
		"outages  append since 3.0s", "         closed 2", "! CLIENT LIMITED",
	}
	roomy := []string{
		"evbench basic-append · refstore · durability unknown · load",
		"  5.0s / 10s   50%", "         stage 2/3: 500 -> 2000/s",
		"offered 1000/s  achieved 998/s  in flight 3",
		"commit p50 0.41 ms  p99 1.20 ms  e2e p99 3.10 ms",
		"acked 4990  failed 3  retried 5  gave up 1  late 9",
		"latency/producer  4s left", "partition/store  1s left",
		"append since 3.0s  12 failed", "closed 2  store errors 7",
	}
	for _, width := range []int{40, 80, 200} {
		for _, color := range []bool{false, true} {
			t.Run(fmt.Sprintf("w%d/color=%v", width, color), func(t *testing.T) {
				out := view(t, troubledSnap(), width, color)
				if !strings.HasSuffix(out, "\n") {
					t.Errorf("frame does not end in a newline")
				}
				lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
				var plainText []string
				for i, l := range lines {
					v := visible(l)
					if n := cells(v); n > width {
						t.Errorf("line %d is %d cells wide, width %d: %q", i, n, width, v)
					}
					if strings.ContainsAny(v, "\x1b\r\t") {
						t.Errorf("line %d has a control character: %q", i, l)
					}
					plainText = append(plainText, v)
				}
				text := strings.Join(plainText, "\n")
				want := always
				if width >= 80 {
					want = append(append([]string{}, always...), roomy...)
				}
				for _, f := range want {
					if !strings.Contains(text, f) {
						t.Errorf("view lacks %q:\n%s", f, text)
					}
				}
				reason := "! CLIENT LIMITED: sends late behind a window that was not full"
				if width >= len(reason) && !strings.Contains(text, reason) {
					t.Errorf("view lacks the full reason:\n%s", text)
				}
				if width < len(reason) && !strings.Contains(text, reason[:width]) {
					t.Errorf("client line not cut at %d:\n%s", width, text)
				}
				if strings.Contains(out, "\x1b") != color {
					t.Errorf("escapes present = %v, color = %v", strings.Contains(out, "\x1b"), color)
				}
			})
		}
	}
}

func TestViewBar(t *testing.T) {
	for _, c := range []struct {
		elapsed, total time.Duration
		pct            string
		frac           float64
	}{
		{5 * time.Second, 10 * time.Second, " 50%", 0.5},
		{0, 10 * time.Second, "  0%", 0},
		{12 * time.Second, 10 * time.Second, "100%", 1}, // drain runs past the load
		{3 * time.Second, 0, "  0%", 0},                 // setup: no total yet
	} {
		s := baseSnap()
		s.Elapsed, s.Total = c.elapsed, c.total
		out := view(t, s, 80, false)
		bar := strings.Split(out, "\n")[1]
		full, empty := strings.Count(bar, "█"), strings.Count(bar, "░")
		if n := full + empty; n < 10 || n > 60 {
			t.Errorf("%v/%v: bar of %d cells", c.elapsed, c.total, n)
		}
		if want := int(c.frac * float64(full+empty)); full != want {
			t.Errorf("%v/%v: %d of %d cells filled, want %d: %q", c.elapsed, c.total, full, full+empty, want, bar)
		}
		if !strings.HasSuffix(bar, c.pct) {
			t.Errorf("%v/%v: bar %q does not end in %q", c.elapsed, c.total, bar, c.pct)
		}
		if cells(bar) > 80 {
			t.Errorf("bar wider than 80: %q", bar)
		}
	}
}

func TestViewQuietSnapshot(t *testing.T) {
	out := view(t, baseSnap(), 80, false)
	for _, f := range []string{"faults   none", "outages  none open  closed 2  store errors 7", "commit p50 0.41 ms"} {
		if !strings.Contains(out, f) {
			t.Errorf("view lacks %q:\n%s", f, out)
		}
	}
	if strings.Contains(out, "CLIENT LIMITED") {
		t.Errorf("client limit shown when not set:\n%s", out)
	}
	s := baseSnap()
	s.CommitP50, s.CommitP99, s.E2EP99 = 0, 0, 0
	if out := view(t, s, 80, false); !strings.Contains(out, "commit p50 -  p99 -  e2e p99 -") {
		t.Errorf("empty latencies not shown as -:\n%s", out)
	}
}

func TestViewBeforeFirstSnapshot(t *testing.T) {
	out := newModel(80, false).View()
	if !strings.Contains(out, "waiting for the run to start") || strings.Count(out, "\n") != 1 {
		t.Errorf("initial view %q", out)
	}
}

func TestViewListsAreCapped(t *testing.T) {
	s := baseSnap()
	for i := range 6 {
		s.Faults = append(s.Faults, live.Fault{Kind: fmt.Sprintf("k%d", i), Path: "store", Remaining: time.Second})
		s.Outages = append(s.Outages, live.Outage{Op: fmt.Sprintf("op%d", i)})
	}
	out := view(t, s, 80, false)
	if strings.Count(out, "+2 more") != 2 || strings.Contains(out, "k4/") || strings.Contains(out, "op4 ") {
		t.Errorf("lists not capped at %d:\n%s", maxListed, out)
	}
}

func TestViewSanitizesText(t *testing.T) {
	s := baseSnap()
	s.Scenario = "evil\x1b[2J\nname"
	s.ClientLimited, s.ClientReason = true, "a\x1b[31mb"
	out := view(t, s, 80, false)
	if strings.Contains(out, "\x1b") {
		t.Fatalf("escape from the snapshot reached the terminal: %q", out)
	}
	if !strings.Contains(out, "evil [2J name") {
		t.Errorf("control characters not replaced by spaces:\n%s", out)
	}
}

func TestViewColors(t *testing.T) {
	out := view(t, troubledSnap(), 80, true)
	for _, f := range []string{"\x1b[31mfailed 3\x1b[0m", "\x1b[" + sAlert + "m! CLIENT LIMITED", "\x1b[33mlatency/producer"} {
		if !strings.Contains(out, f) {
			t.Errorf("colored view lacks %q:\n%q", f, out)
		}
	}
	// A zero count is not colored.
	if !strings.Contains(view(t, baseSnap(), 80, true), "  failed 0  ") {
		t.Errorf("failed 0 is colored")
	}
}

func TestViewStaleAndTicks(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := newModel(80, false)
	m.clock = func() time.Time { return t0 }
	next, _ := m.Update(snapMsg(baseSnap()))
	after := func(d time.Duration) (string, tea.Cmd) {
		n, cmd := next.Update(tickMsg(t0.Add(d)))
		return n.View(), cmd
	}
	if v, cmd := after(time.Second); strings.Contains(v, "no update") || cmd == nil {
		t.Errorf("1 s after a snapshot: stale shown or tick not rescheduled (cmd %v):\n%s", cmd, v)
	}
	if v, _ := after(5 * time.Second); !strings.Contains(v, "(no update for 5s)") {
		t.Errorf("5 s after a snapshot, not shown stale:\n%s", v)
	}
	done := baseSnap()
	done.Phase = live.PhaseDone
	next, _ = next.Update(snapMsg(done))
	if v, _ := after(9 * time.Second); strings.Contains(v, "no update") {
		t.Errorf("a finished run is shown stale:\n%s", v)
	}
}

func TestWindowSize(t *testing.T) {
	m := newModel(100, false)
	next, cmd := m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	if cmd != nil || next.(model).width != 120 {
		t.Errorf("grow: cmd %v, width %d", cmd, next.(model).width)
	}
	next, cmd = next.Update(tea.WindowSizeMsg{Width: 60, Height: 30})
	if next.(model).width != 60 {
		t.Errorf("shrink: width %d", next.(model).width)
	}
	if cmd == nil || cmd() != tea.ClearScreen() {
		t.Errorf("shrink did not clear the screen")
	}
	next, _ = next.Update(snapMsg(troubledSnap()))
	for _, l := range strings.Split(next.View(), "\n") {
		if cells(l) > 60 {
			t.Errorf("after shrink, line wider than 60: %q", l)
		}
	}
}

func TestCut(t *testing.T) {
	for _, c := range []struct {
		in    string
		width int
		out   string
		n     int
	}{
		{"hello", 3, "hel", 3},
		{"hello", 10, "hello", 5},
		{"a·b", 2, "a·", 2},
		{"日本語", 5, "日本", 4}, // a wide rune that does not fit is left out whole
		{"e\u0301x", 2, "e\u0301x", 2},
		{"a\tb", 3, "a b", 3},
	} {
		if out, n := cut(c.in, c.width); out != c.out || n != c.n {
			t.Errorf("cut(%q, %d) = %q, %d; want %q, %d", c.in, c.width, out, n, c.out, c.n)
		}
	}
}
