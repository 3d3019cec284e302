package faulty

import (
	"context"
	"fmt"

	"github.com/evbench/evbench/drivers"
)

// Durability is always false: a faulty store is a memory store (no I/O)
// that breaks one promise on purpose.
func (d *Driver) Durability(ctx context.Context) (drivers.Durability, error) {
	return drivers.Durability{
		AckAfterFsync: drivers.AckAfterFsyncFalse,
		Replication:   "none (single copy)",
		Detail:        fmt.Sprintf("in-process memory store with fault=%s: no I/O at all, and acknowledged events may be lost on purpose", d.cfg.fault),
		Source:        "driver (the store is in this process)",
	}, nil
}

var _ drivers.DurabilityReporter = (*Driver)(nil)
