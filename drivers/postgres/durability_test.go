package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestPgDurability(t *testing.T) {
	for _, tc := range []struct {
		fsync, syncCommit, standbys string
		want, replication           string
	}{
		{"on", "on", "", drivers.AckAfterFsyncTrue, "none (single copy)"},
		{"on", "local", "", drivers.AckAfterFsyncTrue, "none (single copy)"},
		{"on", "remote_write", "", drivers.AckAfterFsyncTrue, "none (single copy)"},
		{"on", "remote_apply", "", drivers.AckAfterFsyncTrue, "none (single copy)"},
		{"on", "off", "", drivers.AckAfterFsyncFalse, "none (single copy)"},
		{"off", "on", "", drivers.AckAfterFsyncFalse, "none (single copy)"},
		{"on", "bogus", "", drivers.AckAfterFsyncUnknown, "none (single copy)"},
		{"on", "on", "FIRST 1 (s1)", drivers.AckAfterFsyncTrue, "they flushed"},
		{"on", "remote_write", "s1", drivers.AckAfterFsyncTrue, "not flushed"},
		{"on", "remote_apply", "s1", drivers.AckAfterFsyncTrue, "they applied"},
		{"on", "local", "s1", drivers.AckAfterFsyncTrue, "none waited for"},
		{"on", "off", "s1", drivers.AckAfterFsyncFalse, "none waited for"},
	} {
		got := pgDurability(tc.fsync, tc.syncCommit, tc.standbys, "fdatasync")
		if got.AckAfterFsync != tc.want || !strings.Contains(got.Replication, tc.replication) || got.Detail == "" || got.Source == "" {
			t.Errorf("fsync=%s synchronous_commit=%s standbys=%q: got %+v, want ack_after_fsync=%s, replication containing %q",
				tc.fsync, tc.syncCommit, tc.standbys, got, tc.want, tc.replication)
		}
	}
}

// The DSN's synchronous_commit is what the label reports (a pool session).
func TestDurabilityFollowsSession(t *testing.T) {
	for _, tc := range []struct{ extra, want string }{
		{"", drivers.AckAfterFsyncTrue},
		{"&synchronous_commit=off", drivers.AckAfterFsyncFalse},
	} {
		d := openTest(t, tc.extra)
		dur, err := d.Durability(context.Background())
		drivertest.CheckDurability(t, "postgres"+tc.extra, dur, err)
		if dur.AckAfterFsync != tc.want {
			t.Errorf("DSN %q: AckAfterFsync = %q, want %q (%s)", tc.extra, dur.AckAfterFsync, tc.want, dur.Detail)
		}
	}
}
