package prom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/evbench/evbench/live/listen"
)

// Flag is the CLI flag Listen's errors name.
const Flag = "--metrics-addr"

// Listen checks addr and listens on it, before the load starts, so that a
// bad --metrics-addr fails the command at once instead of after the run.
// Without listenAny only loopback hosts are accepted: /metrics has no
// authentication. Errors are one line naming --metrics-addr and the fix
// (see listen.Open).
func Listen(addr string, listenAny bool) (net.Listener, error) {
	return listen.Open(Flag, addr, listenAny)
}

// Handler serves /metrics from the exporter's own registry and a short
// text page at / saying where the metrics are.
//
// Scrape errors (a malformed snapshot histogram) fail only the affected
// series, not the scrape, and are logged to errLog if it is not nil: a
// panel losing one metric is better than Prometheus losing the run.
func (e *Exporter) Handler(errLog *log.Logger) http.Handler {
	opts := promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}
	if errLog != nil {
		opts.ErrorLog = errLog
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.reg, opts))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "evbench Prometheus exporter\n\n"+
			"/metrics  the live run's metrics (evbench_*) and the Go and process collectors\n\n"+
			"See docs/reports.md, \"Prometheus metrics (--metrics-addr)\", and\n"+
			"examples/grafana/evbench-dashboard.json for a dashboard.\n")
	})
	return mux
}

// Server is the exporter's HTTP endpoint, running until Close.
type Server struct {
	srv  *http.Server
	addr net.Addr
	done chan error // Serve's result, read once by Close

	closeOnce sync.Once
	closeErr  error
}

// Serve serves e.Handler on l in the background; l is usually from Listen.
// Scrape and connection errors go to errLog; nil drops them, since the
// terminal display owns stderr during a run.
func (e *Exporter) Serve(l net.Listener, errLog *log.Logger) *Server {
	if errLog == nil {
		errLog = log.New(io.Discard, "", 0)
	}
	s := &Server{
		srv: &http.Server{
			Handler: e.Handler(errLog),
			// A scrape is small and answered from memory: a client that
			// takes longer than this is stuck, not slow.
			ReadHeaderTimeout: 10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          errLog,
		},
		addr: l.Addr(),
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(l) }()
	return s
}

// Addr is the address served, with the real port when the flag said :0.
func (s *Server) Addr() net.Addr { return s.addr }

// URL is the address of /metrics, to print for the user.
func (s *Server) URL() string { return "http://" + s.addr.String() + "/metrics" }

// Close stops the server, letting scrapes in progress finish until ctx
// ends (so a final scrape after the run can still read the last
// snapshot), and returns the server's error if it had stopped on its own.
// Closing again returns the first result.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		shutErr := s.srv.Shutdown(ctx)
		// Shutdown makes Serve return at once, so this does not wait.
		serveErr := <-s.done
		switch {
		case serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed):
			s.closeErr = fmt.Errorf("metrics server %s: %w", s.addr, serveErr)
		case shutErr != nil:
			s.closeErr = fmt.Errorf("metrics server %s: shutdown: %w", s.addr, shutErr)
		}
	})
	return s.closeErr
}
