package refstore

import (
	"context"
	"fmt"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/wire"
)

// syncDurability is the label of a refstore running sync mode m.
func syncDurability(m engine.SyncMode, source string) drivers.Durability {
	d := drivers.Durability{Replication: "none (single copy)", Source: source}
	switch m {
	case engine.SyncAlways:
		d.AckAfterFsync = drivers.AckAfterFsyncTrue
		d.Detail = "sync=always: every commit group is fdatasync'd before its appends are acknowledged"
	case engine.SyncInterval:
		d.AckAfterFsync = drivers.AckAfterFsyncFalse
		d.Detail = "sync=interval: acknowledged after the write, fdatasync'd in the background (default every 100ms): a machine crash can lose the last interval"
	case engine.SyncNone:
		d.AckAfterFsync = drivers.AckAfterFsyncFalse
		d.Detail = "sync=none: never fdatasync'd before close: a machine crash can lose anything acknowledged"
	default:
		d.AckAfterFsync = drivers.AckAfterFsyncUnknown
		d.Detail = fmt.Sprintf("unknown sync mode %s", m)
	}
	return d
}

// Durability of a refstore reached over the network is unknown: the
// handshake (THelloOK: protocol version, max frame, max batch) does not
// carry the server's --sync mode, and the DSN has no parameter for it.
// An embedded store reports its own configuration (Embedded.Durability),
// which the harness prefers when it started the store.
func (d *Driver) Durability(ctx context.Context) (drivers.Durability, error) {
	v := wire.Version
	if pc, err := d.conn(ctx, d.slots[0], false); err == nil {
		v = int(pc.limits.Version)
	}
	return drivers.Durability{
		AckAfterFsync: drivers.AckAfterFsyncUnknown,
		Replication:   "none (single copy)",
		Detail: fmt.Sprintf("the server's --sync mode is not visible to clients (handshake protocol v%d carries no sync mode, the DSN has no sync parameter); "+
			"`evbench refstore serve` defaults to sync=always (fdatasync before ack), sync=interval|none ack before fdatasync", v),
		Source: "server handshake (no sync mode in it)",
	}, nil
}

// Durability of the embedded store is its engine's sync mode.
func (e *Embedded) Durability(ctx context.Context) (drivers.Durability, error) {
	return syncDurability(e.Log.Sync(), "embedded server configuration"), nil
}

var (
	_ drivers.DurabilityReporter = (*Driver)(nil)
	_ drivers.DurabilityReporter = (*Embedded)(nil)
)
