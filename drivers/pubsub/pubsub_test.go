package pubsub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// startFake runs pstest in the test process on a random 127.0.0.1 port.
func startFake(t testing.TB) string {
	t.Helper()
	srv := pstest.NewServerWithAddress("127.0.0.1:0")
	t.Cleanup(func() { srv.Close() })
	return srv.Addr
}

// openFresh opens a driver on a fresh topic of the fake.
func openFresh(t testing.TB, addr, params string) *Driver {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	dsn := "pubsub://evbench-test/t" + hex.EncodeToString(b[:]) + "?emulator=true&publish_delay=1ms&endpoint=" + addr + params
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.drop(ctx)
		d.Close()
	})
	return d
}

func TestConformancePstest(t *testing.T) {
	addr := startFake(t)
	drivertest.RunQueue(t, func(t *testing.T) drivers.Driver { return openFresh(t, addr, "") })
}

// TestEachSubscriptionGetsEveryEvent: two concurrent subscribers (two
// projectors) each receive every event; a third finds none free.
func TestEachSubscriptionGetsEveryEvent(t *testing.T) {
	d := openFresh(t, startFake(t), "&subscriptions=2")
	evs := drivertest.Events(40, 8)
	if _, err := d.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	counts := make(chan int, 2)
	started := make(chan struct{}, 2)
	for i := 0; i < 2; i++ {
		go func() {
			n := 0
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			first := true
			_ = d.Subscribe(ctx, nil, func(b []drivers.Delivered) error {
				if first {
					started <- struct{}{}
					first = false
				}
				if n += len(b); n >= len(evs) {
					cancel()
				}
				return nil
			})
			counts <- n
		}()
	}
	<-started
	<-started
	err := d.Subscribe(context.Background(), nil, func([]drivers.Delivered) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "subscriptions=N") {
		t.Errorf("third Subscribe with 2 subscriptions: %v; want an error naming subscriptions=N", err)
	}
	for i := 0; i < 2; i++ {
		if n := <-counts; n != len(evs) {
			t.Errorf("subscription %d got %d events, want %d", i, n, len(evs))
		}
	}
}

// TestDeclarations: the run is labelled emulated, replay is declared
// impossible, and durability says the emulator keeps nothing.
func TestDeclarations(t *testing.T) {
	d := openFresh(t, startFake(t), "")
	if em, what := drivers.IsEmulated(d); !em || !strings.Contains(what, "emulator") {
		t.Errorf("IsEmulated = %v, %q; want true naming the emulator", em, what)
	}
	if err := drivers.CheckReplay(d); !errors.Is(err, drivers.ErrUnsupported) {
		t.Errorf("CheckReplay = %v; want ErrUnsupported with a reason", err)
	}
	dur, err := d.Durability(context.Background())
	if err != nil || dur.AckAfterFsync != drivers.AckAfterFsyncFalse {
		t.Errorf("Durability = %+v, %v; want ack_after_fsync false on an emulator", dur, err)
	}
	real := &Driver{cfg: Config{Project: "p-123456", Topic: "top"}}
	if em, _ := real.Emulated(); em {
		t.Error("a driver for the service reports emulated")
	}
	if dur, _ := real.Durability(context.Background()); dur.AckAfterFsync != drivers.AckAfterFsyncUnknown {
		t.Errorf("service durability %+v; want unknown (not exposed)", dur)
	}
}

// TestExistingUnorderedSubscriptionRefused: a subscription created without
// message ordering cannot be fixed later; Open says so.
func TestExistingUnorderedSubscriptionRefused(t *testing.T) {
	addr := startFake(t)
	d := openFresh(t, addr, "&subscription_prefix=unord-")
	ctx := context.Background()
	d.drop(ctx)
	if _, err := d.client.TopicAdminClient.CreateTopic(ctx, &pubsubpbTopic{Name: d.topicName()}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpbSubscription{Name: d.subName(0), Topic: d.topicName()}); err != nil {
		t.Fatal(err)
	}
	err := d.ensure(ctx)
	if err == nil || !strings.Contains(err.Error(), "without message ordering") {
		t.Fatalf("ensure over an unordered subscription: %v; want a refusal", err)
	}
}

func TestEmbedDSNIsLabelled(t *testing.T) {
	e, err := Embed(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cfg, err := ParseDSN(e.DSN())
	if err != nil || !cfg.Emulator {
		t.Fatalf("embedded DSN %q: %+v, %v; want emulator=true", e.DSN(), cfg, err)
	}
	if !strings.Contains(e.Describe(), "emulated") {
		t.Errorf("Describe %q does not say emulated", e.Describe())
	}
}

func TestCheckConsumers(t *testing.T) {
	if err := CheckConsumers("pubsub://my-project/evb", 1); err != nil {
		t.Errorf("1 projector, 1 subscription: %v", err)
	}
	err := CheckConsumers("pubsub://my-project/evb", 3)
	if err == nil || !strings.Contains(err.Error(), "subscriptions=3") {
		t.Errorf("3 projectors, 1 subscription: %v; want the fix subscriptions=3", err)
	}
}
