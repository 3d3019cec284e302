package prom

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/live"
)

func TestListenErrors(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	inUse := "127.0.0.1:" + strconv.Itoa(port)
	next := port + 1
	if next > 65535 {
		next = port - 1
	}

	tests := []struct {
		name, addr string
		listenAny  bool
		want       string
	}{
		{"not loopback", "0.0.0.0:9464", false,
			"--metrics-addr 0.0.0.0:9464: not a loopback address; add --listen-any to serve other hosts"},
		{"in use", inUse, false,
			"--metrics-addr " + inUse + ": address in use; pick another port, e.g. --metrics-addr 127.0.0.1:" + strconv.Itoa(next)},
		{"in use with listen-any", inUse, true,
			"--metrics-addr " + inUse + ": address in use; pick another port, e.g. --metrics-addr 127.0.0.1:" + strconv.Itoa(next)},
		{"no port", "localhost", false,
			"--metrics-addr localhost: not HOST:PORT; write it like 127.0.0.1:9464 or [::1]:9464"},
		{"bad port", "127.0.0.1:metrics", false,
			`--metrics-addr 127.0.0.1:metrics: port "metrics" is not a number 0-65535; e.g. --metrics-addr 127.0.0.1:9464`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Listen(tt.addr, tt.listenAny)
			if err == nil {
				l.Close()
				t.Fatalf("Listen(%q, %v): nil error, want %q", tt.addr, tt.listenAny, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err, tt.want)
			}
		})
	}
}

// get fetches url and returns the status, content type and body.
func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestServe(t *testing.T) {
	l, err := Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	e := New()
	srv := e.Serve(l, nil)
	base := "http://" + srv.Addr().String()
	if srv.URL() != base+"/metrics" {
		t.Errorf("URL() = %q, want %q", srv.URL(), base+"/metrics")
	}

	// Before the first snapshot: a valid scrape without run info.
	code, _, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics before a snapshot: status %d\n%s", code, body)
	}
	if !strings.Contains(body, `evbench_events_total{outcome="acked"} 0`) || strings.Contains(body, "evbench_run_info") {
		t.Errorf("/metrics before a snapshot: want zero counters and no run info, got\n%s", body)
	}

	e.Publish(fullSnapshot())
	code, ctype, body := get(t, base+"/metrics")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("/metrics: status %d, content type %q", code, ctype)
	}
	for _, line := range []string{
		`evbench_events_total{outcome="acked"} 1003`,
		`evbench_run_info{driver="refstore",durability="true",scenario="burst"} 1`,
		`evbench_commit_latency_seconds_bucket{le="0.0025"} 25`,
		`evbench_commit_latency_seconds_bucket{le="+Inf"} 30`,
		`evbench_commit_latency_seconds_count 30`,
		`evbench_fault_active{kind="down",path="store"} 1`,
		`evbench_phase{phase="load"} 1`,
		`evbench_phase{phase="setup"} 0`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, line+"\n") && !strings.Contains(body, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}

	code, _, body = get(t, base+"/")
	if code != http.StatusOK || !strings.Contains(body, "/metrics") {
		t.Errorf("/: status %d, body %q; want 200 naming /metrics", code, body)
	}
	if code, _, _ = get(t, base+"/nope"); code != http.StatusNotFound {
		t.Errorf("/nope: status %d, want 404", code)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := srv.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := http.Get(base + "/metrics"); err == nil {
		t.Error("GET after Close succeeded")
	}
}

func TestCloseReportsServeError(t *testing.T) {
	// A listener that fails Accept makes Serve stop on its own; Close
	// must say so instead of reporting a clean shutdown.
	e := New()
	fl := failingListener{accepted: make(chan struct{}, 1)}
	srv := e.Serve(fl, nil)
	<-fl.accepted
	// Serve returns right after Accept fails; give it that instant, or
	// Close's Shutdown would get there first and Serve would report a
	// clean close instead.
	time.Sleep(100 * time.Millisecond)
	err := srv.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "metrics server") || !errors.Is(err, errAccept) {
		t.Errorf("Close = %v, want the Serve error wrapped", err)
	}
}

var errAccept = errors.New("accept broke")

type failingListener struct{ accepted chan struct{} }

func (f failingListener) Accept() (net.Conn, error) {
	select {
	case f.accepted <- struct{}{}:
	default:
	}
	return nil, errAccept
}
func (failingListener) Close() error   { return nil }
func (failingListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func TestHandlerMalformedHistogram(t *testing.T) {
	// One bad histogram must not cost Prometheus the whole scrape.
	snap := fullSnapshot()
	snap.Histograms["e2e"] = live.Histogram{Counts: []uint64{1}, Count: 1}
	e := New()
	e.Publish(snap)
	rec := httptest.NewRecorder()
	e.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200\n%s", rec.Code, body)
	}
	if strings.Contains(body, "evbench_e2e_latency_seconds") {
		t.Error("malformed e2e histogram served")
	}
	if !strings.Contains(body, "evbench_commit_latency_seconds_count 30") {
		t.Error("the good commit histogram was dropped with the bad one")
	}
}
