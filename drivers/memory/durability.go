package memory

import (
	"context"

	"github.com/evbench/evbench/drivers"
)

// durability is the memory store's label: nothing ever reaches a disk.
var durability = drivers.Durability{
	AckAfterFsync: drivers.AckAfterFsyncFalse,
	Replication:   "none (single copy)",
	Detail:        "in-process memory log: no I/O at all, nothing survives the process",
	Source:        "driver (the store is in this process)",
}

// Durability is always false: the store is a slice in this process.
func (d *Driver) Durability(ctx context.Context) (drivers.Durability, error) {
	return durability, nil
}

// Durability of the embedded store is the driver's.
func (e embedded) Durability(ctx context.Context) (drivers.Durability, error) {
	return durability, nil
}

var (
	_ drivers.DurabilityReporter = (*Driver)(nil)
	_ drivers.DurabilityReporter = embedded{}
)
