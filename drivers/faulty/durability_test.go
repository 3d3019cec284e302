package faulty

import (
	"context"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestDurabilityIsFalse(t *testing.T) {
	reg, err := drivers.Lookup("faulty")
	if err != nil {
		t.Fatal(err)
	}
	d, err := reg.Open(context.Background(), "faulty://durability?fault=lose", drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	dr, ok := d.(drivers.DurabilityReporter)
	if !ok {
		t.Fatalf("%T does not implement drivers.DurabilityReporter", d)
	}
	dur, err := dr.Durability(context.Background())
	drivertest.CheckDurability(t, "faulty", dur, err)
	if dur.AckAfterFsync != drivers.AckAfterFsyncFalse {
		t.Errorf("AckAfterFsync = %q, want false", dur.AckAfterFsync)
	}
}
