package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// machineBroker is the Mosquitto this machine runs for tests.
const machineBroker = "127.0.0.1:1883"

// freshDSN names a topic prefix of its own, so tests never see each other's
// messages nor any other client's. A broker keeps nothing once the last
// subscription of a topic is gone, so there is nothing to delete after.
func freshDSN(params string) string {
	var b [4]byte
	rand.Read(b[:])
	return "mqtt://" + machineBroker + "/?topic=evbtest/" + hex.EncodeToString(b[:]) + params
}

func openFresh(t testing.TB, dsn string, opts drivers.Options) *Driver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestConformanceMachineBroker(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	drivertest.RunLiveOnly(t, func(t *testing.T) drivers.Driver { return openFresh(t, freshDSN(""), drivers.Options{}) })
}

func TestConformanceQoS2OneLane(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	drivertest.RunLiveOnly(t, func(t *testing.T) drivers.Driver {
		return openFresh(t, freshDSN("&qos=2&lanes=1"), drivers.Options{})
	})
}

// TestSeparateConnectionsShareHead: the runner's producer and control are
// two drivers; the control's Head must count the producer's PUBACKs, or
// the drain and the lag sampler would read 0.
func TestSeparateConnectionsShareHead(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	dsn := freshDSN("")
	prod, control := openFresh(t, dsn, drivers.Options{Role: "producer"}), openFresh(t, dsn, drivers.Options{Role: "control"})
	if _, err := prod.Append(context.Background(), drivertest.Events(30, 5)); err != nil {
		t.Fatal(err)
	}
	h, err := control.Head(context.Background())
	if err != nil || h.Total() != 30 {
		t.Fatalf("control Head = %v, %v; want 30 events over the lanes", h, err)
	}
	other := openFresh(t, freshDSN(""), drivers.Options{})
	if h, _ := other.Head(context.Background()); h.Total() != 0 {
		t.Fatalf("another prefix's Head = %v, want empty", h)
	}
}

// TestPlainSubscriptionsEachGetAll and TestSharedSubscriptionSplits: two
// plain subscriptions each receive every event; two members of one share
// group receive them once between them.
func TestPlainSubscriptionsEachGetAll(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	got := twoSubscribers(t, freshDSN(""))
	if got[0] != 40 || got[1] != 40 {
		t.Fatalf("plain subscriptions got %v events, want 40 each", got)
	}
}

func TestSharedSubscriptionSplits(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	got := twoSubscribers(t, freshDSN("&shared=g"+strings.ReplaceAll(t.Name(), "/", "")))
	if got[0]+got[1] != 40 || got[0] == 0 || got[1] == 0 {
		t.Fatalf("share group members got %v events, want 40 split between both", got)
	}
}

// twoSubscribers subscribes twice, waits until both are live, appends 40
// events and returns what each received.
func twoSubscribers(t *testing.T, dsn string) [2]int {
	t.Helper()
	d := openFresh(t, dsn, drivers.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got [2]int
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = d.Subscribe(ctx, nil, func(b []drivers.Delivered) error {
				mu.Lock()
				got[i] += len(b)
				mu.Unlock()
				return nil
			})
		}()
	}
	time.Sleep(300 * time.Millisecond) // both SUBACKs (a live-edge subscription has no other signal)
	evs := drivertest.Events(40, 8)
	if _, err := d.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	wg.Wait()
	return got
}

// TestUsesDialer: every connection goes through Options.Dial (publisher,
// subscriber, durability probe), so chaos faults reach it; and a partition
// fails an Append within ack_timeout instead of hanging.
func TestUsesDialer(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	var p drivertest.Partition
	d := openFresh(t, freshDSN("&ack_timeout=500ms&conns=2"), drivers.Options{Dial: p.Dial})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Subscribe(ctx, nil, func([]drivers.Delivered) error { return nil })
	if _, err := d.Durability(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := p.Dials(); n != 4 {
		t.Fatalf("%d dials through Options.Dial, want 4 (2 publishers, subscriber, durability)", n)
	}
	p.Cut(true)
	actx, acancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer acancel()
	start := time.Now()
	if _, err := d.Append(actx, drivertest.Events(1, 1)); err == nil {
		t.Fatal("Append through a cut partition succeeded")
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Append through a cut partition took %v, want about ack_timeout (500ms)", el)
	}
}

// TestUnreachableBroker: Open fails within the connect budget, naming the
// broker.
func TestUnreachableBroker(t *testing.T) {
	addr := drivertest.ClosedAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	_, err := Open(ctx, "mqtt://"+addr, drivers.Options{})
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Open on a closed port: %v, want an error naming %s", err, addr)
	}
}

// TestMachineBrokerDurability: the machine's Mosquitto is identified and
// labelled false (PUBACK before any fsync), with its config read.
func TestMachineBrokerDurability(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	d := openFresh(t, freshDSN(""), drivers.Options{})
	dur, err := d.Durability(context.Background())
	drivertest.CheckDurability(t, "mosquitto", dur, err)
	if dur.AckAfterFsync != drivers.AckAfterFsyncFalse || !strings.Contains(dur.Detail, "mosquitto") {
		t.Fatalf("durability %+v, want false for Mosquitto", dur)
	}
}

func TestRegistered(t *testing.T) {
	r, err := drivers.Lookup("mqtt")
	if err != nil {
		t.Fatal(err)
	}
	if r.CheckDSN == nil || r.DSNExample != dsnExample || r.Embed != nil {
		t.Fatalf("registration: %+v", r)
	}
	if err := r.CheckDSN("mqtt://bob:s3cret@127.0.0.1:1883/?bad=1"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("CheckDSN of an unknown parameter: %v; want an error without the password", err)
	}
	if !errors.Is(ErrNoReplay, drivers.ErrUnsupported) {
		t.Fatal("ErrNoReplay does not wrap drivers.ErrUnsupported")
	}
}
