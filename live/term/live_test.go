package term

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	hideCursor = "\x1b[?25l"
	showCursor = "\x1b[?25h"
)

// modeResets are the private-mode resets (mouse modes) the program writes
// while restoring the terminal, after showing the cursor.
var modeResets = regexp.MustCompile(`^(\x1b\[\?[0-9]+l)*`)

func newLiveForTest(t *testing.T, w *bytes.Buffer) *liveDisplay {
	t.Helper()
	d, ok := New(w, Options{Mode: ModeLive, Width: 80}).(*liveDisplay)
	if !ok {
		t.Fatalf("ModeLive did not give a live display")
	}
	return d
}

func exited(d *liveDisplay) bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// checkRestored asserts the output hid the cursor, showed it again after
// the last frame, and wrote nothing but mode resets and tail after that.
func checkRestored(t *testing.T, out, tail string) {
	t.Helper()
	hide, show := strings.LastIndex(out, hideCursor), strings.LastIndex(out, showCursor)
	if hide < 0 || show < hide {
		t.Fatalf("cursor hidden at %d, shown at %d: %q", hide, show, out)
	}
	rest := out[show+len(showCursor):]
	rest = rest[len(modeResets.FindString(rest)):]
	if rest != tail {
		t.Errorf("after showing the cursor: %q, want %q", rest, tail)
	}
}

func TestLiveEndToEnd(t *testing.T) {
	var buf bytes.Buffer
	d := newLiveForTest(t, &buf)
	for i := 1; i <= 3; i++ {
		s := troubledSnap()
		s.Acked = int64(i) * 1111
		d.Publish(s)
		time.Sleep(150 * time.Millisecond) // > one frame at 10 fps
	}
	d.Logf("evbench: a log line")
	time.Sleep(150 * time.Millisecond)
	start := time.Now()
	d.Close("evbench: done")
	if !exited(d) {
		t.Fatal("Close returned before the program exited")
	}
	if d.err != nil {
		t.Errorf("program ended with %v, want a clean quit", d.err)
	}
	if el := time.Since(start); el > quitWait {
		t.Errorf("a healthy Close took %v", el)
	}
	out := buf.String()
	checkRestored(t, out, "evbench: done\n")
	for _, f := range []string{"acked 1111", "acked 3333", "evbench: a log line", "! CLIENT LIMITED", "latency/producer  4s left"} {
		if !strings.Contains(out, f) {
			t.Errorf("output lacks %q", f)
		}
	}
	// The log line is printed above the view, so the last frame comes after it.
	if strings.LastIndex(out, "acked 3333") < strings.Index(out, "evbench: a log line") {
		t.Errorf("the view was not redrawn below the log line")
	}
	if strings.Contains(out, "\x1b[?2004h") {
		t.Errorf("bracketed paste enabled though there is no input")
	}
}

// The last snapshot published right before Close must be in the final
// frame, even when the forwarder is still busy with an earlier one and
// sees the wake-up and the stop at once. Repeated because which of the
// two it sees first is up to the scheduler.
func TestLiveLastSnapshotBeforeClose(t *testing.T) {
	for i := range 20 {
		var buf bytes.Buffer
		d := newLiveForTest(t, &buf)
		first, last := baseSnap(), baseSnap()
		first.Acked, last.Acked = 123456, 987654
		d.Publish(first) // the program may not be running yet: Send blocks
		d.Publish(last)
		d.Close("")
		if !strings.Contains(buf.String(), "acked 987654") {
			t.Fatalf("round %d: final frame lacks the last snapshot: %q", i, buf.String())
		}
		checkRestored(t, buf.String(), "")
	}
}

func TestLiveCloseWithoutSnapshotAndTwice(t *testing.T) {
	var buf bytes.Buffer
	d := newLiveForTest(t, &buf)
	d.Close("bye")
	if !exited(d) {
		t.Fatal("program still running after Close")
	}
	start := time.Now()
	d.Close("bye again")
	if time.Since(start) > 100*time.Millisecond {
		t.Errorf("second Close took %v", time.Since(start))
	}
	d.Publish(baseSnap()) // after Close: no effect, no panic
	d.Logf("late %s", "line")
	out := buf.String()
	checkRestored(t, out, "bye\nlate line\n")
	if strings.Contains(out, "bye again") || strings.Contains(out, "acked 4990") {
		t.Errorf("output after Close: %q", out)
	}
}

func TestLiveConcurrentClose(t *testing.T) {
	var buf bytes.Buffer
	d := newLiveForTest(t, &buf)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.Publish(baseSnap())
			d.Close("once")
			if !exited(d) {
				t.Error("a Close returned before the program exited")
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(buf.String(), "once"); n != 1 {
		t.Errorf("final printed %d times", n)
	}
}

// stuckWriter blocks every Write until released, like a terminal whose
// reader stopped (a paused ssh session).
type stuckWriter struct {
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *stuckWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func TestLiveStuckTerminalNeverBlocks(t *testing.T) {
	oq, ok := quitWait, killWait
	quitWait, killWait = 200*time.Millisecond, 100*time.Millisecond
	defer func() { quitWait, killWait = oq, ok }()

	w := &stuckWriter{release: make(chan struct{})}
	d := New(w, Options{Mode: ModeLive}).(*liveDisplay)

	start := time.Now()
	for range 1000 {
		d.Publish(troubledSnap())
	}
	for range 2 * maxQueuedLogs {
		d.Logf("line")
	}
	if el := time.Since(start); el > 100*time.Millisecond {
		t.Errorf("Publish/Logf blocked on a stuck terminal: %v", el)
	}
	d.mu.Lock()
	queued := len(d.logs) + d.dropped
	d.mu.Unlock()
	if queued > 2*maxQueuedLogs || len(d.logs) > maxQueuedLogs {
		t.Errorf("log queue not bounded: %d queued", len(d.logs))
	}

	start = time.Now()
	d.Close("final")
	if el := time.Since(start); el > quitWait+killWait+200*time.Millisecond {
		t.Errorf("Close on a stuck terminal took %v", el)
	}
	if exited(d) {
		t.Errorf("program exited though its writer never returned")
	}
	// Let the program go, so it does not outlive the test.
	close(w.release)
	if !waitFor(d.done, 2*time.Second) {
		t.Fatal("program did not exit once its writer was released")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if strings.Contains(w.buf.String(), "final") {
		t.Errorf("final written while the program had not exited")
	}
}
