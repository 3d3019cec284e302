package term

import (
	"fmt"
	"io"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/evbench/evbench/live"
)

// How long Close waits for the program to stop after asking it to quit,
// then after killing it. A terminal that does not drain (a stopped
// pager, a hung ssh link) must not keep evbench from exiting.
var (
	quitWait = 2 * time.Second
	killWait = time.Second
)

// maxQueuedLogs bounds the log lines waiting for a stuck program.
const maxQueuedLogs = 100

// liveDisplay runs the Bubble Tea program and feeds it. Publish and Logf
// only fill a mailbox and wake the forwarder goroutine, which does the
// (blocking) program.Send: the runner's progress goroutine must never
// wait on the terminal, and a snapshot the program could not take yet is
// simply replaced by the next.
type liveDisplay struct {
	w    io.Writer
	prog *tea.Program
	done chan struct{} // closed when the program has exited
	err  error         // the program's Run error; read after done

	mu      sync.Mutex
	pending *live.Snapshot
	logs    []string
	dropped int
	closed  bool

	wake    chan struct{} // capacity 1: "the mailbox has something"
	stop    chan struct{} // closed by Close
	fwdDone chan struct{} // closed when the forwarder has returned

	closeOnce sync.Once
	closeDone chan struct{} // closed when Close has finished
}

func newLive(w io.Writer, width int, color bool) *liveDisplay {
	d := &liveDisplay{
		w:         w,
		done:      make(chan struct{}),
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		fwdDone:   make(chan struct{}),
		closeDone: make(chan struct{}),
	}
	d.prog = tea.NewProgram(newModel(width, color),
		tea.WithOutput(w),
		// No input: the terminal stays in cooked mode, so Ctrl-C is a
		// SIGINT for the CLI, and nothing reads the user's stdin.
		tea.WithInput(nil),
		tea.WithoutSignalHandler(),
		// Without input there is nothing to paste into; not enabling it
		// also means one less terminal mode left set after a crash.
		tea.WithoutBracketedPaste(),
		// The view changes about once a second; the default 60 frames a
		// second would only burn wake-ups on a shared machine.
		tea.WithFPS(10),
	)
	go func() {
		defer close(d.done)
		_, d.err = d.prog.Run()
	}()
	go d.forward()
	return d
}

func (d *liveDisplay) Publish(s live.Snapshot) {
	d.mu.Lock()
	if !d.closed {
		d.pending = &s
	}
	d.mu.Unlock()
	d.poke()
}

func (d *liveDisplay) Logf(format string, args ...any) {
	line := oneLine(fmt.Sprintf(format, args...))
	d.mu.Lock()
	if !d.closed {
		if len(d.logs) == maxQueuedLogs {
			d.logs = d.logs[1:]
			d.dropped++
		}
		d.logs = append(d.logs, line)
		d.mu.Unlock()
		d.poke()
		return
	}
	d.mu.Unlock()
	// Closing or closed: the program no longer takes lines. Wait for it
	// to be gone (bounded by Close) and write past it.
	<-d.closeDone
	d.mu.Lock()
	io.WriteString(d.w, line+"\n")
	d.mu.Unlock()
}

func (d *liveDisplay) poke() {
	select {
	case d.wake <- struct{}{}:
	default: // already awake; it will take the newest content
	}
}

// forward moves the mailbox to the program until Close, then once more
// so that the last snapshot published before Close is in the final frame.
func (d *liveDisplay) forward() {
	defer close(d.fwdDone)
	for {
		select {
		case <-d.wake:
			d.deliver()
		case <-d.stop:
			d.deliver()
			return
		}
	}
}

func (d *liveDisplay) deliver() {
	d.mu.Lock()
	snap, logs, dropped := d.pending, d.logs, d.dropped
	d.pending, d.logs, d.dropped = nil, nil, 0
	d.mu.Unlock()
	// Send returns at once when the program has exited, so none of this
	// can outlive it.
	if dropped > 0 {
		d.prog.Send(logMsg(fmt.Sprintf("evbench: (%d log lines dropped: terminal too slow)", dropped)))
	}
	for _, l := range logs {
		d.prog.Send(logMsg(l))
	}
	if snap != nil {
		d.prog.Send(snapMsg(*snap))
	}
}

func (d *liveDisplay) Close(final string) {
	d.closeOnce.Do(func() {
		defer close(d.closeDone)
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		close(d.stop)
		// Quit only after the forwarder's last Send, so the final frame
		// has the last snapshot; both Sends give up once the program is
		// gone, so this goroutine cannot leak past a Kill.
		go func() {
			<-d.fwdDone
			d.prog.Quit()
		}()
		exited := waitFor(d.done, quitWait)
		if !exited {
			d.prog.Kill()
			exited = waitFor(d.done, killWait)
		}
		// A program that did not exit may still be writing; a final line
		// now could land inside its frame, and the writer is likely
		// stuck anyway.
		if exited && final != "" {
			d.mu.Lock()
			io.WriteString(d.w, oneLine(final)+"\n")
			d.mu.Unlock()
		}
	})
}

func waitFor(c <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c:
		return true
	case <-t.C:
		return false
	}
}
