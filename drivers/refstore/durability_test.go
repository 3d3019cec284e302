package refstore

import (
	"context"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
	"github.com/evbench/evbench/drivers/refstore/engine"
)

func TestDurabilityEmbeddedBySyncMode(t *testing.T) {
	for _, tc := range []struct {
		sync engine.SyncMode
		want string
	}{
		{engine.SyncAlways, drivers.AckAfterFsyncTrue},
		{engine.SyncInterval, drivers.AckAfterFsyncFalse},
		{engine.SyncNone, drivers.AckAfterFsyncFalse},
	} {
		t.Run(tc.sync.String(), func(t *testing.T) {
			e, err := StartEmbedded(t.TempDir(), engine.Options{Sync: tc.sync}, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			dur, err := e.Durability(context.Background())
			drivertest.CheckDurability(t, "embedded", dur, err)
			if dur.AckAfterFsync != tc.want || dur.Source != "embedded server configuration" {
				t.Errorf("sync=%s: got %+v, want ack_after_fsync=%s from the embedded server configuration", tc.sync, dur, tc.want)
			}
		})
	}
}

// A remote server's sync mode is not in the handshake: the driver must
// not claim true.
func TestDurabilityRemoteIsUnknown(t *testing.T) {
	d := open(t, embed(t).DSN())
	dur, err := d.Durability(context.Background())
	drivertest.CheckDurability(t, "driver", dur, err)
	if dur.AckAfterFsync != drivers.AckAfterFsyncUnknown {
		t.Errorf("AckAfterFsync = %q, want unknown (the handshake does not carry the sync mode)", dur.AckAfterFsync)
	}
}

func TestSyncDurabilityUnknownMode(t *testing.T) {
	if got := syncDurability(engine.SyncMode(9), "x"); got.AckAfterFsync != drivers.AckAfterFsyncUnknown {
		t.Errorf("unknown mode: %+v", got)
	}
}
