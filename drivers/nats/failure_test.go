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
	t.Parallel() // mostly waiting: overlap with the other waiting tests
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
	t.Parallel() // mostly waiting: overlap with the other waiting tests
	addr := drivertest.ClosedAddr(t)
	start := time.Now()
	_, err := Open(context.Background(), "nats://bob:s3cret@"+addr, drivers.Options{})
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

func TestAppendFailsWhenPartitioned(t *testing.T) {
	t.Parallel() // mostly waiting: overlap with the other waiting tests
	e := startServer(t)
	h := &drivertest.Partition{}
	d, err := Open(context.Background(), e.DSN()+uniqueParams()+"&ack_timeout=2s", drivers.Options{Dial: h.Dial})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Append(context.Background(), drivertest.Events(4, 2)); err != nil {
		t.Fatalf("append before the partition: %v", err)
	}
	h.Cut(true)
	start := time.Now()
	errc := make(chan error, 1)
	go func() { _, err := d.Append(context.Background(), drivertest.Events(4, 2)); errc <- err }()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("append through a partition succeeded")
		}
		t.Logf("append failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(15 * time.Second):
		t.Fatal("append through a partition hung for 15s")
	}
}

// TestSubscribeRecoversAfterPartition checks that an ordered consumer rides
// out a short partition (messages swallowed during it are re-fetched).
func TestSubscribeRecoversAfterPartition(t *testing.T) {
	t.Parallel() // mostly waiting: overlap with the other waiting tests
	e := startServer(t)
	h := &drivertest.Partition{}
	params := uniqueParams()
	d, err := Open(context.Background(), e.DSN()+params, drivers.Options{Dial: h.Dial})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	w, err := Open(context.Background(), e.DSN()+params, drivers.Options{}) // producer outside the partition
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	got := make(chan drivers.Delivered, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Subscribe(ctx, nil, func(b []drivers.Delivered) error {
		for _, ev := range b {
			got <- ev
		}
		return nil
	})
	evs := drivertest.Events(30, 3)
	if _, err := w.Append(context.Background(), evs[:10]); err != nil {
		t.Fatal(err)
	}
	// The subscription must be established before the cut: this test is
	// about riding out a partition, not about subscribing through one (on a
	// loaded machine the consumer's setup can take longer than the append).
	seen := map[[16]byte]int{}
	setup := time.After(30 * time.Second)
	for len(seen) < 10 {
		select {
		case ev := <-got:
			seen[ev.ID]++
		case <-setup:
			t.Fatalf("before the partition, %d of 10 events delivered within 30s", len(seen))
		}
	}
	h.Cut(true)
	if _, err := w.Append(context.Background(), evs[10:20]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	h.Cut(false)
	if _, err := w.Append(context.Background(), evs[20:]); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for len(seen) < len(evs) {
		select {
		case ev := <-got:
			seen[ev.ID]++
		case <-deadline:
			t.Fatalf("after the partition healed, %d of %d events delivered within 30s", len(seen), len(evs))
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %x delivered %d times", id, n)
		}
	}
}
