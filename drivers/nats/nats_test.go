package nats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// machineServer is the JetStream server this machine runs for tests.
const machineServer = "127.0.0.1:4222"

// startServer runs the embedded server with SyncAlways. With the default
// sync policy, creating and deleting a dozen file-storage streams in quick
// succession on one server (what the conformance suite does) intermittently
// failed with "error creating store for stream" (err_code 10049), about one
// run in three here; evbench itself creates one stream per run. The default
// mode is exercised by TestEmbedDefaultSync and by the runner's tests.
func startServer(t testing.TB) *EmbeddedServer {
	t.Helper()
	e, err := EmbedSyncAlways(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e.(*EmbeddedServer)
}

// uniqueParams names a fresh stream and subject prefix, so parallel runs on
// a shared server never collide.
func uniqueParams() string {
	var b [4]byte
	rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return "?stream=EVBENCH_TEST_" + strings.ToUpper(s) + "&subjects=evbtest." + s + ".>"
}

// openFresh opens a driver on a fresh stream and deletes it in Cleanup.
func openFresh(t testing.TB, base, params string) *Driver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, base+uniqueParams()+params, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.js.DeleteStream(ctx, d.cfg.Stream)
		d.Close()
	})
	return d
}

func TestConformanceEmbedded(t *testing.T) {
	e := startServer(t)
	drivertest.Run(t, func(t *testing.T) drivers.Driver { return openFresh(t, e.DSN(), "") })
}

func TestConformanceEmbeddedDurable(t *testing.T) {
	e := startServer(t)
	drivertest.Run(t, func(t *testing.T) drivers.Driver { return openFresh(t, e.DSN(), "&consumer=durable&storage=memory") })
}

func TestConformanceMachineServer(t *testing.T) {
	drivertest.RequireService(t, "nats", machineServer)
	drivertest.Run(t, func(t *testing.T) drivers.Driver { return openFresh(t, "nats://"+machineServer, "") })
}

func TestRegistered(t *testing.T) {
	r, err := drivers.Lookup("nats")
	if err != nil {
		t.Fatal(err)
	}
	if r.Embed == nil || r.DSNExample != "nats://127.0.0.1:4222?stream=EVBENCH" {
		t.Fatalf("registration incomplete: %+v", r)
	}
	if r.CheckDSN == nil {
		t.Fatal("nats registers no CheckDSN")
	}
	if err := r.CheckDSN("nats://bob:s3cret@127.0.0.1?stream=X"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("CheckDSN of a DSN without port: %v; want an error without the password", err)
	}
}

// TestDurableSubscriptionsAreIndependent: two projectors in consumer=durable
// mode each receive every event, and their consumers are deleted after.
func TestDurableSubscriptionsAreIndependent(t *testing.T) {
	e := startServer(t)
	d := openFresh(t, e.DSN(), "&consumer=durable")
	evs := drivertest.Events(40, 8)
	if _, err := d.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	counts := make(chan int, 2)
	for i := 0; i < 2; i++ {
		go func() {
			n := 0
			sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer scancel()
			_ = d.Subscribe(sctx, nil, func(b []drivers.Delivered) error {
				if n += len(b); n >= len(evs) {
					scancel()
				}
				return nil
			})
			counts <- n
		}()
	}
	for i := 0; i < 2; i++ {
		if n := <-counts; n != len(evs) {
			t.Errorf("subscription %d got %d events, want %d", i, n, len(evs))
		}
	}
	s, err := d.js.Stream(context.Background(), d.cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Consumers != 0 {
		t.Errorf("%d durable consumers left behind after Subscribe returned", info.State.Consumers)
	}
}

// TestEmbedDefaultSync: the embedded default (server's sync policy) takes
// appends and delivers them, and says which mode it runs in.
func TestEmbedDefaultSync(t *testing.T) {
	e, err := Embed(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !strings.Contains(e.Describe(), "default sync") {
		t.Fatalf("Describe() = %q: must state the sync mode", e.Describe())
	}
	d := openFresh(t, e.DSN(), "")
	evs := drivertest.Events(20, 4)
	pos, err := d.Append(context.Background(), evs)
	if err != nil || len(pos) != len(evs) {
		t.Fatalf("append: %v (%d positions)", err, len(pos))
	}
	if h, err := d.Head(context.Background()); err != nil || h.Total() != int64(len(evs)) {
		t.Fatalf("head %v, %v; want %d", h, err, len(evs))
	}
}
