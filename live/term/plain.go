package term

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/evbench/evbench/live"
)

// plain prints one line per snapshot. The field order and spelling are
// fixed so that CI logs can be grepped and diffed run to run; optional
// parts (retries, faults, outages, client limit) appear only when there
// is something to say, always in the same order.
type plain struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func newPlain(w io.Writer) *plain { return &plain{w: w} }

func (p *plain) Publish(s live.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	io.WriteString(p.w, plainLine(s)+"\n")
}

func (p *plain) Logf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	io.WriteString(p.w, oneLine(fmt.Sprintf(format, args...))+"\n")
}

func (p *plain) Close(final string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if final != "" {
		io.WriteString(p.w, oneLine(final)+"\n")
	}
}

// plainLine formats s as one log line, without the newline.
func plainLine(s live.Snapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %.1fs/%s %s", s.Elapsed.Seconds(), fmtTotal(s.Total), orDash(s.Phase))
	fmt.Fprintf(&b, "  offered %.0f/s achieved %.0f/s", s.OfferedRate, s.AchievedRate)
	fmt.Fprintf(&b, "  in-flight %d", s.InFlight)
	fmt.Fprintf(&b, "  commit p50 %.2f p99 %.2f ms", s.CommitP50, s.CommitP99)
	fmt.Fprintf(&b, "  e2e p99 %.2f ms", s.E2EP99)
	fmt.Fprintf(&b, "  lag %d", s.Lag)
	fmt.Fprintf(&b, "  acked %d failed %d", s.Acked, s.Failed)
	for _, c := range []struct {
		name string
		n    int64
	}{{"retried", s.Retried}, {"gave-up", s.GaveUp}, {"late", s.Late}, {"misrouted", s.Misrouted}, {"errors", s.Errors}} {
		if c.n != 0 {
			fmt.Fprintf(&b, " %s %d", c.name, c.n)
		}
	}
	if len(s.Faults) > 0 {
		parts := make([]string, len(s.Faults))
		for i, f := range s.Faults {
			parts[i] = fmt.Sprintf("%s/%s %s left", orDash(f.Kind), orDash(f.Path), fmtLeft(f.Remaining))
		}
		b.WriteString("  faults: " + strings.Join(parts, ", "))
	}
	if len(s.Outages) > 0 {
		parts := make([]string, len(s.Outages))
		for i, o := range s.Outages {
			parts[i] = fmt.Sprintf("%s (%d failed)", orDash(o.Op), o.Failed)
		}
		b.WriteString("  outages: " + strings.Join(parts, ", "))
	}
	if s.ClientLimited {
		b.WriteString("  CLIENT LIMITED")
		if s.ClientReason != "" {
			b.WriteString(": " + s.ClientReason)
		}
	}
	return oneLine(b.String())
}

// oneLine keeps a line a line: a newline inside a reason or a log
// message would split one record over two log lines.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fmtTotal shows a run length the way it was configured ("10s", "2m0s"):
// whole seconds, since the sub-second part of a total is never meant.
func fmtTotal(d time.Duration) string {
	if d <= 0 {
		return "?"
	}
	return d.Round(time.Second).String()
}

// fmtLeft shows a countdown rounded up, so a fault with 0.3 s to go still
// reads "1s left" rather than "0s left" while it is active.
func fmtLeft(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return (d + time.Second - 1).Truncate(time.Second).String()
}

// fmtSince shows an instant of the run, tenths of seconds like elapsed.
func fmtSince(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}
