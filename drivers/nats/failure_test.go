package nats

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestAppendFailsWhenServerStops(t *testing.T) {
	e, err := Embed(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int64
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	d, err := Open(context.Background(), e.DSN()+uniqueParams()+"&ack_timeout=2s", drivers.Options{Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if dials.Load() == 0 {
		t.Fatal("the driver never used opts.Dial")
	}
	if _, err := d.Append(context.Background(), drivertest.Events(4, 2)); err != nil {
		t.Fatalf("append before the stop: %v", err)
	}
	e.Close()
	errc := make(chan error, 1)
	go func() { _, err := d.Append(context.Background(), drivertest.Events(4, 2)); errc <- err }()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("append to a stopped server succeeded")
		}
		t.Logf("append failed: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("append to a stopped server hung for 15s")
	}
}

func TestSubscribeErrorsWhenConnectionLostForGood(t *testing.T) {
	e := startServer(t)
	d := openFresh(t, e.DSN(), "")
	errc := make(chan error, 1)
	go func() {
		errc <- d.Subscribe(context.Background(), nil, func([]drivers.Delivered) error { return nil })
	}()
	time.Sleep(200 * time.Millisecond)
	d.nc.Close() // what the client does once MaxReconnects is exhausted
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Subscribe returned nil after losing the connection")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Subscribe kept running on a closed connection")
	}
}

func TestOpenUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	_, err = Open(context.Background(), "nats://bob:s3cret@"+addr, drivers.Options{})
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error should name %s and hide the password: %v", addr, err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("Open took %s to fail", el)
	}
}

func TestExistingStreamConflicts(t *testing.T) {
	e := startServer(t)
	base := e.DSN() + "?stream=CONFLICT&subjects=conf.a.>"
	d, err := Open(context.Background(), base, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, tc := range []struct{ dsn, want string }{
		{base + "&storage=memory", "storage"},
		{e.DSN() + "?stream=CONFLICT&subjects=conf.b.>", "do not cover"},
	} {
		if _, err := Open(context.Background(), tc.dsn, drivers.Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s) = %v, want an error about %s", tc.dsn, err, tc.want)
		}
	}
	r, err := Open(context.Background(), base+"&storage=memory", drivers.Options{Reset: true})
	if err != nil {
		t.Fatalf("reset did not recreate the stream: %v", err)
	}
	r.Close()
}

func TestKeySanitisedRoundTrip(t *testing.T) {
	e := startServer(t)
	d := openFresh(t, e.DSN(), "")
	evs := drivertest.Events(3, 3)
	evs[0].Key, evs[1].Key = "order.17 *>", ""
	if _, err := d.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []drivers.Delivered
	_ = d.Subscribe(ctx, nil, func(b []drivers.Delivered) error {
		got = append(got, b...)
		if len(got) >= len(evs) {
			cancel()
		}
		return nil
	})
	if len(got) != len(evs) {
		t.Fatalf("got %d events, want %d", len(got), len(evs))
	}
	for i := range evs {
		if got[i].Key != evs[i].Key {
			t.Errorf("event %d key %q, want %q", i, got[i].Key, evs[i].Key)
		}
	}
}
