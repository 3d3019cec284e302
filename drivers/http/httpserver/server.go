// Package httpserver offers the HTTP/SSE contract of drivers/http
// (docs/drivers.md, "HTTP/SSE: your own CQRS front") over any
// drivers.Driver with a single log (partition 0): `evbench refstore serve
// --http ADDR` runs it over refstore, and the driver's conformance suite
// runs against it. It is the reference a real front or gateway can be
// compared with.
package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers"
	httpdriver "github.com/evbench/evbench/drivers/http"
)

// Routes of the contract.
const (
	StreamPath = "/streams/{key}"
	BatchPath  = "/batch"
	EventsPath = "/events"
	HeadPath   = "/head"
	InfoPath   = "/info"
)

// Limits on request bodies.
const (
	maxEventBody = 4 << 20
	maxBatchBody = 64 << 20
	maxPoll      = 100000
)

// Config is what a Server fronts.
type Config struct {
	// Backend stores and reads the events; its own connection limits apply.
	Backend drivers.Driver
	// Durability is published in /info; zero: the backend's
	// DurabilityReporter, else unknown.
	Durability drivers.Durability
	// Keepalive is the interval of SSE comment lines on an idle stream
	// (default 15s), so proxies do not cut it.
	Keepalive time.Duration
	// Logf receives errors the client does not see; nil discards.
	Logf func(format string, args ...any)
}

// Server is the HTTP front.
type Server struct {
	cfg  Config
	mux  *http.ServeMux
	http *http.Server
	ctx  context.Context // ends at Close: SSE streams stop
	stop context.CancelFunc
	once sync.Once
}

// New returns a server over cfg.Backend; Handler or Listen serve it.
func New(cfg Config) *Server {
	if cfg.Keepalive <= 0 {
		cfg.Keepalive = 15 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.ctx, s.stop = context.WithCancel(context.Background())
	s.mux.HandleFunc("POST "+StreamPath, s.postEvent)
	s.mux.HandleFunc("GET "+StreamPath, s.getVersion)
	s.mux.HandleFunc("POST "+BatchPath, s.postBatch)
	s.mux.HandleFunc("GET "+EventsPath, s.getEvents)
	s.mux.HandleFunc("GET "+HeadPath, s.getHead)
	s.mux.HandleFunc("GET "+InfoPath, s.getInfo)
	return s
}

// Handler is the contract's routes.
func (s *Server) Handler() http.Handler { return s.mux }

// Listen serves on addr (port 0 picks one) in the background and returns
// the bound address.
func (s *Server) Listen(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http front: listen %s: %w", addr, err)
	}
	s.http = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return s.ctx }}
	// HTTP/1.1 and prior-knowledge HTTP/2 (h2c) on the same port: the
	// driver's proto=h2 multiplexes every command on one connection.
	s.http.Protocols = new(http.Protocols)
	s.http.Protocols.SetHTTP1(true)
	s.http.Protocols.SetUnencryptedHTTP2(true)
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logf("http front: serve: %v", err)
		}
	}()
	return ln.Addr(), nil
}

// Close ends SSE streams and closes the listener and connections; the
// backend is the caller's. Idempotent.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		s.stop()
		if s.http != nil {
			err = s.http.Close()
		}
	})
	return err
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, httpdriver.ErrorResponse{Error: fmt.Sprintf(format, args...)})
}

// info is what this server promises, from the backend's capabilities.
func (s *Server) info(ctx context.Context) httpdriver.Info {
	in := httpdriver.Info{BatchPath: BatchPath}
	dur := s.cfg.Durability
	if dur.AckAfterFsync == "" {
		dur = drivers.Durability{AckAfterFsync: drivers.AckAfterFsyncUnknown, Detail: "the backend does not say", Source: "http front"}
		if dr, ok := s.cfg.Backend.(drivers.DurabilityReporter); ok {
			if d, err := dr.Durability(ctx); err == nil {
				dur = d
			}
		}
	}
	in.AckAfterFsync, in.Replication, in.Detail = dur.AckAfterFsync, dur.Replication, dur.Detail
	if dur.Source != "" {
		in.Detail += " (read from: " + dur.Source + ")"
	}
	_, in.ExpectedVersion = s.cfg.Backend.(drivers.ExpectedAppender)
	if dd, ok := s.cfg.Backend.(drivers.Deduplicator); ok {
		in.DedupeByID = dd.DeduplicatesByID()
	}
	if ba, ok := s.cfg.Backend.(drivers.BatchAtomicity); !ok || !ba.BatchAtomic() {
		in.BatchPath = "" // the contract's batch is all-or-nothing: do not offer one the backend cannot keep
	}
	return in
}

func (s *Server) getInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.info(r.Context()))
}

func (s *Server) getHead(w http.ResponseWriter, r *http.Request) {
	h, err := s.cfg.Backend.Head(r.Context())
	if err != nil {
		writeError(w, http.StatusBadGateway, "head: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, httpdriver.HeadResponse{Head: h[0]})
}

// expectedHeader reads Expected-Version: -1 when absent.
func expectedHeader(r *http.Request) (int64, error) {
	v := r.Header.Get(httpdriver.HeaderExpectedVersion)
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseUint(v, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a version (an integer >= 0)", httpdriver.HeaderExpectedVersion, v)
	}
	return int64(n), nil
}

func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "read body: %v", err)
		return
	}
	e, _, err := httpdriver.DecodeEvent(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if e.Key != key {
		writeError(w, http.StatusBadRequest, "event key %q is not the URL's stream %q", e.Key, key)
		return
	}
	s.appendAnswer(w, r, key, []drivers.Event{e})
}

func (s *Server) postBatch(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBatchBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "read body: %v", err)
		return
	}
	var raw []httpdriver.WireEvent
	if err := json.Unmarshal(body, &raw); err != nil {
		writeError(w, http.StatusBadRequest, "batch: want a JSON array of events: %v", err)
		return
	}
	batch := make([]drivers.Event, len(raw))
	for i := range raw {
		if batch[i], err = raw[i].Event(); err != nil {
			writeError(w, http.StatusBadRequest, "batch event %d: %v", i, err)
			return
		}
	}
	key := ""
	if len(batch) > 0 {
		key = batch[0].Key
	}
	s.appendAnswer(w, r, key, batch)
}

// appendAnswer appends batch (at the Expected-Version of stream, when
// sent) and answers positions, a 409 or the failure.
func (s *Server) appendAnswer(w http.ResponseWriter, r *http.Request, stream string, batch []drivers.Event) {
	expected, err := expectedHeader(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	var pos []drivers.Position
	if expected >= 0 {
		ea, ok := s.cfg.Backend.(drivers.ExpectedAppender)
		if !ok {
			writeError(w, http.StatusNotImplemented, "this store cannot append at an expected version")
			return
		}
		for i := range batch {
			if batch[i].Key != stream {
				writeError(w, http.StatusBadRequest, "with %s every event must be in stream %q; event %d has key %q", httpdriver.HeaderExpectedVersion, stream, i, batch[i].Key)
				return
			}
		}
		pos, err = ea.AppendExpected(r.Context(), stream, uint64(expected), batch)
	} else {
		pos, err = s.cfg.Backend.Append(r.Context(), batch)
	}
	var ce *drivers.ConflictError
	switch {
	case errors.As(err, &ce):
		er := httpdriver.ErrorResponse{Error: ce.Error()}
		if ce.ActualKnown {
			er.Actual = &ce.Actual
		}
		writeJSON(w, http.StatusConflict, er)
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "append: %v", err)
		return
	}
	resp := httpdriver.AppendResponse{}
	if len(pos) == 1 && r.URL.Path != BatchPath {
		resp.Position = &pos[0].Offset
	} else {
		resp.Positions = make([]int64, len(pos))
		for i, p := range pos {
			resp.Positions[i] = p.Offset
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	ea, ok := s.cfg.Backend.(drivers.ExpectedAppender)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this store does not track stream versions")
		return
	}
	v, err := ea.StreamVersion(r.Context(), key)
	if err != nil {
		writeError(w, http.StatusBadGateway, "stream version: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, httpdriver.VersionResponse{Key: key, Version: v})
}
