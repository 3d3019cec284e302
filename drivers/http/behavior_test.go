package httpdriver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
)

// bareFront is a minimal gateway-like front: no /info, 204 on commands
// (no positions), SSE data without positions (the position is the SSE id),
// and every SSE connection cut after cut events, so the driver must resume.
type bareFront struct {
	mu      sync.Mutex
	events  []drivers.Event
	resumes []string // from= and Last-Event-ID of each SSE request after the first
	status  int      // answer to commands; 0: 204
	cut     int
}

func (f *bareFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost:
		if f.status != 0 {
			http.Error(w, `{"error":"nope"}`, f.status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/head":
		f.mu.Lock()
		fmt.Fprintf(w, `{"head":%d}`, len(f.events))
		f.mu.Unlock()
	case r.URL.Path == "/events":
		from, _ := strconv.Atoi(r.URL.Query().Get("from"))
		f.mu.Lock()
		if from > 0 {
			f.resumes = append(f.resumes, "from="+r.URL.Query().Get("from")+" last="+r.Header.Get(HeaderLastEventID))
		}
		evs := f.events
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		sent := 0
		for i := from; i < len(evs) && sent < f.cut; i++ {
			fmt.Fprintf(w, ": comment\nevent: message\nid: %d\ndata: %s\n\n", i, AppendEventJSON(nil, &evs[i], -1))
			sent++
		}
		w.(http.Flusher).Flush() // then return: the connection's stream ends
	default:
		http.NotFound(w, r)
	}
}

func openBare(t *testing.T, f *bareFront, params string, opts drivers.Options) drivers.Driver {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	d, err := Open(context.Background(), srv.URL+"/streams/{key}"+params, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestSSEResumesAfterCuts(t *testing.T) {
	f := &bareFront{cut: 3}
	for i := 0; i < 10; i++ {
		f.events = append(f.events, drivers.Event{ID: [16]byte{byte(i + 1)}, Key: "k", Seq: uint64(i + 1), Type: "T", Payload: []byte(`{}`)})
	}
	d := openBare(t, f, "", drivers.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []drivers.Delivered
	err := d.Subscribe(ctx, drivers.Cursor{0: 1}, func(b []drivers.Delivered) error {
		got = append(got, b...)
		if len(got) >= 9 {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 9 {
		t.Fatalf("got %d events from position 1, want 9", len(got))
	}
	for i, dl := range got {
		if dl.Position.Offset != int64(i+1) || dl.Seq != uint64(i+2) {
			t.Fatalf("delivery %d at %d seq %d, want position %d seq %d", i, dl.Position.Offset, dl.Seq, i+1, i+2)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := []string{"from=1 last=0", "from=4 last=3", "from=7 last=6"}
	if fmt.Sprint(f.resumes[:3]) != fmt.Sprint(want) {
		t.Fatalf("SSE requests %q, want them to start with %q (resume at the next position, Last-Event-ID the last seen)", f.resumes, want)
	}
}

// TestBareFrontPromisesNothing: without /info, durability is unknown, no
// expected version is offered, batches are one request per event and
// positions are unknown (-1).
func TestBareFrontPromisesNothing(t *testing.T) {
	f := &bareFront{cut: 1}
	d := openBare(t, f, "", drivers.Options{})
	if _, ok := d.(drivers.ExpectedAppender); ok {
		t.Fatal("a front without /info must not offer drivers.ExpectedAppender")
	}
	if d.(drivers.BatchAtomicity).BatchAtomic() || d.(drivers.Deduplicator).DeduplicatesByID() {
		t.Fatal("a front without /info must not claim batch atomicity or dedupe")
	}
	dur, err := d.(drivers.DurabilityReporter).Durability(context.Background())
	if err != nil || dur.AckAfterFsync != drivers.AckAfterFsyncUnknown {
		t.Fatalf("Durability = %+v, %v; want unknown", dur, err)
	}
	pos, err := d.Append(context.Background(), []drivers.Event{{Key: "a", Seq: 1}, {Key: "a", Seq: 2}})
	if err != nil || len(pos) != 2 || pos[0].Offset != -1 {
		t.Fatalf("Append on a 204 front = %v, %v; want two unknown (-1) positions", pos, err)
	}
}

func TestCommandStatuses(t *testing.T) {
	for _, tc := range []struct {
		status   int
		conflict bool
	}{{http.StatusConflict, false}, {http.StatusInternalServerError, false}, {http.StatusBadRequest, false}} {
		f := &bareFront{status: tc.status}
		d := openBare(t, f, "", drivers.Options{})
		_, err := d.Append(context.Background(), []drivers.Event{{Key: "a", Seq: 1}})
		if err == nil || errors.Is(err, drivers.ErrConflict) != tc.conflict {
			t.Errorf("status %d: Append error %v, want a failure (conflict typed only with an expected version)", tc.status, err)
		}
	}
	// With an expected version a 409 is a typed conflict carrying actual.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/info" {
			fmt.Fprint(w, `{"expected_version":true}`)
			return
		}
		if r.Header.Get(HeaderExpectedVersion) != "4" {
			t.Errorf("Expected-Version header = %q, want 4", r.Header.Get(HeaderExpectedVersion))
		}
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, `{"error":"stale","actual":6}`)
	}))
	defer srv.Close()
	d, err := Open(context.Background(), srv.URL+"/streams/{key}", drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = d.(drivers.ExpectedAppender).AppendExpected(context.Background(), "s", 4, []drivers.Event{{Key: "s", Seq: 5}})
	var ce *drivers.ConflictError
	if !errors.As(err, &ce) || ce.Expected != 4 || !ce.ActualKnown || ce.Actual != 6 {
		t.Fatalf("AppendExpected on a 409 = %v, want *ConflictError expected 4 actual 6", err)
	}
}

// TestDialsThroughOptions: every connection goes through Options.Dial, so
// the chaos layer's proxies see the traffic.
func TestDialsThroughOptions(t *testing.T) {
	var dials atomic.Int32
	var nd net.Dialer
	opts := drivers.Options{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nd.DialContext(ctx, network, addr)
	}}
	d := openBare(t, &bareFront{cut: 1}, "", opts)
	if _, err := d.Append(context.Background(), []drivers.Event{{Key: "a", Seq: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Head(context.Background()); err != nil {
		t.Fatal(err)
	}
	if dials.Load() == 0 {
		t.Fatal("no connection went through Options.Dial")
	}
	// A dial hook that refuses makes every request fail.
	opts.Dial = func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("partitioned") }
	srv := httptest.NewServer(&bareFront{})
	defer srv.Close()
	if _, err := Open(context.Background(), srv.URL+"/streams/{key}", opts); err == nil {
		t.Fatal("Open through a refusing dial hook succeeded: traffic bypassed Options.Dial")
	}
}
