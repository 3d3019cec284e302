package drivertest

import (
	"context"
	"testing"

	"github.com/evbench/evbench/drivers"
)

// CheckDurability checks a DurabilityReporter's answer: AckAfterFsync is
// one of the three values and Detail and Source say what it was read from.
// Embedded stores' reporters (drivers.Embedded) are checked with it too.
func CheckDurability(t testing.TB, what string, dur drivers.Durability, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: Durability: %v", what, err)
	}
	switch dur.AckAfterFsync {
	case drivers.AckAfterFsyncTrue, drivers.AckAfterFsyncFalse, drivers.AckAfterFsyncUnknown:
	default:
		t.Errorf("%s: Durability().AckAfterFsync = %q, want %q, %q or %q", what, dur.AckAfterFsync,
			drivers.AckAfterFsyncTrue, drivers.AckAfterFsyncFalse, drivers.AckAfterFsyncUnknown)
	}
	if dur.Detail == "" {
		t.Errorf("%s: Durability().Detail is empty: say which settings the label was read from", what)
	}
	if dur.Source == "" {
		t.Errorf("%s: Durability().Source is empty: say where the label was read (server, DSN, ...)", what)
	}
	t.Logf("%s: ack_after_fsync=%s replication=%q detail=%q source=%q", what, dur.AckAfterFsync, dur.Replication, dur.Detail, dur.Source)
}

// testDurability: every driver says what its acknowledgement means, so a
// result's commit latency is labelled with whether it includes an fsync.
func testDurability(t *testing.T, d drivers.Driver) {
	dr, ok := d.(drivers.DurabilityReporter)
	if !ok {
		t.Fatalf("%T does not implement drivers.DurabilityReporter: say whether an ack follows an fsync (true, false or unknown)", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	dur, err := dr.Durability(ctx)
	CheckDurability(t, "driver", dur, err)
}
