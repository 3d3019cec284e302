package httpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	httpdriver "github.com/evbench/evbench/drivers/http"
	"github.com/evbench/evbench/drivers/refstore"
	"github.com/evbench/evbench/drivers/refstore/engine"
)

// front serves the contract over a fresh embedded refstore.
func front(t *testing.T) *httptest.Server {
	t.Helper()
	e, err := refstore.StartEmbedded(t.TempDir(), engine.Options{Sync: engine.SyncNone}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	b, err := refstore.Open(context.Background(), e.DSN(), drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	s := New(Config{Backend: b, Keepalive: 50 * time.Millisecond})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.Close(); srv.Close() })
	return srv
}

func call(t *testing.T, method, url, body string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func event(key string, seq int, id string) string {
	return `{"id":"` + id + `","key":"` + key + `","seq":` + string(rune('0'+seq)) + `,"type":"T","payload":{"n":1},"created_at":5}`
}

const id1, id2 = "00000000000000000000000000000001", "00000000000000000000000000000002"

// TestBadRequests: input that breaks the contract is a 4xx naming the
// problem, and writes nothing.
func TestBadRequests(t *testing.T) {
	srv := front(t)
	for _, tc := range []struct {
		method, path, body string
		hdr                []string
		status             int
		want               string
	}{
		{"POST", "/streams/a", `{"id":"xx"`, nil, 400, "event JSON"},
		{"POST", "/streams/a", event("b", 1, id1), nil, 400, "is not the URL's stream"},
		{"POST", "/streams/a", `{"id":"zz","key":"a","seq":1}`, nil, 400, "32 hex digits"},
		{"POST", "/streams/a", event("a", 1, id1), []string{"Expected-Version", "-1"}, 400, "is not a version"},
		{"POST", "/batch", `{"not":"an array"}`, nil, 400, "JSON array"},
		{"GET", "/events?from=-3", "", nil, 400, "from"},
		{"GET", "/events?from=0&limit=0", "", nil, 400, "limit"},
	} {
		status, body := call(t, tc.method, srv.URL+tc.path, tc.body, tc.hdr...)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %s: %d %s; want %d containing %q", tc.method, tc.path, tc.body, status, body, tc.status, tc.want)
		}
	}
	if _, body := call(t, "GET", srv.URL+"/head", ""); strings.TrimSpace(body) != `{"head":0}` {
		t.Fatalf("head after bad requests = %s, want 0: nothing may be written", body)
	}
}

// TestCommandsQueriesAndResume: commands answer positions and versions,
// a stale Expected-Version is a 409 with the actual version, a poll page
// and an SSE stream echo the events, and SSE resumes from Last-Event-ID.
func TestCommandsQueriesAndResume(t *testing.T) {
	srv := front(t)
	if st, body := call(t, "POST", srv.URL+"/streams/a", event("a", 1, id1), "Expected-Version", "0"); st != 200 || !strings.Contains(body, `"position":0`) {
		t.Fatalf("first command: %d %s", st, body)
	}
	st, body := call(t, "POST", srv.URL+"/streams/a", event("a", 2, id2), "Expected-Version", "0")
	var er httpdriver.ErrorResponse
	if st != 409 || json.Unmarshal([]byte(body), &er) != nil || er.Actual == nil || *er.Actual != 1 {
		t.Fatalf("stale expected version: %d %s; want 409 with actual 1", st, body)
	}
	if st, body := call(t, "POST", srv.URL+"/streams/a", event("a", 2, id2)); st != 200 || !strings.Contains(body, `"position":1`) {
		t.Fatalf("second command: %d %s", st, body)
	}
	if _, body := call(t, "GET", srv.URL+"/streams/a", ""); !strings.Contains(body, `"version":2`) {
		t.Fatalf("stream version: %s", body)
	}
	_, body = call(t, "GET", srv.URL+"/events?from=1&limit=10", "")
	var page []httpdriver.WireEvent
	if err := json.Unmarshal([]byte(body), &page); err != nil || len(page) != 1 || page[0].ID != id2 || *page[0].Position != 1 {
		t.Fatalf("poll page from 1: %s (%v)", body, err)
	}
	if _, body := call(t, "GET", srv.URL+"/events?from=2&limit=10", ""); body != "[]" {
		t.Fatalf("poll page at the head = %s, want []", body)
	}

	// SSE with Last-Event-ID 0 starts at position 1.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("SSE Content-Type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	var lines []string
	for len(lines) < 3 {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("SSE read: %v (got %q)", err, lines)
		}
		lines = append(lines, strings.TrimRight(l, "\n"))
	}
	if lines[0] != "id: 1" || !strings.HasPrefix(lines[1], `data: {"id":"`+id2+`"`) || !strings.Contains(lines[1], `"position":1`) || lines[2] != "" {
		t.Fatalf("SSE from Last-Event-ID 0: %q", lines)
	}
	// An idle stream sends keep-alive comments.
	if l, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(l, ":") {
		t.Fatalf("idle SSE: %q, %v; want a keep-alive comment", l, err)
	}
}

func TestInfoFollowsBackend(t *testing.T) {
	srv := front(t)
	_, body := call(t, "GET", srv.URL+"/info", "")
	var in httpdriver.Info
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	// refstore over TCP: the client cannot see the sync mode (unknown),
	// but it checks versions, dedupes and commits a batch whole.
	if in.AckAfterFsync != drivers.AckAfterFsyncUnknown || !in.ExpectedVersion || !in.DedupeByID || in.BatchPath != BatchPath {
		t.Fatalf("info = %+v", in)
	}
}
