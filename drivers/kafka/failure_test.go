package kafka

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// TestAppendFailsWhenPartitioned checks the producer gives up instead of
// retrying forever (the idempotent producer's default).
func TestAppendFailsWhenPartitioned(t *testing.T) {
	t.Parallel() // mostly waiting: overlap with the other waiting tests
	e := startCluster(t)
	p := &drivertest.Partition{}
	d, err := Open(context.Background(), e.DSN()+"?partitions=2&delivery_timeout=2s&topic="+randomTopic(), drivers.Options{Dial: p.Dial})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Append(context.Background(), drivertest.Events(4, 2)); err != nil {
		t.Fatalf("append before the partition: %v", err)
	}
	if p.Dials() == 0 {
		t.Fatal("the driver never used opts.Dial")
	}
	p.Cut(true)
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		_, err := d.Append(context.Background(), drivertest.Events(4, 2)) // no deadline: the driver must bound it
		errc <- err
	}()
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

func TestAppendFailsWhenClusterStops(t *testing.T) {
	t.Parallel() // mostly waiting: overlap with the other waiting tests
	e, err := Embed(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(context.Background(), e.DSN()+"?partitions=2&delivery_timeout=2s&topic="+randomTopic(), drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	e.Close()
	errc := make(chan error, 1)
	go func() { _, err := d.Append(context.Background(), drivertest.Events(4, 2)); errc <- err }()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("append to a stopped cluster succeeded")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("append to a stopped cluster hung for 15s")
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel() // mostly waiting: overlap with the other waiting tests
	addr := drivertest.ClosedAddr(t)
	start := time.Now()
	_, err := Open(context.Background(), "kafka://"+addr, drivers.Options{})
	if err == nil {
		t.Fatal("Open of an unreachable broker succeeded")
	}
	if !strings.Contains(err.Error(), addr) {
		t.Fatalf("error does not name %s: %v", addr, err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("Open took %s to fail", el)
	}
}

func TestSubscribeErrorsWhenBrokersGoneForGood(t *testing.T) {
	oldPoll, oldLost := pollWindow, lostAfter
	pollWindow, lostAfter = 200*time.Millisecond, time.Second
	defer func() { pollWindow, lostAfter = oldPoll, oldLost }()
	e, err := Embed(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(context.Background(), e.DSN()+"?partitions=2&topic="+randomTopic(), drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	errc := make(chan error, 1)
	go func() {
		errc <- d.Subscribe(context.Background(), nil, func([]drivers.Delivered) error { return nil })
	}()
	time.Sleep(300 * time.Millisecond)
	e.Close()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("Subscribe returned %v, want an unreachable error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Subscribe kept running with every broker gone")
	}
}

// TestSubscribeRecoversAfterPartition checks a direct consumer rides out a
// short partition without loss or duplicates.
func TestSubscribeRecoversAfterPartition(t *testing.T) {
	t.Parallel() // mostly waiting: overlap with the other waiting tests
	e := startCluster(t)
	p := &drivertest.Partition{}
	dsn := e.DSN() + "?partitions=3&topic=" + randomTopic()
	w, err := Open(context.Background(), dsn, drivers.Options{}) // producer outside the partition
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	d, err := Open(context.Background(), dsn, drivers.Options{Dial: p.Dial})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
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
	time.Sleep(500 * time.Millisecond)
	p.Cut(true)
	if _, err := w.Append(context.Background(), evs[10:20]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	p.Cut(false)
	if _, err := w.Append(context.Background(), evs[20:]); err != nil {
		t.Fatal(err)
	}
	seen := map[[16]byte]int{}
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
