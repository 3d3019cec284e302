package memory

import (
	"context"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestConformance(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) drivers.Driver {
		d := New()
		t.Cleanup(func() { d.Close() })
		return d
	})
}

func TestEmbeddedStoresAreIsolated(t *testing.T) {
	ctx := context.Background()
	reg, err := drivers.Lookup("memory")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := reg.Embed(ctx, "")
	b, _ := reg.Embed(ctx, "")
	defer a.Close()
	defer b.Close()
	if a.DSN() == b.DSN() {
		t.Fatalf("two embedded stores share DSN %s", a.DSN())
	}
	da, err := reg.Open(ctx, a.DSN(), drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := da.Append(ctx, drivertest.Events(3, 1)); err != nil {
		t.Fatal(err)
	}
	db, _ := reg.Open(ctx, b.DSN(), drivers.Options{})
	if h, _ := db.Head(ctx); h.Total() != 0 {
		t.Fatalf("store b sees %d events appended to store a", h.Total())
	}
	// A second connection to the same DSN sees the same log (producer and
	// consumer connections of one run).
	da2, _ := reg.Open(ctx, a.DSN(), drivers.Options{})
	if h, _ := da2.Head(ctx); h.Total() != 3 {
		t.Fatalf("second connection sees head %d, want 3", h.Total())
	}
}

func TestOpenRejectsParameters(t *testing.T) {
	reg, _ := drivers.Lookup("memory")
	if _, err := reg.Open(context.Background(), "memory://?x=1", drivers.Options{}); err == nil {
		t.Fatal("want an error for an unknown parameter")
	}
	if _, err := reg.Open(context.Background(), "postgres://x", drivers.Options{}); err == nil {
		t.Fatal("want an error for a foreign scheme")
	}
}
