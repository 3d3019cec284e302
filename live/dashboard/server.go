// Package dashboard serves the live browser dashboard of a run.
//
// The page (one self-contained HTML file: inline CSS and JS, charts drawn
// on canvas by its own code, no CDN, no fonts, so it works on an offline
// lab machine) shows the run's header (scenario, driver, durability,
// phase, stage, a progress bar), tiles of the last second (offered vs
// achieved rate, in flight, commit p50/p99, e2e p99, lag, the counters,
// errors, the client-limited warning), time series of rate, latency and
// lag with the active faults shaded as bands and the open outages marked,
// and the list of active faults with their countdown. At the end it shows
// the run's final report under the last charts.
//
// The stream is Server-Sent Events rather than WebSocket: the data goes
// one way only (runner to page), EventSource reconnects by itself and
// resumes from Last-Event-ID, it is plain HTTP that proxies pass, and it
// needs no dependency on either side.
//
// The server keeps every snapshot of the run (they are small; capped at
// 24 h of seconds by default) so that a page opened mid-run, or one that
// reconnects, first gets the history and draws the whole run so far.
package dashboard

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evbench/evbench/live"
	"github.com/evbench/evbench/live/listen"
)

// Defaults of Options.
const (
	DefaultHistory   = 24 * 60 * 60 // a day of one-second snapshots
	DefaultBuffer    = 16           // frames queued per client
	DefaultHeartbeat = 15 * time.Second

	// finishGrace is how long Close lets connected pages receive the
	// report before it cuts their streams: long enough for a few hundred
	// KB on a LAN, short enough not to hold up the end of the run.
	finishGrace = 2 * time.Second
	// writeTimeout bounds one write to a client, so a peer that stopped
	// reading cannot pin its handler (and Close) for ever.
	writeTimeout = 10 * time.Second
	// shutdownWait bounds http.Server.Shutdown in Close.
	shutdownWait = time.Second
	// retryMillis is the reconnect delay the page's EventSource uses.
	retryMillis = 2000
)

// ErrClosed is returned by Serve and Start after Close.
var ErrClosed = errors.New("dashboard: server closed")

// Options tunes a Server; the zero value is fine.
type Options struct {
	// History is the number of snapshots kept for late clients; older
	// ones are forgotten (a page opened later misses the start).
	History int
	// Buffer is each client's queue of frames. A client whose queue is
	// full misses frames (counted in Stats.Dropped) rather than making
	// Publish wait; it gets them back from the history when it catches up,
	// as long as they are still kept.
	Buffer int
	// Heartbeat is the interval of the comment lines that keep idle
	// proxies from closing the stream.
	Heartbeat time.Duration
}

// Stats are the server's counters, for tests and for the run's log.
type Stats struct {
	Frames       uint64 // snapshots published
	Clients      int    // event streams open now
	Dropped      int64  // frames not queued because a client's queue was full
	EncodeErrors int64  // snapshots that could not be marshalled (not sent)
}

// frame is one complete SSE event, encoded once and written to every
// client as is.
type frame struct {
	id   uint64
	data []byte
}

// client is one open /events stream.
type client struct {
	ch chan *frame
}

// Server is the dashboard: a live.Sink that keeps the run's snapshots and
// streams them to browsers. Create it with New.
type Server struct {
	opts Options
	// hello starts every stream: the reconnect delay and this server's
	// instance, by which a page that reconnects to a restarted evbench
	// knows to drop the old run instead of mixing the two.
	hello []byte

	mu       sync.Mutex
	hist     []*frame // snapshot frames, ids increasing without gaps
	nextID   uint64
	clients  map[*client]struct{}
	report   []byte   // set by Finish
	final    []*frame // report and done frames, set by Finish
	closing  bool
	httpSrv  *http.Server
	serveErr error

	finished chan struct{} // closed by Finish
	stop     chan struct{} // closed by Close: streams end
	active   sync.WaitGroup

	frames, dropped, encodeErrors atomic.Int64
}

var _ live.Sink = (*Server)(nil)

// New returns a Server; serve it with Serve or Start, or mount Handler.
func New(opts Options) *Server {
	if opts.History <= 0 {
		opts.History = DefaultHistory
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	var inst [8]byte
	rand.Read(inst[:]) // never fails (crypto/rand); a duplicate only costs a reset
	hello := fmt.Sprintf("retry: %d\nevent: hello\ndata: {\"instance\":\"%x\"}\n\n", retryMillis, inst)
	return &Server{
		opts:     opts,
		hello:    []byte(hello),
		clients:  map[*client]struct{}{},
		finished: make(chan struct{}),
		stop:     make(chan struct{}),
	}
}

// Publish records s and queues it to every connected page. It never
// waits for a client: a full queue drops the frame for that client.
// Snapshots published after Finish are ignored (the run is over and the
// pages have been told so).
func (s *Server) Publish(snap live.Snapshot) {
	// NaN or ±Inf (a rate over a zero interval) would make the whole
	// snapshot unmarshallable; the page shows 0 instead.
	for _, f := range []*float64{&snap.OfferedRate, &snap.AchievedRate, &snap.CommitP50, &snap.CommitP99, &snap.E2EP99} {
		if math.IsNaN(*f) || math.IsInf(*f, 0) {
			*f = 0
		}
	}
	b, err := json.Marshal(snap)
	if err != nil {
		s.encodeErrors.Add(1)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final != nil {
		return
	}
	s.nextID++
	f := &frame{id: s.nextID, data: encodeEvent(s.nextID, "snapshot", b)}
	s.hist = append(s.hist, f)
	if len(s.hist) > s.opts.History {
		// Reslicing keeps the old array until append outgrows it; memory
		// stays within about twice the cap, without a copy per second.
		s.hist = s.hist[len(s.hist)-s.opts.History:]
	}
	s.frames.Add(1)
	for c := range s.clients {
		select {
		case c.ch <- f:
		default:
			s.dropped.Add(1)
		}
	}
}

// Finish ends the stream: every page gets the snapshots it has not seen,
// then an "event: report" with reportHTML (the run's report.html) and an
// "event: done", and its stream closes. The report is then also served at
// /report. Pages connecting later get the history, the report and done.
// Only the first call counts.
func (s *Server) Finish(reportHTML []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final != nil {
		return
	}
	s.report = bytes.Clone(reportHTML)
	if s.report == nil {
		s.report = []byte{}
	}
	rid := s.nextID + 1
	s.nextID += 2
	s.final = []*frame{
		{id: rid, data: encodeEvent(rid, "report", s.report)},
		{id: rid + 1, data: encodeEvent(rid+1, "done", nil)},
	}
	close(s.finished)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.clients)
	s.mu.Unlock()
	return Stats{
		Frames:       uint64(s.frames.Load()),
		Clients:      n,
		Dropped:      s.dropped.Load(),
		EncodeErrors: s.encodeErrors.Load(),
	}
}

// Handler returns the dashboard's routes: / (the page), /events (the SSE
// stream) and /report (the final report, once finished).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /events", s.serveEvents)
	mux.HandleFunc("GET /report", s.serveReport)
	return mux
}

// Start checks addr with listen.Open (loopback unless listenAny; flag
// names the CLI flag in the error), serves on it in the background and
// returns the page's URL. A later serve error is returned by Close.
func (s *Server) Start(flag, addr string, listenAny bool) (string, error) {
	l, err := listen.Open(flag, addr, listenAny)
	if err != nil {
		return "", err // already one line naming the flag
	}
	url := "http://" + l.Addr().String() + "/"
	go func() {
		if err := s.Serve(l); err != nil {
			s.mu.Lock()
			s.serveErr = err
			s.mu.Unlock()
		}
	}()
	return url, nil
}

// Serve serves the dashboard on l until Close; it returns nil after Close.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return ErrClosed
	}
	if s.httpSrv == nil {
		s.httpSrv = &http.Server{
			Handler:           s.Handler(),
			ReadHeaderTimeout: 10 * time.Second,
			// No WriteTimeout: the event stream lasts the whole run; each
			// stream write has its own deadline instead.
		}
	}
	srv := s.httpSrv
	s.mu.Unlock()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("dashboard: serve on %s: %w", l.Addr(), err)
	}
	return nil
}

// Close stops the dashboard. After Finish it first gives the connected
// pages up to 2 s (less if ctx ends sooner) to receive the report; then it
// ends every open stream, which http.Server.Shutdown would otherwise wait
// for until ctx ends, and shuts the HTTP server down, cutting within a
// second what is still open. It returns a serve error of Start, or ctx's
// error when ctx ended first.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true // no stream starts after this, so active.Wait is safe
	finished := s.final != nil
	srv := s.httpSrv
	s.mu.Unlock()

	if finished {
		drained := make(chan struct{})
		go func() { s.active.Wait(); close(drained) }()
		t := time.NewTimer(finishGrace)
		select {
		case <-drained:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	close(s.stop)

	var err error
	if srv != nil {
		// The streams end at once now, but Shutdown also waits for
		// connections that never sent a request until they are 5 s old,
		// and browsers open such speculative connections. So it gets a
		// second, then whatever is left (those, or a peer stuck in a
		// write) is cut: nothing is being served on them any more.
		sctx, cancel := context.WithTimeout(ctx, shutdownWait)
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		cancel()
		if e := ctx.Err(); e != nil {
			err = fmt.Errorf("dashboard: shutdown: %w", e)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.serveErr, err)
}

// servePage serves the embedded page. The CSP makes "no external assets"
// a property the browser enforces: anything fetched from elsewhere fails
// (and the browser test sees the console error).
func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "+
		"img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(pageHTML)
}

// serveReport serves the final report once Finish was called.
func (s *Server) serveReport(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rep := s.report
	s.mu.Unlock()
	if rep == nil {
		http.Error(w, "the run has not finished: the report appears here at its end", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(rep)
}

// since returns the kept snapshot frames with ids in (after, before).
func (s *Server) since(after, before uint64) []*frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sinceLocked(after, before)
}

func (s *Server) sinceLocked(after, before uint64) []*frame {
	if len(s.hist) == 0 {
		return nil
	}
	first, n := s.hist[0].id, uint64(len(s.hist))
	var lo, hi uint64 = 0, n // indexes into hist
	if after >= first {
		lo = min(after-first+1, n)
	}
	if before <= first {
		hi = 0
	} else if before-first < n {
		hi = before - first
	}
	if lo >= hi {
		return nil
	}
	return append([]*frame(nil), s.hist[lo:hi]...)
}

// serveEvents streams the history after Last-Event-ID, then every new
// snapshot; after Finish the report and done, then it ends.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	var last uint64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		last, _ = strconv.ParseUint(v, 10, 64) // garbage: replay everything
	}

	c := &client{ch: make(chan *frame, s.opts.Buffer)}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		http.Error(w, "the dashboard is shutting down", http.StatusServiceUnavailable)
		return
	}
	// The backlog and the registration under one lock: every frame is
	// either in the backlog or queued, none twice.
	if last > s.nextID {
		last = 0 // an id of an earlier server (evbench restarted): replay all
	}
	backlog := s.sinceLocked(last, math.MaxUint64)
	final := s.final
	if final == nil {
		s.clients[c] = struct{}{}
	}
	s.active.Add(1)
	s.mu.Unlock()
	defer s.active.Done()
	defer func() {
		s.mu.Lock()
		delete(s.clients, c)
		s.mu.Unlock()
	}()

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)

	// write sends frames and flushes; false when the client is gone. The
	// deadline is per frame, so a long replay on a slow link is fine as
	// long as it moves; a cut one resumes on reconnect from Last-Event-ID.
	deadline := func() bool {
		err := rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		return err == nil || errors.Is(err, http.ErrNotSupported)
	}
	write := func(chunks ...[]byte) bool {
		for _, b := range chunks {
			if !deadline() {
				return false
			}
			if _, err := w.Write(b); err != nil {
				return false
			}
		}
		if !deadline() {
			return false
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		return true
	}
	frames := func(fs []*frame) [][]byte {
		out := make([][]byte, len(fs))
		for i, f := range fs {
			out[i] = f.data
			if f.id > last {
				last = f.id
			}
		}
		return out
	}

	if !write(append([][]byte{s.hello}, frames(backlog)...)...) {
		return
	}
	if final != nil {
		write(frames(final)...)
		return
	}

	hb := time.NewTicker(s.opts.Heartbeat)
	defer hb.Stop()
	for {
		select {
		case f := <-c.ch:
			if f.id <= last {
				continue
			}
			// Frames dropped while this client was slow: fetch them back.
			out := frames(s.since(last, f.id))
			out = append(out, frames([]*frame{f})...)
			if !write(out...) {
				return
			}
		case <-s.finished:
			// Publish is ignored after Finish, so the history is complete.
			s.mu.Lock()
			rest, final := s.sinceLocked(last, math.MaxUint64), s.final
			s.mu.Unlock()
			write(append(frames(rest), frames(final)...)...)
			return
		case <-hb.C:
			if !write([]byte(": heartbeat\n\n")) {
				return
			}
		case <-s.stop:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// encodeEvent formats one SSE event. SSE ends a line at CR, LF or CRLF,
// so data is split at each of them into its own "data:" line; the
// browser joins them with LF (a CR in the report becomes LF, which HTML
// does not mind). Empty data is one empty data line, so the event still
// fires.
func encodeEvent(id uint64, event string, data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(data) + len(data)/64 + 48)
	b.WriteString("id: ")
	b.WriteString(strconv.FormatUint(id, 10))
	b.WriteString("\nevent: ")
	b.WriteString(event)
	b.WriteByte('\n')
	for {
		i := bytes.IndexAny(data, "\r\n")
		b.WriteString("data: ")
		if i < 0 {
			b.Write(data)
			b.WriteByte('\n')
			break
		}
		b.Write(data[:i])
		b.WriteByte('\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	b.WriteByte('\n')
	return b.Bytes()
}
