package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/live"
	"github.com/evbench/evbench/live/listen"
)

// snap is the i-th synthetic snapshot: elapsed i seconds, so a reader can
// tell which frame it got.
func snap(i int) live.Snapshot {
	return live.Snapshot{
		Scenario: "steady", Driver: "refstore", Durability: "true", Phase: live.PhaseLoad,
		Stage: "constant 1000/s", Elapsed: time.Duration(i) * time.Second, Total: time.Minute,
		OfferedRate: 1000, AchievedRate: 990, CommitP50: 1.5, CommitP99: 9, E2EP99: 20, Lag: int64(i),
	}
}

// newTestServer serves s with httptest; the cleanup closes s first, so the
// open streams end and httptest's Close does not wait on them.
func newTestServer(t *testing.T, s *Server) string {
	t.Helper()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ts.URL
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// normalize is what a browser reconstructs from data lines: every CR,
// LF or CRLF becomes LF.
func normalize(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

func TestEncodeEvent(t *testing.T) {
	cases := []struct{ data, want string }{
		{"", "id: 7\nevent: e\ndata: \n\n"},
		{"{}", "id: 7\nevent: e\ndata: {}\n\n"},
		{"a\nb", "id: 7\nevent: e\ndata: a\ndata: b\n\n"},
		{"a\r\nb", "id: 7\nevent: e\ndata: a\ndata: b\n\n"},
		{"a\rb", "id: 7\nevent: e\ndata: a\ndata: b\n\n"},
		{"a\n", "id: 7\nevent: e\ndata: a\ndata: \n\n"},
		{"\n\n", "id: 7\nevent: e\ndata: \ndata: \ndata: \n\n"},
		{" lead", "id: 7\nevent: e\ndata:  lead\n\n"},
		{"a\r\r\nb", "id: 7\nevent: e\ndata: a\ndata: \ndata: b\n\n"},
	}
	for _, c := range cases {
		got := string(encodeEvent(7, "e", []byte(c.data)))
		if got != c.want {
			t.Errorf("encodeEvent(%q) = %q, want %q", c.data, got, c.want)
			continue
		}
		ev, err := newSSEReader(strings.NewReader(got)).Next()
		if err != nil || ev.Data != normalize(c.data) || ev.ID != "7" || ev.Event != "e" {
			t.Errorf("parsing encodeEvent(%q) = %+v, %v; want data %q", c.data, ev, err, normalize(c.data))
		}
	}
}

// TestEncodeEventLargeReport round-trips a report of ~400 KB with every
// kind of line end, blank lines and lines that look like SSE fields: a
// browser must get the same text back, and nothing in it may end the
// event early or start another.
func TestEncodeEventLargeReport(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	ends := []string{"\n", "\r\n", "\r", "\n\n"}
	tricky := []string{"event: done", "data: x", "id: 99", ": comment", "", "  <td>1.5 ms</td>"}
	for b.Len() < 400_000 {
		if rng.IntN(5) == 0 {
			b.WriteString(tricky[rng.IntN(len(tricky))])
		} else {
			b.WriteString(strings.Repeat("<p>report ", 1+rng.IntN(30)))
		}
		b.WriteString(ends[rng.IntN(len(ends))])
	}
	report := b.String()
	enc := encodeEvent(42, "report", []byte(report))
	if bytes.IndexByte(enc, '\r') >= 0 {
		t.Fatal("encoded event contains a CR: browsers would split a line there")
	}
	r := newSSEReader(bytes.NewReader(enc))
	ev, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if ev.Event != "report" || ev.ID != "42" {
		t.Fatalf("got event %q id %q", ev.Event, ev.ID)
	}
	if ev.Data != normalize(report) {
		t.Fatalf("report changed in transit: %d bytes in, %d out", len(normalize(report)), len(ev.Data))
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("more than one event in the encoding: %v", err)
	}
}

func TestReplayToLateClient(t *testing.T) {
	s := New(Options{})
	base := newTestServer(t, s)
	for i := 1; i <= 5; i++ {
		s.Publish(snap(i))
	}
	r := stream(t, testCtx(t), base, "")
	expectHello(t, r)
	expectSnapshots(t, r, 1, 5) // the history first
	s.Publish(snap(6))
	expectSnapshots(t, r, 6, 6) // then live
	if st := s.Stats(); st.Frames != 6 || st.Clients != 1 || st.Dropped != 0 {
		t.Errorf("Stats = %+v, want 6 frames, 1 client, 0 dropped", st)
	}
}

func TestLastEventIDResumes(t *testing.T) {
	s := New(Options{})
	base := newTestServer(t, s)
	for i := 1; i <= 5; i++ {
		s.Publish(snap(i))
	}
	r := stream(t, testCtx(t), base, "3")
	expectHello(t, r)
	expectSnapshots(t, r, 4, 5)

	// An id this server never sent is from an earlier evbench: all of it.
	r = stream(t, testCtx(t), base, "999")
	expectHello(t, r)
	expectSnapshots(t, r, 1, 5)
}

func TestHistoryCap(t *testing.T) {
	s := New(Options{History: 3})
	base := newTestServer(t, s)
	for i := 1; i <= 10; i++ {
		s.Publish(snap(i))
	}
	r := stream(t, testCtx(t), base, "")
	expectHello(t, r)
	expectSnapshots(t, r, 8, 10)
}

func TestNonFiniteValuesStillSent(t *testing.T) {
	s := New(Options{})
	base := newTestServer(t, s)
	x := snap(1)
	x.AchievedRate, x.CommitP99 = math.NaN(), math.Inf(1)
	s.Publish(x)
	r := stream(t, testCtx(t), base, "")
	expectHello(t, r)
	ev := next(t, r)
	var got live.Snapshot
	if err := json.Unmarshal([]byte(ev.Data), &got); err != nil {
		t.Fatal(err)
	}
	if got.AchievedRate != 0 || got.CommitP99 != 0 || got.OfferedRate != 1000 {
		t.Errorf("got achieved %v p99 %v offered %v, want 0, 0, 1000", got.AchievedRate, got.CommitP99, got.OfferedRate)
	}
	if st := s.Stats(); st.EncodeErrors != 0 {
		t.Errorf("EncodeErrors = %d", st.EncodeErrors)
	}
}

// stuckWriter is a ResponseWriter whose writes wait for gate: a client
// that stopped reading, without depending on TCP buffer sizes.
type stuckWriter struct {
	hdr  http.Header
	gate chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (w *stuckWriter) Header() http.Header { return w.hdr }
func (w *stuckWriter) WriteHeader(int)     {}
func (w *stuckWriter) Flush()              {}
func (w *stuckWriter) Write(p []byte) (int, error) {
	<-w.gate
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func TestSlowClientDropsFramesWithoutBlocking(t *testing.T) {
	const buffer, n = 4, 200
	s := New(Options{Buffer: buffer})
	w := &stuckWriter{hdr: http.Header{}, gate: make(chan struct{})}
	ctx := testCtx(t)
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/events", nil)
	ended := make(chan struct{})
	go func() { s.Handler().ServeHTTP(w, req); close(ended) }()
	t.Cleanup(func() {
		select {
		case <-w.gate:
		default:
			close(w.gate)
		}
		<-ended
	})
	for s.Stats().Clients != 1 {
		if ctx.Err() != nil {
			t.Fatal("the stream never registered")
		}
		time.Sleep(time.Millisecond)
	}

	start := time.Now()
	for i := 1; i <= n; i++ {
		t0 := time.Now()
		s.Publish(snap(i))
		if d := time.Since(t0); d > 100*time.Millisecond {
			t.Fatalf("Publish %d took %v with a stuck client", i, d)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("%d Publish calls took %v with a stuck client", n, d)
	}
	// The handler is stuck in its first write: its queue holds exactly
	// `buffer` frames, the rest were dropped.
	if st := s.Stats(); st.Dropped != n-buffer {
		t.Fatalf("Dropped = %d, want %d", st.Dropped, n-buffer)
	}

	// Once it reads again it gets the dropped frames back from the history.
	close(w.gate)
	s.Publish(snap(n + 1))
	s.Finish([]byte("<p>end</p>"))
	select {
	case <-ended:
	case <-ctx.Done():
		t.Fatal("the stream did not end after Finish")
	}
	w.mu.Lock()
	r := newSSEReader(bytes.NewReader(w.buf.Bytes()))
	w.mu.Unlock()
	expectHello(t, r)
	expectSnapshots(t, r, 1, n+1)
	if ev := next(t, r); ev.Event != "report" || ev.Data != "<p>end</p>" {
		t.Fatalf("after the snapshots: %+v, want the report", ev)
	}
	if ev := next(t, r); ev.Event != "done" {
		t.Fatalf("after the report: %+v, want done", ev)
	}
}

func TestFinishDeliversReportAndDone(t *testing.T) {
	s := New(Options{})
	base := newTestServer(t, s)

	if resp, err := http.Get(base + "/report"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("/report before Finish: %s, want 404", resp.Status)
		}
	}

	early := stream(t, testCtx(t), base, "")
	expectHello(t, early)
	for i := 1; i <= 3; i++ {
		s.Publish(snap(i))
	}
	report := "<!doctype html>\r\n<title>r</title>\n\nevent: done\ndata: fake\r<p>" + strings.Repeat("x", 200_000) + "</p>\n"
	s.Finish([]byte(report))
	s.Finish([]byte("second call ignored"))
	s.Publish(snap(4)) // after Finish: ignored

	check := func(name string, r *sseReader) {
		t.Helper()
		expectSnapshots(t, r, 1, 3)
		ev := next(t, r)
		if ev.Event != "report" || ev.Data != normalize(report) {
			t.Fatalf("%s: got %q (%d bytes), want the report (%d bytes)", name, ev.Event, len(ev.Data), len(normalize(report)))
		}
		if ev.ID != "4" {
			t.Errorf("%s: report id %q, want 4 (after the last snapshot)", name, ev.ID)
		}
		if ev := next(t, r); ev.Event != "done" || ev.ID != "5" {
			t.Fatalf("%s: got %+v, want done id 5", name, ev)
		}
		expectEnd(t, r)
	}
	check("connected client", early)

	late := stream(t, testCtx(t), base, "")
	expectHello(t, late)
	check("late client", late)

	resp, err := http.Get(base + "/report")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != report {
		t.Errorf("/report: %s, %d bytes; want 200 and the report byte for byte", resp.Status, len(body))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("/report Content-Type %q", ct)
	}
	if st := s.Stats(); st.Frames != 3 {
		t.Errorf("Frames = %d, want 3 (the Publish after Finish is ignored)", st.Frames)
	}
}

// TestCloseDoesNotHang closes a served dashboard with a page connected,
// before and after Finish: Shutdown alone would wait on the open stream
// until its context ends.
func TestCloseDoesNotHang(t *testing.T) {
	for _, finish := range []bool{false, true} {
		name := map[bool]string{false: "running", true: "finished"}[finish]
		t.Run(name, func(t *testing.T) {
			s := New(Options{Heartbeat: 50 * time.Millisecond})
			l, err := listen.Open("--dashboard-addr", "127.0.0.1:0", false)
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- s.Serve(l) }()
			base := "http://" + l.Addr().String()
			s.Publish(snap(1))
			r := stream(t, testCtx(t), base, "")
			expectHello(t, r)
			expectSnapshots(t, r, 1, 1)
			if finish {
				s.Finish([]byte("<p>report</p>"))
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			closed := make(chan error, 1)
			go func() { closed <- s.Close(ctx) }()
			if finish {
				// The client reads its report and done while Close waits.
				if ev := next(t, r); ev.Event != "report" {
					t.Fatalf("got %+v, want the report", ev)
				}
				if ev := next(t, r); ev.Event != "done" {
					t.Fatalf("got %+v, want done", ev)
				}
			}
			select {
			case err := <-closed:
				if err != nil {
					t.Fatalf("Close: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close hung with a connected client")
			}
			// Running: nothing to wait for. Finished: the client got
			// everything, so not the whole 2 s grace either.
			if d := time.Since(start); d > 1500*time.Millisecond {
				t.Errorf("Close took %v", d)
			}
			for {
				ev, err := r.Next()
				if err != nil {
					break // the stream was closed
				}
				if ev.Event == "snapshot" {
					t.Fatalf("a snapshot after Close: %+v", ev)
				}
			}
			select {
			case err := <-served:
				if err != nil {
					t.Errorf("Serve returned %v after Close, want nil", err)
				}
			case <-time.After(2 * time.Second):
				t.Error("Serve did not return after Close")
			}
			if err := s.Close(ctx); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if err := s.Serve(l); err != ErrClosed {
				t.Errorf("Serve after Close = %v, want ErrClosed", err)
			}
		})
	}
}

// TestCloseGraceIsBounded: a page that never reads its report must not
// keep Close waiting longer than the grace.
func TestCloseGraceIsBounded(t *testing.T) {
	s := New(Options{})
	w := &stuckWriter{hdr: http.Header{}, gate: make(chan struct{})}
	req := httptest.NewRequestWithContext(testCtx(t), http.MethodGet, "/events", nil)
	ended := make(chan struct{})
	go func() { s.Handler().ServeHTTP(w, req); close(ended) }()
	for s.Stats().Clients != 1 {
		time.Sleep(time.Millisecond)
	}
	s.Finish(nil)
	start := time.Now()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < finishGrace-100*time.Millisecond || d > finishGrace+time.Second {
		t.Errorf("Close took %v with a stuck page, want about the %v grace", d, finishGrace)
	}
	close(w.gate)
	<-ended
}

func TestStartChecksTheAddress(t *testing.T) {
	s := New(Options{})
	defer s.Close(context.Background())
	if _, err := s.Start("--dashboard-addr", "0.0.0.0:0", false); err == nil || !strings.Contains(err.Error(), "--dashboard-addr") {
		t.Errorf("Start on 0.0.0.0 without listenAny: %v, want an error naming the flag", err)
	}
	url, err := s.Start("--dashboard-addr", "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s", url, resp.Status)
	}
}

func TestPageIsSelfContained(t *testing.T) {
	s := New(Options{})
	base := newTestServer(t, s)
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q does not forbid other origins", csp)
	}
	page := string(body)
	for _, want := range []string{"new EventSource('events')", `id="chart-rate"`, `id="faults"`, `id="report-frame"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"http://", "https://", "src=", "@import", "url(", "@font-face"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: it must need nothing from the network", bad)
		}
	}
	if resp, err := http.Get(base + "/nope"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope: %s, want 404", resp.Status)
	}
}
