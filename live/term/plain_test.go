package term

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/live"
)

// baseSnap is a mid-run snapshot with nothing unusual going on.
func baseSnap() live.Snapshot {
	return live.Snapshot{
		Scenario: "basic-append", Driver: "refstore", Durability: "unknown",
		Phase: live.PhaseLoad, Stage: "stage 2/3: 500 -> 2000/s",
		Elapsed: 5 * time.Second, Total: 10 * time.Second,
		OfferedRate: 1000, AchievedRate: 998, InFlight: 3,
		Acked: 4990, CommitP50: 0.41, CommitP99: 1.2, E2EP99: 3.1,
		OutagesClosed: 2, Errors: 7,
	}
}

// troubledSnap adds faults, an open outage and the client limit.
func troubledSnap() live.Snapshot {
	s := baseSnap()
	s.Failed, s.Retried, s.GaveUp, s.Late = 3, 5, 1, 9
	s.Faults = []live.Fault{
		{Kind: "latency", Path: "producer", Started: 2 * time.Second, Remaining: 3200 * time.Millisecond},
		{Kind: "partition", Path: "store", Started: 4 * time.Second, Remaining: 300 * time.Millisecond},
	}
	s.Outages = []live.Outage{{Op: "append", Since: 3 * time.Second, Failed: 12}}
	s.ClientLimited = true
	s.ClientReason = "sends late behind a window that was not full"
	return s
}

func TestPlainLineQuiet(t *testing.T) {
	got := plainLine(baseSnap())
	want := "  5.0s/10s load  offered 1000/s achieved 998/s  in-flight 3  commit p50 0.41 p99 1.20 ms  e2e p99 3.10 ms  lag 0  acked 4990 failed 0 errors 7"
	if got != want {
		t.Fatalf("plain line\n got %q\nwant %q", got, want)
	}
	for _, absent := range []string{"faults:", "outages:", "CLIENT LIMITED", "retried", "gave-up", "late"} {
		if strings.Contains(got, absent) {
			t.Errorf("quiet snapshot line has %q: %q", absent, got)
		}
	}
}

func TestPlainLineTroubled(t *testing.T) {
	got := plainLine(troubledSnap())
	parts := []string{
		"  acked 4990 failed 3 retried 5 gave-up 1 late 9 errors 7",
		"  faults: latency/producer 4s left, partition/store 1s left",
		"  outages: append (12 failed)",
		"  CLIENT LIMITED: sends late behind a window that was not full",
	}
	last := -1
	for _, p := range parts {
		i := strings.Index(got, p)
		if i < 0 {
			t.Fatalf("line lacks %q:\n%q", p, got)
		}
		if i <= last {
			t.Errorf("%q out of order in %q", p, got)
		}
		last = i
	}
	if !strings.HasSuffix(got, parts[len(parts)-1]) {
		t.Errorf("client limit should end the line: %q", got)
	}
}

func TestPlainLineStaysOneLine(t *testing.T) {
	s := baseSnap()
	s.ClientLimited, s.ClientReason = true, "first\nsecond\r"
	if got := plainLine(s); strings.ContainsAny(got, "\r\n") {
		t.Fatalf("reason split the line: %q", got)
	}
}

func TestFmtLeftRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", -time.Second: "0s", 300 * time.Millisecond: "1s",
		4 * time.Second: "4s", 4001 * time.Millisecond: "5s", 90 * time.Second: "1m30s",
	} {
		if got := fmtLeft(d); got != want {
			t.Errorf("fmtLeft(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestPlainDisplay(t *testing.T) {
	var buf bytes.Buffer
	d := New(&buf, Options{Mode: ModePlain})
	if _, ok := d.(*plain); !ok {
		t.Fatalf("ModePlain gave %T", d)
	}
	d.Publish(baseSnap())
	d.Logf("evbench: note %d", 1)
	d.Publish(troubledSnap())
	d.Close("done: 4990 acked")
	d.Close("closed twice")
	d.Publish(baseSnap()) // after Close: dropped

	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{plainLine(baseSnap()), "evbench: note 1", plainLine(troubledSnap()), "done: 4990 acked"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("output\n%s\nwant\n%s", buf.String(), strings.Join(want, "\n"))
	}
	if strings.Contains(buf.String(), "\x1b") {
		t.Errorf("plain output has an escape: %q", buf.String())
	}
}

func TestAutoModeIsPlainOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	if d := New(&buf, Options{}); func() bool { _, ok := d.(*plain); return ok }() == false {
		t.Errorf("a buffer got %T, want plain", d)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if d := New(f, Options{}); func() bool { _, ok := d.(*plain); return ok }() == false {
		t.Errorf("a regular file got %T, want plain", d)
	}
}
