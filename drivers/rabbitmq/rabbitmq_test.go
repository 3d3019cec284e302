package rabbitmq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// The machine's RabbitMQ (guest/guest); streams need the rabbitmq_stream
// plugin (`rabbitmq-plugins enable rabbitmq_stream`, .ci/services does it).
const (
	machineAMQP   = "127.0.0.1:5672"
	machineStream = "127.0.0.1:5552"
	machineDSN    = "amqp://guest:guest@127.0.0.1:5672/"
)

// uniqueQueue names a fresh queue or stream, so runs never collide.
func uniqueQueue() string {
	var b [4]byte
	rand.Read(b[:])
	return "evbtest-" + hex.EncodeToString(b[:])
}

// openFresh opens a driver on a fresh queue and deletes what it created
// in Cleanup (Reset on a driver opened just for that, then the deletes).
func openFresh(t testing.TB, params string) drivers.Driver {
	t.Helper()
	return openFreshAt(t, machineDSN, params, drivers.Options{})
}

// openFreshAt is openFresh on base (a DSN ending in "/", e.g. amqps://
// through a TLS proxy) with opts.
func openFreshAt(t testing.TB, base, params string, opts drivers.Options) drivers.Driver {
	t.Helper()
	dsn := base + "?queue=" + uniqueQueue() + params
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		removeAll(t, dsn)
	})
	return d
}

// removeAll deletes the queues, exchanges or stream dsn names.
func removeAll(t testing.TB, dsn string) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		t.Error(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if cfg.Type == TypeStream {
		s, err := openStream(ctx, cfg, drivers.Options{})
		if err == nil {
			err = s.env.DeleteStream(cfg.Queue)
			s.Close()
		}
		if err != nil {
			t.Logf("cleanup of stream %s: %v", cfg.Queue, err)
		}
		return
	}
	q := &queueDriver{cfg: cfg, head: headFor(cfg)}
	if q.conn, err = q.dial(ctx); err == nil {
		err = q.deleteAll()
		q.conn.Close()
	}
	if err != nil {
		t.Logf("cleanup of queue %s: %v", cfg.Queue, err)
	}
}

func TestConformanceQuorum(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	drivertest.RunNoReplay(t, func(t *testing.T) drivers.Driver { return openFresh(t, "&type=quorum") })
}

func TestConformanceClassic(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	drivertest.RunNoReplay(t, func(t *testing.T) drivers.Driver { return openFresh(t, "&type=classic&dead_letter=false") })
}

func TestConformanceStream(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq stream plugin (rabbitmq-plugins enable rabbitmq_stream)", machineStream)
	drivertest.Run(t, func(t *testing.T) drivers.Driver { return openFresh(t, "&type=stream") })
}

// TestTwoSubscribersEachGetEverything: with subscribers=2 two concurrent
// subscriptions (two projectors) each receive every event, and a third
// is refused with the parameter to raise.
func TestTwoSubscribersEachGetEverything(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	d := openFresh(t, "&subscribers=2")
	evs := drivertest.Events(40, 4)
	if _, err := d.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	counts := make(chan int, 2)
	started := make(chan struct{}, 2)
	for i := 0; i < 2; i++ {
		go func() {
			n := 0
			sctx, scancel := context.WithCancel(ctx)
			defer scancel()
			started <- struct{}{}
			_ = d.Subscribe(sctx, nil, func(b []drivers.Delivered) error {
				if n += len(b); n >= len(evs) {
					time.Sleep(200 * time.Millisecond) // hold the slot while the third tries
					scancel()
				}
				return nil
			})
			counts <- n
		}()
	}
	<-started
	<-started
	time.Sleep(100 * time.Millisecond)
	err := d.Subscribe(ctx, nil, func([]drivers.Delivered) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "subscribers=3") {
		t.Errorf("third concurrent Subscribe: %v; want a refusal naming subscribers=3", err)
	}
	for i := 0; i < 2; i++ {
		if n := <-counts; n != len(evs) {
			t.Errorf("subscription %d got %d events, want %d", i, n, len(evs))
		}
	}
}

// TestQueueDialsThroughOptions: every AMQP connection goes through
// Options.Dial, so chaos proxies can cut it; type=stream refuses a dialer.
func TestQueueDialsThroughOptions(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	var p drivertest.Partition
	q := uniqueQueue()
	dsn := machineDSN + "?queue=" + q
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, drivers.Options{Dial: p.Dial})
	if err != nil {
		t.Fatal(err)
	}
	defer removeAll(t, dsn)
	defer d.Close()
	if _, err := d.Append(ctx, drivertest.Events(3, 1)); err != nil {
		t.Fatal(err)
	}
	if p.Dials() == 0 {
		t.Fatal("the driver connected without Options.Dial")
	}
	_, err = Open(ctx, dsn+"&type=stream", drivers.Options{Dial: p.Dial})
	if !errors.Is(err, errNoDialer) {
		t.Fatalf("type=stream with a dialer: %v; want errNoDialer", err)
	}
}

// TestQueueRefusesLeftovers: a queue holding another run's messages is
// refused without Reset and emptied with it.
func TestQueueRefusesLeftovers(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	dsn := machineDSN + "?queue=" + uniqueQueue()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer removeAll(t, dsn)
	if _, err := d.Append(ctx, drivertest.Events(5, 1)); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := Open(ctx, dsn, drivers.Options{}); err == nil || !strings.Contains(err.Error(), "--reset") {
		t.Fatalf("reopen with 5 leftover messages: %v; want a refusal naming --reset", err)
	}
	r, err := Open(ctx, dsn, drivers.Options{Reset: true})
	if err != nil {
		t.Fatalf("reopen with Reset: %v", err)
	}
	defer r.Close()
	if h, _ := r.Head(ctx); h.Total() != 0 {
		t.Errorf("head after reset = %v, want 0", h)
	}
}

// TestStreamPortClosed: a stream DSN whose port refuses names the command
// that enables the plugin.
func TestStreamPortClosed(t *testing.T) {
	addr := drivertest.ClosedAddr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Open(ctx, "amqp://guest:s3cretpw@127.0.0.1:5672/?type=stream&stream_port="+port, drivers.Options{})
	if err == nil || !strings.Contains(err.Error(), "rabbitmq-plugins enable rabbitmq_stream") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("stream port closed: %v; want one line naming rabbitmq-plugins enable rabbitmq_stream", err)
	}
	if strings.Contains(err.Error(), "s3cretpw") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

// TestRebuildDeclaredUnsupported: queue types say they cannot replay,
// streams do not.
func TestRebuildDeclaredUnsupported(t *testing.T) {
	q := &queueDriver{cfg: Config{Type: TypeQuorum}}
	if err := drivers.CheckReplay(q); !errors.Is(err, drivers.ErrUnsupported) || !strings.Contains(err.Error(), "type=stream") {
		t.Errorf("quorum CheckReplay = %v; want ErrUnsupported pointing to type=stream", err)
	}
	if err := drivers.CheckReplay(&streamDriver{}); err != nil {
		t.Errorf("stream CheckReplay = %v, want nil", err)
	}
}

// TestStreamFindsItsEnd: a process opening a stream that already holds
// events (no Reset) finds its end, so Head and positions stay true.
func TestStreamFindsItsEnd(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq stream plugin (rabbitmq-plugins enable rabbitmq_stream)", machineStream)
	dsn := machineDSN + "?type=stream&queue=" + uniqueQueue()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer removeAll(t, dsn)
	if _, err := d.Append(ctx, drivertest.Events(10, 2)); err != nil {
		t.Fatal(err)
	}
	d.Close()
	cfg, _ := ParseDSN(dsn)
	headsMu.Lock()
	delete(heads, cfg.Type+"|"+cfg.Addr+"|"+cfg.VHost+"|"+cfg.Queue) // as a new process
	headsMu.Unlock()
	d2, err := Open(ctx, dsn, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if h, _ := d2.Head(ctx); h[0] != 10 {
		t.Fatalf("head of a stream with 10 events, opened afresh = %v, want 10", h)
	}
	pos, err := d2.Append(ctx, drivertest.Events(1, 1))
	if err != nil || pos[0].Offset != 10 {
		t.Fatalf("next append at %v (%v), want offset 10", pos, err)
	}
}
