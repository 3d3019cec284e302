package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/live"
)

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	ID, Event, Data string
}

// sseReader parses a text/event-stream the way the HTML spec's
// EventSource does (lines end in LF here: the server never sends a CR,
// which TestEncodeEvent checks), so the tests see what a browser sees.
type sseReader struct {
	r        *bufio.Reader
	lastID   string
	comments int
	retry    string
}

func newSSEReader(r io.Reader) *sseReader { return &sseReader{r: bufio.NewReader(r)} }

// Next returns the next dispatched event, or the read error (io.EOF at a
// clean end of stream).
func (s *sseReader) Next() (sseEvent, error) {
	var data strings.Builder
	hasData := false
	event := ""
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return sseEvent{}, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if !hasData {
				event = ""
				continue // the spec: nothing to dispatch
			}
			if event == "" {
				event = "message"
			}
			return sseEvent{ID: s.lastID, Event: event, Data: strings.TrimSuffix(data.String(), "\n")}, nil
		}
		if line[0] == ':' {
			s.comments++
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
			hasData = true
		case "event":
			event = value
		case "id":
			s.lastID = value
		case "retry":
			s.retry = value
		}
	}
}

// stream opens /events on base and returns its reader; the stream ends
// with ctx. It checks the status and the content type.
func stream(t *testing.T, ctx context.Context, base string, lastID string) *sseReader {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /events: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /events: status %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("GET /events: Content-Type %q, want text/event-stream", ct)
	}
	return newSSEReader(resp.Body)
}

// next reads one event and fails the test on error.
func next(t *testing.T, r *sseReader) sseEvent {
	t.Helper()
	ev, err := r.Next()
	if err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	return ev
}

// expectHello reads the stream's first event.
func expectHello(t *testing.T, r *sseReader) {
	t.Helper()
	ev := next(t, r)
	var h struct{ Instance string }
	if ev.Event != "hello" || json.Unmarshal([]byte(ev.Data), &h) != nil || h.Instance == "" {
		t.Fatalf("first event = %+v, want hello with an instance", ev)
	}
	if r.retry == "" {
		t.Errorf("no retry: field before the first event")
	}
}

// expectSnapshots reads snapshot events with ids from..to, each carrying
// the elapsed time snap(id) was published with.
func expectSnapshots(t *testing.T, r *sseReader, from, to int) {
	t.Helper()
	for id := from; id <= to; id++ {
		ev := next(t, r)
		if ev.Event != "snapshot" || ev.ID != fmt.Sprint(id) {
			t.Fatalf("got event %q id %q, want snapshot id %d", ev.Event, ev.ID, id)
		}
		var s live.Snapshot
		if err := json.Unmarshal([]byte(ev.Data), &s); err != nil {
			t.Fatalf("snapshot %d: %v in %q", id, err, ev.Data)
		}
		if s.Elapsed != time.Duration(id)*time.Second {
			t.Fatalf("snapshot id %d has elapsed %v, want %ds: frames out of order", id, s.Elapsed, id)
		}
	}
}

// expectEnd checks the stream ends (EOF) rather than staying open.
func expectEnd(t *testing.T, r *sseReader) {
	t.Helper()
	ev, err := r.Next()
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("after done: event %+v, err %v; want the stream to end", ev, err)
	}
}
