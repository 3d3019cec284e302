package httpdriver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
	httpdriver "github.com/evbench/evbench/drivers/http"
	"github.com/evbench/evbench/drivers/http/httpserver"
	"github.com/evbench/evbench/drivers/refstore"
	"github.com/evbench/evbench/drivers/refstore/engine"
)

// startFront runs an embedded refstore (sync=always) and the HTTP front
// over it on 127.0.0.1:0, as `evbench refstore serve --http` does, and
// returns the front's base URL.
func startFront(t testing.TB) string {
	t.Helper()
	return startFrontWrapped(t, nil)
}

// startFrontWrapped is startFront with wrap around the front's handler.
func startFrontWrapped(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	e, err := refstore.StartEmbedded(t.TempDir(), engine.Options{Sync: engine.SyncAlways}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	backend, err := refstore.Open(ctx, e.DSN()+"?conns=4", drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	dur, _ := e.Durability(ctx)
	srv := httpserver.New(httpserver.Config{Backend: backend, Durability: dur})
	if wrap != nil {
		hs := httptest.NewServer(wrap(srv.Handler()))
		t.Cleanup(hs.Close)
		return hs.URL
	}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return "http://" + addr.String()
}

// openFresh opens the driver on a fresh front (a fresh, empty refstore).
func openFresh(t *testing.T, params string) drivers.Driver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := httpdriver.Open(ctx, startFront(t)+"/streams/{key}"+params, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestConformanceSSE: the default DSN (SSE, the batch path from /info,
// lanes coalescing when behind).
func TestConformanceSSE(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) drivers.Driver { return openFresh(t, "") })
}

// TestConformancePoll: polling, one command per request.
func TestConformancePoll(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) drivers.Driver { return openFresh(t, "?mode=poll&poll_interval=5ms&coalesce=1") })
}

// TestConformanceOneRequestPerEvent: without a batch path, batches go as
// one request per event and are declared not atomic.
func TestConformanceOneRequestPerEvent(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) drivers.Driver {
		d := openFresh(t, "?batch=none&max_inflight=8")
		if d.(drivers.BatchAtomicity).BatchAtomic() {
			t.Fatal("batch=none: BatchAtomic() = true, want false (one request per event lands in part)")
		}
		return d
	})
}

func TestExpectedVersion(t *testing.T) {
	drivertest.CheckExpectedVersion(t, func(t *testing.T) drivers.Driver { return openFresh(t, "") })
}

func TestRegistered(t *testing.T) {
	r, err := drivers.Lookup("http")
	if err != nil {
		t.Fatal(err)
	}
	if r.CheckDSN == nil || r.DSNExample != "http://127.0.0.1:8080/streams/{key}" || !r.ExpectedVersion {
		t.Fatalf("registration incomplete: %+v", r)
	}
	if err := r.CheckDSN(r.DSNExample); err != nil {
		t.Fatalf("CheckDSN(example): %v", err)
	}
}

// TestConformanceCoalescedH2: lanes merging queued commands into batch
// requests, over HTTP/2 (h2c), keep every promise of the suite.
func TestConformanceCoalescedH2(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) drivers.Driver { return openFresh(t, "?coalesce=64&proto=h2&max_inflight=4") })
}

// TestCoalescing: with coalesce=1 every command is its own request; with
// coalesce=N commands queued on a lane go out as fewer batch requests,
// each acknowledged.
func TestCoalescing(t *testing.T) {
	for _, tc := range []struct {
		coalesce string
		merged   bool
	}{{"1", false}, {"100", true}} {
		var posts atomic.Int32
		base := startFrontWrapped(t, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					posts.Add(1)
				}
				h.ServeHTTP(w, r)
			})
		})
		d, err := httpdriver.Open(context.Background(), base+"/streams/{key}?max_inflight=1&coalesce="+tc.coalesce, drivers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		const n = 300
		evs := drivertest.Events(n, 10)
		var wg sync.WaitGroup
		var failed atomic.Int32
		wg.Add(n)
		for i := range evs {
			d.(drivers.AsyncAppender).AppendAsync(context.Background(), evs[i:i+1], func(p []drivers.Position, err error) {
				if err != nil || len(p) != 1 || p[0].Offset < 0 {
					failed.Add(1)
				}
				wg.Done()
			})
		}
		wg.Wait()
		d.Close()
		got := int(posts.Load())
		t.Logf("coalesce=%s: %d events in %d requests", tc.coalesce, n, got)
		switch {
		case failed.Load() > 0:
			t.Errorf("coalesce=%s: %d appends failed or lacked a position", tc.coalesce, failed.Load())
		case !tc.merged && got != n:
			t.Errorf("coalesce=1: %d requests for %d commands, want one each", got, n)
		case tc.merged && got >= n:
			t.Errorf("coalesce=100: %d requests for %d queued commands, want fewer (merged batches)", got, n)
		}
	}
}
