package memory

import (
	"context"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestDurabilityIsFalse(t *testing.T) {
	ctx := context.Background()
	d := New()
	defer d.Close()
	dur, err := d.Durability(ctx)
	drivertest.CheckDurability(t, "memory", dur, err)
	if dur.AckAfterFsync != drivers.AckAfterFsyncFalse {
		t.Errorf("AckAfterFsync = %q, want false", dur.AckAfterFsync)
	}
	reg, _ := drivers.Lookup("memory")
	emb, err := reg.Embed(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	er, ok := emb.(drivers.DurabilityReporter)
	if !ok {
		t.Fatalf("embedded memory store %T does not implement drivers.DurabilityReporter", emb)
	}
	dur, err = er.Durability(ctx)
	drivertest.CheckDurability(t, "memory embedded", dur, err)
}
