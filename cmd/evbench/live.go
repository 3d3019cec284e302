package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"
	xterm "golang.org/x/term"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/live"
	"github.com/evbench/evbench/live/dashboard"
	"github.com/evbench/evbench/live/prom"
	"github.com/evbench/evbench/live/term"
)

// liveFlags are the run's live outputs: the terminal display (unless
// --quiet), Prometheus and the browser dashboard.
type liveFlags struct {
	metricsAddr string
	dashboard   string
	listenAny   bool
}

func addLiveFlags(fl *pflag.FlagSet, f *liveFlags) {
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics (evbench_*) at http://ADDR/metrics during the run, e.g. 127.0.0.1:9464")
	fl.StringVar(&f.dashboard, "dashboard", "", "serve a live dashboard page at http://ADDR/ during the run, e.g. 127.0.0.1:5665")
	fl.BoolVar(&f.listenAny, "listen-any", false, "allow --metrics-addr and --dashboard on a non-loopback address (they have no authentication)")
}

// liveSession owns a run's live outputs from before the load (addresses
// are checked and bound first, so a port in use is a usage error before
// anything starts) to after the result is written.
type liveSession struct {
	hub     live.Hub
	display term.Display
	metrics *prom.Server
	dash    *dashboard.Server
	stderr  io.Writer
}

// startLive binds the listeners and starts the display. stdout is where
// the live view goes when it is a terminal; otherwise plain lines go to
// stderr (CI logs). quiet shows nothing until the summary.
func startLive(f liveFlags, quiet bool, stdout, stderr io.Writer) (*liveSession, error) {
	s := &liveSession{stderr: stderr}
	if f.metricsAddr != "" {
		l, err := prom.Listen(f.metricsAddr, f.listenAny)
		if err != nil {
			return nil, withCode(exitUsage, err)
		}
		exp := prom.New()
		s.hub.Add(exp)
		s.metrics = exp.Serve(l, nil)
		fmt.Fprintf(stderr, "evbench: Prometheus metrics at %s\n", s.metrics.URL())
	}
	if f.dashboard != "" {
		d := dashboard.New(dashboard.Options{})
		url, err := d.Start("--dashboard", f.dashboard, f.listenAny)
		if err != nil {
			s.close(nil, "")
			return nil, withCode(exitUsage, err)
		}
		s.dash = d
		s.hub.Add(d)
		fmt.Fprintf(stderr, "evbench: live dashboard at %s\n", url)
	}
	if !quiet {
		if f, tty := isTerminal(stdout); tty {
			s.display = term.New(scrubFile{f}, term.Options{Mode: term.ModeLive})
		} else {
			s.display = term.New(stderr, term.Options{Mode: term.ModePlain})
		}
		s.hub.Add(s.display)
	}
	return s, nil
}

// logf is the run's log: above the live view when there is one, so log
// lines do not tear it.
func (s *liveSession) logf(format string, args ...any) {
	if s.display != nil {
		s.display.Logf("evbench: "+format, args...)
		return
	}
	fmt.Fprintf(s.stderr, "evbench: "+format+"\n", args...)
}

// close ends the display (the terminal is left clean) and, once the
// result is written to out, hands the dashboard the final report before
// the servers stop. out "" = no report (setup failed).
func (s *liveSession) close(ctx context.Context, out string) {
	if s.display != nil {
		s.display.Close("")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if s.dash != nil {
		if out != "" {
			if html, err := os.ReadFile(filepath.Join(out, "report.html")); err == nil {
				s.dash.Finish(html)
			} else {
				s.dash.Finish([]byte("<p>no report: " + err.Error() + "</p>"))
			}
		}
		if err := s.dash.Close(ctx); err != nil {
			fmt.Fprintf(s.stderr, "evbench: dashboard: %v\n", err)
		}
	}
	if s.metrics != nil {
		if err := s.metrics.Close(ctx); err != nil {
			fmt.Fprintf(s.stderr, "evbench: metrics: %v\n", err)
		}
	}
}

// isTerminal reports whether w (possibly behind the CLI's scrubbing
// writer) is a terminal, and its file.
func isTerminal(w io.Writer) (*os.File, bool) {
	if sw, ok := w.(scrubWriter); ok {
		w = sw.w
	}
	f, ok := w.(*os.File)
	if !ok {
		return nil, false
	}
	return f, xterm.IsTerminal(int(f.Fd()))
}

// scrubFile is a terminal whose writes are scrubbed of secrets like the
// rest of the CLI's output; it stays an *os.File otherwise, so the live
// view can read its size and follow resizes.
type scrubFile struct{ *os.File }

func (s scrubFile) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.File, drivers.ScrubAll(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
