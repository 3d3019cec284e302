// Package term shows a run's live.Snapshots in a terminal.
//
// On a terminal it draws a small multi-line view that is redrawn in place
// (a Bubble Tea program); anywhere else (a CI log, a file, a pipe) it
// prints one stable, grep-friendly line per snapshot, because cursor
// movement in a log file is noise.
//
// The display never owns the terminal's input: it does not put the
// terminal in raw mode and installs no signal handler, so Ctrl-C stays a
// SIGINT for the CLI to handle as it always has.
package term

import (
	"io"
	"os"

	xterm "golang.org/x/term"

	"github.com/evbench/evbench/live"
)

// Mode chooses between the live view and plain lines.
type Mode int

const (
	// ModeAuto draws the live view when the writer is a terminal and
	// plain lines otherwise.
	ModeAuto Mode = iota
	// ModeLive forces the live view, even on a writer that is not a
	// terminal (tests; a pty the fd check cannot see).
	ModeLive
	// ModePlain forces one line per snapshot.
	ModePlain
)

// Color chooses whether the live view uses ANSI colors.
type Color int

const (
	// ColorAuto colors only a terminal that is not "dumb" and only when
	// NO_COLOR (https://no-color.org) is unset.
	ColorAuto Color = iota
	ColorNever
	ColorAlways
)

// Options tune New. The zero value is what the CLI wants.
type Options struct {
	Mode  Mode
	Color Color
	// Width is the view's width in columns when the writer's size cannot
	// be read (forced live mode on a non-terminal); 0 means 80. On a
	// terminal the real width is used and follows resizes.
	Width int
}

// Display shows snapshots until it is closed. It is a live.Sink: add it
// to the runner's Hub.
type Display interface {
	// Publish shows s. It never blocks on the terminal: in live mode a
	// snapshot not yet drawn is replaced by a newer one.
	Publish(s live.Snapshot)
	// Logf prints one line above the live view (or among the plain
	// lines), so that log output during a run does not tear the view.
	// After Close it writes the line directly.
	Logf(format string, args ...any)
	// Close stops the display and restores the terminal (cursor shown,
	// the last frame left on screen), then prints final on its own line
	// unless it is empty. It returns once the view has stopped, or after
	// a bounded wait if the terminal is stuck. Safe to call more than
	// once and without any snapshot; only the first call prints final.
	Close(final string)
}

// defaultWidth is the width used when none is known.
const defaultWidth = 80

// New returns a Display writing to w; see Options for how the mode is
// chosen. In live mode the Bubble Tea program starts right away and
// shows a waiting line until the first snapshot.
func New(w io.Writer, opts Options) Display {
	fd, tty := terminalFD(w)
	mode := opts.Mode
	if mode == ModeAuto {
		mode = ModePlain
		if tty {
			mode = ModeLive
		}
	}
	if mode == ModePlain {
		return newPlain(w)
	}
	width := opts.Width
	if tty {
		if cols, _, err := xterm.GetSize(fd); err == nil && cols > 0 {
			width = cols
		}
	}
	if width <= 0 {
		width = defaultWidth
	}
	return newLive(w, width, useColor(opts.Color, tty))
}

// terminalFD reports w's file descriptor and whether it is a terminal.
// Only an *os.File-like writer can be one; anything else (a buffer, a
// log wrapper) is not.
func terminalFD(w io.Writer) (int, bool) {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return -1, false
	}
	fd := int(f.Fd())
	return fd, xterm.IsTerminal(fd)
}

// useColor resolves c for a writer that is (tty) or is not a terminal.
func useColor(c Color, tty bool) bool {
	switch c {
	case ColorAlways:
		return true
	case ColorNever:
		return false
	}
	if !tty || os.Getenv("NO_COLOR") != "" {
		return false
	}
	t := os.Getenv("TERM")
	return t != "" && t != "dumb"
}
