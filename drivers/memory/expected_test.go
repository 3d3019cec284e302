package memory

import (
	"context"
	"errors"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestExpectedVersion(t *testing.T) {
	drivertest.CheckExpectedVersion(t, func(t *testing.T) drivers.Driver {
		d := New()
		t.Cleanup(func() { d.Close() })
		return d
	})
}

// Plain appends move a stream's version too: the lazy count sees them.
func TestExpectedVersionCountsPlainAppends(t *testing.T) {
	ctx := context.Background()
	d := New()
	defer d.Close()
	if _, err := d.Append(ctx, drivertest.Events(4, 2)); err != nil { // key-0 and key-1, two each
		t.Fatal(err)
	}
	if v, _ := d.StreamVersion(ctx, "key-0"); v != 2 {
		t.Fatalf("StreamVersion(key-0) = %d after 2 plain appends, want 2", v)
	}
	_, err := d.AppendExpected(ctx, "key-1", 1, []drivers.Event{{Key: "key-1", Seq: 2}})
	if !errors.Is(err, drivers.ErrConflict) {
		t.Fatalf("AppendExpected(key-1 at 2, expected 1) = %v, want a conflict", err)
	}
}

func TestExpectedVersionRefusedOnSimulatedStore(t *testing.T) {
	d := NewSimulated(Capacity{EventsPerSec: 1000})
	defer d.Close()
	_, err := d.AppendExpected(context.Background(), "k", 0, []drivers.Event{{Key: "k", Seq: 1}})
	if !errors.Is(err, drivers.ErrUnsupported) {
		t.Fatalf("AppendExpected on a simulated store = %v, want ErrUnsupported", err)
	}
}
