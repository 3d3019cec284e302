package refstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func embed(t *testing.T) *Embedded {
	t.Helper()
	e, err := Embed(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e.(*Embedded)
}

func open(t *testing.T, dsn string) *Driver {
	t.Helper()
	d, err := Open(context.Background(), dsn, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d.(*Driver)
}

func TestConformance(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) drivers.Driver {
		return open(t, embed(t).DSN())
	})
}

func TestRegistered(t *testing.T) {
	r, err := drivers.Lookup("refstore")
	if err != nil || r.Embed == nil {
		t.Fatalf("registration: %v", err)
	}
	e, err := r.Embed(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.DSN(), "refstore://127.0.0.1:") || !strings.Contains(e.Describe(), "sync=always") {
		t.Fatalf("dsn %q describe %q", e.DSN(), e.Describe())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal("second close:", err)
	}
}

func TestDSNErrors(t *testing.T) {
	cases := []struct{ dsn, want string }{
		{"postgres://x", "want refstore://host:port"},
		{"refstore://127.0.0.1", "needs a port"},
		{"refstore://127.0.0.1:1?bogus=1", `"bogus" is unknown; known: conns`},
		{"refstore://127.0.0.1:1?conns=0", "conns"},
		{"refstore://127.0.0.1:1?dial_timeout=x", "dial_timeout"},
		{"refstore://127.0.0.1:1/x", "unexpected path"},
	}
	for _, c := range cases {
		_, err := Open(context.Background(), c.dsn, drivers.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.dsn, err, c.want)
		}
	}
}

func TestUnreachableNamesHost(t *testing.T) {
	addr := drivertest.ClosedAddr(t)
	_, err := Open(context.Background(), "refstore://"+addr+"?dial_timeout=1s", drivers.Options{})
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("got %v", err)
	}
}

func TestUsesDialer(t *testing.T) {
	e := embed(t)
	var mu sync.Mutex
	dials := 0
	opts := drivers.Options{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dials++
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	d, err := Open(context.Background(), e.DSN(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d.Subscribe(ctx, nil, func([]drivers.Delivered) error { return nil })
	if dials < 1 {
		t.Fatal("custom dialer not used")
	}
}

// TestAsyncPipelineAndServerLoss keeps many appends in flight on one
// connection, then kills the server: every pending append must fail, none
// may hang, and a restarted server is reached again.
func TestAsyncPipelineAndServerLoss(t *testing.T) {
	e := embed(t)
	d := open(t, e.DSN())
	const n = 2000
	var wg sync.WaitGroup
	wg.Add(n)
	var mu sync.Mutex
	seen := map[int64]bool{}
	all := drivertest.Events(n, 10)
	for i := 0; i < n; i++ {
		evs := all[i : i+1]
		evs[0].Payload = bytes.Repeat([]byte{'x'}, 256)
		d.AppendAsync(context.Background(), evs, func(p []drivers.Position, err error) {
			defer wg.Done()
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			seen[p[0].Offset] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d distinct positions, want %d", len(seen), n)
	}
	// Server loss: pending and later appends fail promptly.
	e.Server.Close()
	done := make(chan error, 1)
	go func() {
		_, err := d.Append(context.Background(), drivertest.Events(1, 1))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("append after server loss succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("append hung after server loss")
	}
	h, err := d.Head(context.Background())
	if err == nil {
		t.Fatalf("head after server loss: %v", h)
	}
}

func TestSubscribeReturnsErrorOnBreak(t *testing.T) {
	e := embed(t)
	d := open(t, e.DSN())
	if _, err := d.Append(context.Background(), drivertest.Events(3, 1)); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	got := make(chan int, 10)
	go func() {
		errc <- d.Subscribe(context.Background(), nil, func(b []drivers.Delivered) error { got <- len(b); return nil })
	}()
	<-got
	e.Server.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("want an error when the connection breaks")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("subscribe hung")
	}
}

func TestDeliverErrorStops(t *testing.T) {
	e := embed(t)
	d := open(t, e.DSN())
	d.Append(context.Background(), drivertest.Events(2, 1))
	boom := errors.New("boom")
	err := d.Subscribe(context.Background(), drivers.Cursor{0: 1}, func(b []drivers.Delivered) error {
		if b[0].Position.Offset != 1 {
			return fmt.Errorf("first offset %d", b[0].Position.Offset)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
}
