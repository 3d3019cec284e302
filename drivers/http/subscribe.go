package httpdriver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/evbench/evbench/drivers"
)

// deliverError carries the subscriber's own error out of the read loop,
// so Subscribe returns it (errors.Is finds it) instead of reconnecting.
type deliverError struct{ err error }

func (e *deliverError) Error() string { return e.err.Error() }

// fatalError is an answer no reconnect can fix (a 4xx, a body that breaks
// the contract): Subscribe returns it.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// maxSSEBatch bounds one deliver call.
const maxSSEBatch = 512

// Subscribe reads the query side from the cursor's partition-0 offset: a
// server-sent-events stream (mode=sse) or polling GETs (mode=poll). A
// broken connection is reopened (backoff 50ms doubling to 1s) from the
// next undelivered position (from=N, and Last-Event-ID: N-1 for SSE);
// events before it are skipped, so a server that resends is not a
// duplicate. It returns nil when ctx ends, the deliver error when deliver
// fails, and an error for answers that break the contract.
func (d *Driver) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	next := from[0]
	backoff := 50 * time.Millisecond
	for {
		before := next
		var err error
		if d.cfg.mode == "poll" {
			err = d.poll(ctx, &next, deliver)
		} else {
			err = d.sse(ctx, &next, deliver)
		}
		if ctx.Err() != nil {
			return nil
		}
		var de *deliverError
		if errors.As(err, &de) {
			return de.err
		}
		var fe *fatalError
		if errors.As(err, &fe) {
			return err
		}
		if next > before {
			backoff = 50 * time.Millisecond
		}
		d.opts.Log("http: query stream from %d broke (%v); reconnecting in %s", next, err, backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-d.stop:
			return errClosed
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// eventsURL is the query URL from position next.
func (d *Driver) eventsURL(next int64, limit int) string {
	u := d.cfg.origin + d.cfg.eventsPath + "?from=" + strconv.FormatInt(next, 10)
	if limit > 0 {
		u += "&limit=" + strconv.Itoa(limit)
	}
	return u
}

// statusError classes a non-2xx query answer: 4xx other than 408 and 429
// is fatal (the URL or the request is wrong), the rest retried.
func statusError(what string, status int, body []byte) error {
	err := fmt.Errorf("http: %s: status %d: %s", what, status, snippet(body))
	if status/100 == 4 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
		return &fatalError{err}
	}
	return err
}

// sse reads one SSE connection until it breaks, advancing *next.
func (d *Driver) sse(ctx context.Context, next *int64, deliver func([]drivers.Delivered) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.eventsURL(*next, 0), nil)
	if err != nil {
		return &fatalError{err}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if *next > 0 {
		req.Header.Set(HeaderLastEventID, strconv.FormatInt(*next-1, 10))
	}
	d.auth(req)
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("http: GET %s: %w", d.cfg.eventsPath, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return statusError("GET "+d.cfg.eventsPath, resp.StatusCode, b)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return &fatalError{fmt.Errorf("http: GET %s answered Content-Type %q, want text/event-stream (or set mode=poll in the DSN)", d.cfg.eventsPath, resp.Header.Get("Content-Type"))}
	}
	r := newSSEReader(resp.Body)
	var pending []drivers.Delivered
	for {
		ev, err := r.next()
		if err != nil {
			if len(pending) > 0 {
				if derr := deliver(pending); derr != nil {
					return &deliverError{derr}
				}
			}
			return fmt.Errorf("http: SSE %s: %w", d.cfg.eventsPath, err)
		}
		dl, ok, err := d.decode(ev.data, ev.id, next)
		if err != nil {
			return &fatalError{err}
		}
		if ok {
			pending = append(pending, dl)
		}
		if len(pending) > 0 && (len(pending) >= maxSSEBatch || r.buffered() == 0) {
			if err := deliver(pending); err != nil {
				return &deliverError{err}
			}
			pending = nil
		}
	}
}

// decode turns one event's data into a delivery at its position: the
// data's "position", else the SSE id when it is an integer, else *next
// (counting from the from= asked for). ok is false for an event before
// *next (resent after a reconnect).
func (d *Driver) decode(data []byte, sseID string, next *int64) (drivers.Delivered, bool, error) {
	e, pos, err := DecodeEvent(data)
	if err != nil {
		return drivers.Delivered{}, false, fmt.Errorf("http: query event breaks the contract (%v): %s", err, snippet(data))
	}
	p := *next
	switch {
	case pos != nil:
		p = *pos
	case sseID != "":
		if n, err := strconv.ParseInt(sseID, 10, 64); err == nil {
			p = n
		}
	}
	if p < *next {
		return drivers.Delivered{}, false, nil
	}
	*next = p + 1
	return drivers.Delivered{Event: e, Position: drivers.Position{Offset: p}}, true, nil
}

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	id   string
	data []byte
}

// sseReader parses the text/event-stream format: data lines joined with
// "\n", id, comments and other fields ignored, a blank line dispatches.
type sseReader struct {
	br   *bufio.Reader
	line []byte
}

func newSSEReader(r io.Reader) *sseReader { return &sseReader{br: bufio.NewReaderSize(r, 256<<10)} }

func (s *sseReader) buffered() int { return s.br.Buffered() }

// readLine returns one line without its end (\n, \r\n), valid until the
// next call.
func (s *sseReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		chunk, err := s.br.ReadSlice('\n')
		s.line = append(s.line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, err
		}
		l := s.line[:len(s.line)-1]
		return bytes.TrimSuffix(l, []byte{'\r'}), nil
	}
}

// next returns the next event that carries data.
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data []byte
	has := false
	for {
		line, err := s.readLine()
		if err != nil {
			return ev, err
		}
		if len(line) == 0 {
			if has {
				ev.data = data
				return ev, nil
			}
			ev = sseEvent{}
			continue
		}
		if line[0] == ':' {
			continue // comment: keep-alive
		}
		field, value, _ := bytes.Cut(line, []byte{':'})
		value = bytes.TrimPrefix(value, []byte{' '})
		switch string(field) {
		case "data":
			if has {
				data = append(data, '\n')
			}
			data = append(data, value...)
			has = true
		case "id":
			ev.id = string(value)
		}
	}
}

// poll reads the query side with GETs until one fails, advancing *next.
func (d *Driver) poll(ctx context.Context, next *int64, deliver func([]drivers.Delivered) error) error {
	for {
		b, status, err := d.pollOnce(ctx, *next)
		if err != nil {
			return fmt.Errorf("http: GET %s: %w", d.cfg.eventsPath, err)
		}
		if status/100 != 2 {
			return statusError("GET "+d.cfg.eventsPath, status, b)
		}
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return &fatalError{fmt.Errorf("http: GET %s: want a JSON array of events: %v", d.cfg.eventsPath, err)}
		}
		batch := make([]drivers.Delivered, 0, len(raw))
		for _, r := range raw {
			dl, ok, err := d.decode(r, "", next)
			if err != nil {
				return &fatalError{err}
			}
			if ok {
				batch = append(batch, dl)
			}
		}
		if len(batch) > 0 {
			if err := deliver(batch); err != nil {
				return &deliverError{err}
			}
		}
		if len(raw) < d.cfg.pollLimit {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d.cfg.pollEvery):
			}
		}
	}
}

func (d *Driver) pollOnce(ctx context.Context, next int64) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.timeout)
	defer cancel()
	return d.do(ctx, http.MethodGet, d.eventsURL(next, d.cfg.pollLimit), nil, http.Header{"Accept": {"application/json"}})
}
