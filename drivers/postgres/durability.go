package postgres

import (
	"context"
	"fmt"

	"github.com/evbench/evbench/drivers"
)

// durabilitySource names the settings the label is read from.
const durabilitySource = "SHOW fsync, synchronous_commit, synchronous_standby_names, wal_sync_method (an append pool session)"

// Durability asks the server, on a session of the append pool (so with the
// synchronous_commit the DSN sets), what a COMMIT waits for.
func (d *Driver) Durability(ctx context.Context) (drivers.Durability, error) {
	if d.closed.Load() {
		return drivers.Durability{}, fmt.Errorf("postgres: durability: driver closed")
	}
	var fsync, syncCommit, standbys, walSync string
	err := d.pool.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit'),
		current_setting('synchronous_standby_names'), current_setting('wal_sync_method')`).Scan(&fsync, &syncCommit, &standbys, &walSync)
	if err != nil {
		return drivers.Durability{}, fmt.Errorf("postgres: durability: %w", err)
	}
	return pgDurability(fsync, syncCommit, standbys, walSync), nil
}

// pgDurability decides the label from the server's settings. Replication
// is "none (single copy)", as every driver spells it, when COMMIT waits
// for no standby.
//
// COMMIT flushes the WAL locally before it returns under every
// synchronous_commit but off: local, on, remote_write and remote_apply all
// wait for the local flush first (they differ only in what they also wait
// for from synchronous standbys: nothing, their flush, their write to the
// OS without flush, their replay). off returns before the flush (the WAL
// writer flushes within 3 x wal_writer_delay), and fsync=off never forces
// the WAL to disk at all, so both are false. Without
// synchronous_standby_names no standby is waited for, whatever the mode.
func pgDurability(fsync, syncCommit, standbys, walSync string) drivers.Durability {
	d := drivers.Durability{Source: durabilitySource}
	settings := fmt.Sprintf("fsync=%s synchronous_commit=%s wal_sync_method=%s", fsync, syncCommit, walSync)
	switch {
	case fsync != "on":
		d.AckAfterFsync = drivers.AckAfterFsyncFalse
		d.Detail = settings + ": fsync is off, the server never forces the WAL to disk"
	case syncCommit == "off":
		d.AckAfterFsync = drivers.AckAfterFsyncFalse
		d.Detail = settings + ": COMMIT returns before the WAL is flushed (the WAL writer flushes within 3 x wal_writer_delay)"
	case syncCommit == "local" || syncCommit == "on" || syncCommit == "remote_write" || syncCommit == "remote_apply":
		d.AckAfterFsync = drivers.AckAfterFsyncTrue
		d.Detail = settings + ": COMMIT returns after the WAL is flushed locally"
	default:
		d.AckAfterFsync = drivers.AckAfterFsyncUnknown
		d.Detail = settings + ": unknown synchronous_commit value"
	}
	switch {
	case standbys == "":
		d.Replication = "none (single copy)"
		d.Detail += "; synchronous_standby_names is empty: COMMIT waits for no standby"
	case syncCommit == "off" || syncCommit == "local":
		d.Replication = fmt.Sprintf("none waited for (synchronous_commit=%s; standbys %q replicate asynchronously)", syncCommit, standbys)
	case syncCommit == "remote_write":
		d.Replication = fmt.Sprintf("synchronous standbys %q: COMMIT waits until they wrote the WAL to their OS (not flushed)", standbys)
	case syncCommit == "on":
		d.Replication = fmt.Sprintf("synchronous standbys %q: COMMIT waits until they flushed the WAL", standbys)
	case syncCommit == "remote_apply":
		d.Replication = fmt.Sprintf("synchronous standbys %q: COMMIT waits until they applied the WAL", standbys)
	default:
		d.Replication = fmt.Sprintf("synchronous standbys %q, synchronous_commit=%s", standbys, syncCommit)
	}
	return d
}

var _ drivers.DurabilityReporter = (*Driver)(nil)
