package term

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/evbench/evbench/live"
)

// Messages of the live model.
type (
	snapMsg live.Snapshot
	logMsg  string
	tickMsg time.Time
)

// tickEvery is how often the view is recomputed without a snapshot, so
// that a stalled runner shows as stale instead of as a frozen screen.
const tickEvery = time.Second

// staleAfter is how long without a snapshot before the header says so;
// snapshots come about once a second, so two missed ones is a stall.
const staleAfter = 3 * time.Second

// maxListed caps the fault and outage lines: a timeline with many
// overlapping faults must not push the counters off a short terminal.
const maxListed = 4

// model is the Bubble Tea model of the live view. It only keeps the
// latest snapshot; everything shown is derived from it at View time.
type model struct {
	snap  live.Snapshot
	have  bool
	at    time.Time // when snap arrived
	now   time.Time // last tick or snapshot
	width int
	color bool
	clock func() time.Time
}

func newModel(width int, color bool) model {
	return model{width: width, color: color, clock: time.Now}
}

func tick() tea.Cmd {
	return tea.Tick(tickEvery, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func (m model) Init() tea.Cmd { return tick() }

func (m model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case snapMsg:
		m.snap, m.have = live.Snapshot(msg), true
		m.at = m.clock()
		m.now = m.at
	case tickMsg:
		m.now = time.Time(msg)
		return m, tick()
	case logMsg:
		// Printed above the view by the program, which then repaints
		// the view below it.
		return m, tea.Println(string(msg))
	case tea.WindowSizeMsg:
		shrunk := msg.Width < m.width
		if msg.Width > 0 {
			m.width = msg.Width
		}
		if shrunk {
			// A narrower terminal re-wraps the frame already on screen,
			// so it covers more rows than the renderer knows about and
			// moving up over it would leave its top behind. Clearing
			// the screen is the only reliable way to start clean.
			return m, tea.ClearScreen
		}
	}
	return m, nil
}

// View draws the snapshot, every line cut to the width so the terminal
// never wraps (a wrapped line breaks the renderer's in-place redraw).
// The frame ends with a newline: when the program stops, the renderer
// erases the line the cursor is on, and that must be an empty one, not
// the last line of the final frame.
func (m model) View() string {
	if m.width <= 0 {
		m.width = defaultWidth // m is a copy: this only affects this frame
	}
	var b strings.Builder
	for _, l := range m.lines() {
		b.WriteString(renderLine(l, m.width, m.color))
		b.WriteByte('\n')
	}
	return b.String()
}

// SGR parameters of the few styles used; plain ANSI so that every color
// terminal agrees.
const (
	sBold   = "1"
	sDim    = "2"
	sRed    = "31"
	sGreen  = "32"
	sYellow = "33"
	sAlert  = "1;97;41" // bold bright white on red: the one thing to notice
)

// seg is a run of text in one style. A line is built from segs so that
// cutting it to the width counts only visible cells and never splits an
// escape sequence.
type seg struct{ text, style string }

// label is the left column of the detail lines.
func label(s string) seg { return seg{fmt.Sprintf("%-9s", s), sDim} }

const indent = "         " // as wide as a label

func (m model) lines() [][]seg {
	if !m.have {
		return [][]seg{{{"evbench", sBold}, {"  waiting for the run to start", sDim}}}
	}
	s := m.snap
	var out [][]seg

	head := []seg{{"evbench ", sBold}, {orDash(s.Scenario), sBold},
		{" · " + orDash(s.Driver), ""},
		{" · durability ", ""}, {orDash(s.Durability), durabilityStyle(s.Durability)},
		{" · ", ""}, {orDash(s.Phase), sBold}}
	if age := m.now.Sub(m.at); age >= staleAfter && s.Phase != live.PhaseDone {
		head = append(head, seg{fmt.Sprintf("  (no update for %s)", age.Round(time.Second)), sYellow})
	}
	out = append(out, head)

	out = append(out, m.bar())
	if s.Stage != "" {
		out = append(out, []seg{{indent + s.Stage, ""}})
	}

	out = append(out, []seg{label("rate"),
		{fmt.Sprintf("offered %.0f/s  achieved %.0f/s  in flight %d", s.OfferedRate, s.AchievedRate, s.InFlight), ""}})
	out = append(out, []seg{label("latency"),
		{fmt.Sprintf("commit p50 %s  p99 %s  e2e p99 %s", ms(s.CommitP50), ms(s.CommitP99), ms(s.E2EP99)), ""}})

	lag := []seg{label("lag"), {fmt.Sprintf("%d", s.Lag), ""}}
	if s.Misrouted > 0 {
		lag = append(lag, seg{fmt.Sprintf("  misrouted %d", s.Misrouted), sRed})
	}
	out = append(out, lag)

	out = append(out, []seg{label("events"),
		{fmt.Sprintf("acked %d  ", s.Acked), ""},
		count("failed", s.Failed, sRed), {"  ", ""},
		count("retried", s.Retried, sYellow), {"  ", ""},
		count("gave up", s.GaveUp, sRed), {"  ", ""},
		count("late", s.Late, sYellow)})

	if len(s.Faults) == 0 {
		out = append(out, []seg{label("faults"), {"none", sDim}})
	}
	for i, f := range s.Faults {
		l := label("faults")
		if i > 0 {
			l = seg{indent, ""}
		}
		if i == maxListed {
			out = append(out, []seg{l, {fmt.Sprintf("+%d more", len(s.Faults)-maxListed), sYellow}})
			break
		}
		out = append(out, []seg{l, {fmt.Sprintf("%s/%s  %s left", orDash(f.Kind), orDash(f.Path), fmtLeft(f.Remaining)), sYellow}})
	}

	for i, o := range s.Outages {
		l := label("outages")
		if i > 0 {
			l = seg{indent, ""}
		}
		if i == maxListed {
			out = append(out, []seg{l, {fmt.Sprintf("+%d more", len(s.Outages)-maxListed), sRed}})
			break
		}
		out = append(out, []seg{l, {fmt.Sprintf("%s since %s  %d failed", orDash(o.Op), fmtSince(o.Since), o.Failed), sRed}})
	}
	summary := []seg{{indent, ""}}
	if len(s.Outages) == 0 {
		summary = []seg{label("outages"), {"none open  ", sDim}}
	}
	summary = append(summary, seg{fmt.Sprintf("closed %d  ", s.OutagesClosed), ""}, count("store errors", s.Errors, sRed))
	out = append(out, summary)

	if s.ClientLimited {
		msg := "! CLIENT LIMITED"
		if s.ClientReason != "" {
			msg += ": " + s.ClientReason
		}
		out = append(out, []seg{{msg, sAlert}})
	}
	return out
}

// bar is the progress line: [████░░░░]  5.0s / 10s   50%. The bar takes
// what the numbers leave, within limits: a 180-column bar reads no
// better than a 60-column one.
func (m model) bar() []seg {
	s := m.snap
	frac := 0.0
	if s.Total > 0 {
		frac = min(max(float64(s.Elapsed)/float64(s.Total), 0), 1)
	}
	suffix := fmt.Sprintf("  %.1fs / %s  %3.0f%%", s.Elapsed.Seconds(), fmtTotal(s.Total), frac*100)
	n := min(max(m.width-2-textWidth(suffix), 10), 60)
	filled := int(frac * float64(n))
	return []seg{{"[", ""},
		{strings.Repeat("█", filled), sGreen},
		{strings.Repeat("░", n-filled), sDim},
		{"]", ""}, {suffix, ""}}
}

// count shows "name n", colored only when n is not zero: a zero is the
// normal case and should not draw the eye.
func count(name string, n int64, style string) seg {
	if n == 0 {
		style = ""
	}
	return seg{fmt.Sprintf("%s %d", name, n), style}
}

// ms shows a latency; 0 means no value closed in the last second.
func ms(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f ms", v)
}

func durabilityStyle(d string) string {
	switch d {
	case "true":
		return sGreen
	case "false":
		return sRed
	}
	return sYellow
}

// renderLine joins segs, cut to width visible cells, with each styled
// seg wrapped in its SGR and a reset when color is on.
func renderLine(segs []seg, width int, color bool) string {
	var b strings.Builder
	left := width
	for _, s := range segs {
		if left <= 0 {
			break
		}
		t, n := cut(s.text, left)
		left -= n
		if t == "" {
			continue
		}
		if color && s.style != "" {
			b.WriteString("\x1b[" + s.style + "m" + t + "\x1b[0m")
		} else {
			b.WriteString(t)
		}
	}
	return b.String()
}

// cut returns the longest prefix of s at most width cells wide, and its
// width. Control characters become spaces: an escape or a newline in a
// scenario name or a reason would otherwise move the cursor under the
// renderer's feet.
func cut(s string, width int) (string, int) {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = ' '
		}
		rw := runeWidth(r)
		if n+rw > width {
			break
		}
		b.WriteRune(r)
		n += rw
	}
	return b.String(), n
}

func textWidth(s string) int {
	_, n := cut(s, int(^uint(0)>>1))
	return n
}

// runeWidth is the cells r takes: 0 for combining marks and format
// characters, 2 for the common East Asian wide and emoji blocks, else 1.
// A rough table, but the text here is mostly ASCII; it only has to keep
// an odd scenario name from wrapping.
func runeWidth(r rune) int {
	switch {
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	case r >= 0x1100 && r <= 0x115f,
		r >= 0x2e80 && r <= 0xa4cf && r != 0x303f,
		r >= 0xac00 && r <= 0xd7a3,
		r >= 0xf900 && r <= 0xfaff,
		r >= 0xfe30 && r <= 0xfe4f,
		r >= 0xff00 && r <= 0xff60,
		r >= 0xffe0 && r <= 0xffe6,
		r >= 0x1f300 && r <= 0x1f64f,
		r >= 0x1f900 && r <= 0x1f9ff,
		r >= 0x20000 && r <= 0x3fffd:
		return 2
	}
	return 1
}
