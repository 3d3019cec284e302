package httpserver

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/evbench/evbench/drivers"
	httpdriver "github.com/evbench/evbench/drivers/http"
)

// from reads the query's start: from=N, else Last-Event-ID + 1, else 0.
func from(r *http.Request) (int64, bool) {
	if v := r.URL.Query().Get("from"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil && n >= 0
	}
	if v := r.Header.Get(httpdriver.HeaderLastEventID); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		return n + 1, err == nil && n >= 0
	}
	return 0, true
}

// getEvents serves SSE when the client accepts text/event-stream and no
// limit is given, else one page of polling (a JSON array).
func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) {
	start, ok := from(r)
	if !ok {
		writeError(w, http.StatusBadRequest, "from: want an integer >= 0 (the next position to read)")
		return
	}
	limit := r.URL.Query().Get("limit")
	if limit == "" && strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		s.stream(w, r, start)
		return
	}
	n := 1000
	if limit != "" {
		v, err := strconv.Atoi(limit)
		if err != nil || v < 1 || v > maxPoll {
			writeError(w, http.StatusBadRequest, "limit=%q: want 1-%d", limit, maxPoll)
			return
		}
		n = v
	}
	s.page(w, r, start, n)
}

// stream writes events from start as server-sent events until the client
// goes or the server closes: "id: POSITION" and one data line of event
// JSON with its position, flushed after each batch the backend delivers.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, start int64) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported by this connection")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fl.Flush()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	writes := make(chan []byte, 4)
	errc := make(chan error, 1)
	go func() {
		var buf []byte
		errc <- s.cfg.Backend.Subscribe(ctx, drivers.Cursor{0: start}, func(batch []drivers.Delivered) error {
			buf = buf[:0]
			for i := range batch {
				p := batch[i].Position.Offset
				buf = append(buf, "id: "...)
				buf = strconv.AppendInt(buf, p, 10)
				buf = append(buf, "\ndata: "...)
				buf = httpdriver.AppendEventJSON(buf, &batch[i].Event, p)
				buf = append(buf, "\n\n"...)
			}
			out := append([]byte(nil), buf...)
			select {
			case writes <- out:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	tick := time.NewTicker(s.cfg.Keepalive)
	defer tick.Stop()
	for {
		select {
		case b := <-writes:
			if _, err := w.Write(b); err != nil {
				return
			}
			fl.Flush()
		case <-tick.C:
			if _, err := w.Write([]byte(": keepalive\n\n")); err != nil {
				return
			}
			fl.Flush()
		case err := <-errc:
			if err != nil && ctx.Err() == nil {
				s.cfg.Logf("http front: SSE from %d: %v", start, err)
			}
			return // the client reconnects from its cursor
		case <-ctx.Done():
			return
		}
	}
}

// errPageFull ends a page's subscription.
var errPageFull = errors.New("page full")

// page answers up to limit events from start, or [] when start is at the
// head: a subscription bounded by the head read first (the log is
// gapless), so it never waits for new events.
func (s *Server) page(w http.ResponseWriter, r *http.Request, start int64, limit int) {
	head, err := s.cfg.Backend.Head(r.Context())
	if err != nil {
		writeError(w, http.StatusBadGateway, "head: %v", err)
		return
	}
	want := min(head[0]-start, int64(limit))
	buf := []byte{'['}
	if want > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		n := int64(0)
		err := s.cfg.Backend.Subscribe(ctx, drivers.Cursor{0: start}, func(batch []drivers.Delivered) error {
			for i := range batch {
				if n == want {
					break
				}
				if n > 0 {
					buf = append(buf, ',')
				}
				buf = httpdriver.AppendEventJSON(buf, &batch[i].Event, batch[i].Position.Offset)
				n++
			}
			if n == want {
				return errPageFull
			}
			return nil
		})
		if !errors.Is(err, errPageFull) {
			writeError(w, http.StatusGatewayTimeout, "read %d events from %d: got %d (%v)", want, start, n, err)
			return
		}
	}
	buf = append(buf, ']')
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf)
}
