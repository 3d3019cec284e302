package kafka

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// startCluster starts an embedded kfake cluster closed with the test.
func startCluster(t testing.TB) *EmbeddedCluster {
	t.Helper()
	e, err := Embed(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e.(*EmbeddedCluster)
}

func randomTopic() string {
	var b [4]byte
	rand.Read(b[:])
	return "evbench-test-" + hex.EncodeToString(b[:])
}

// openFresh opens a driver on a new random topic of the cluster.
func openFresh(t testing.TB, e *EmbeddedCluster, params string) *Driver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, e.DSN()+"?topic="+randomTopic()+params, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestConformanceEmbedded(t *testing.T) {
	e := startCluster(t)
	drivertest.Run(t, func(t *testing.T) drivers.Driver { return openFresh(t, e, "&partitions=4") })
}

func TestConformanceGroupConsumer(t *testing.T) {
	e := startCluster(t)
	drivertest.Run(t, func(t *testing.T) drivers.Driver {
		return openFresh(t, e, "&partitions=3&consumer=group&group="+randomTopic())
	})
}

func TestRegistered(t *testing.T) {
	r, err := drivers.Lookup("kafka")
	if err != nil {
		t.Fatal(err)
	}
	if r.Embed == nil || r.DSNExample != "kafka://127.0.0.1:9092?topic=evbench" {
		t.Fatalf("registration incomplete: %+v", r)
	}
}

func TestExistingTopicWithFewerPartitions(t *testing.T) {
	e := startCluster(t)
	topic := randomTopic()
	ctx := context.Background()
	d, err := Open(ctx, e.DSN()+"?partitions=2&topic="+topic, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err = Open(ctx, e.DSN()+"?partitions=6&topic="+topic, drivers.Options{})
	if err == nil {
		t.Fatal("opening a 2-partition topic with partitions=6 succeeded")
	}
	d, err = Open(ctx, e.DSN()+"?partitions=6&topic="+topic, drivers.Options{Reset: true})
	if err != nil {
		t.Fatalf("reset did not recreate with more partitions: %v", err)
	}
	defer d.Close()
	head, err := d.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(head) != 6 || head.Total() != 0 {
		t.Fatalf("head after reset = %v, want 6 empty partitions", head)
	}
}

func TestResetEmptiesTopic(t *testing.T) {
	e := startCluster(t)
	d := openFresh(t, e, "&partitions=3")
	ctx := context.Background()
	if _, err := d.Append(ctx, drivertest.Events(30, 5)); err != nil {
		t.Fatal(err)
	}
	if err := d.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	head, err := d.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.Total() != 0 {
		t.Fatalf("head after Reset = %v, want empty", head)
	}
	if _, err := d.Append(ctx, drivertest.Events(3, 1)); err != nil {
		t.Fatalf("append after Reset: %v", err)
	}
}

func TestSameKeySamePartition(t *testing.T) {
	e := startCluster(t)
	d := openFresh(t, e, "&partitions=8")
	pos, err := d.Append(context.Background(), drivertest.Events(40, 4))
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[int]int32{}
	for i, p := range pos {
		k := i % 4
		if prev, ok := byKey[k]; ok && prev != p.Partition {
			t.Fatalf("key-%d went to partitions %d and %d", k, prev, p.Partition)
		}
		byKey[k] = p.Partition
	}
}

// TestGroupSubscriptionsAreIndependent: two projectors in consumer=group
// mode each receive every event (a shared group would split partitions).
func TestGroupSubscriptionsAreIndependent(t *testing.T) {
	e := startCluster(t)
	d := openFresh(t, e, "&partitions=4&consumer=group")
	evs := drivertest.Events(40, 8)
	if _, err := d.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	counts := make(chan int, 2)
	for i := 0; i < 2; i++ {
		go func() {
			n := 0
			sctx, scancel := context.WithTimeout(ctx, 15*time.Second)
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
}
