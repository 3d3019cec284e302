package kafka

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestKafkaDurability(t *testing.T) {
	for _, tc := range []struct {
		name       string
		acks       string
		ts         topicSettings
		want, repl string
	}{
		{"kfake", "all", topicSettings{cluster: "kfake", replicas: 3}, drivers.AckAfterFsyncFalse, "acks=all (all in-sync replicas; replication factor 3)"},
		{"acks none", "none", topicSettings{cluster: "c", flushMessages: "1"}, drivers.AckAfterFsyncFalse, "acks=none (no broker ack)"},
		{"flush every message", "all", topicSettings{cluster: "c", replicas: 3, flushMessages: "1", minISR: "2"}, drivers.AckAfterFsyncTrue, "acks=all (all in-sync replicas; replication factor 3, min.insync.replicas=2)"},
		{"default flush", "leader", topicSettings{cluster: "c", replicas: 1, flushMessages: "9223372036854775807"}, drivers.AckAfterFsyncFalse, "acks=leader (the leader only; replication factor 1)"},
		{"configs hidden", "all", topicSettings{cluster: "c", replicas: 3, configsErr: errors.New("CLUSTER_AUTHORIZATION_FAILED")}, drivers.AckAfterFsyncUnknown, "acks=all (all in-sync replicas; replication factor 3)"},
	} {
		got := kafkaDurability(tc.acks, tc.ts)
		if got.AckAfterFsync != tc.want || got.Replication != tc.repl || got.Detail == "" || got.Source == "" {
			t.Errorf("%s: got %+v, want %s, replication %q", tc.name, got, tc.want, tc.repl)
		}
	}
	if got := kafkaDurability("all", topicSettings{configsErr: errors.New("denied")}); !strings.Contains(got.Source, "denied") {
		t.Errorf("source %q does not say why the configs are not visible", got.Source)
	}
}

// Against kfake the driver sees the cluster id: in memory, false.
func TestDurabilityKfake(t *testing.T) {
	e := startCluster(t)
	d := openFresh(t, e, "&partitions=2")
	dur, err := d.Durability(context.Background())
	drivertest.CheckDurability(t, "driver", dur, err)
	if dur.AckAfterFsync != drivers.AckAfterFsyncFalse || !strings.HasPrefix(dur.Replication, "acks=all") {
		t.Errorf("got %+v, want false (kfake) with acks=all", dur)
	}
	dur, err = e.Durability(context.Background())
	drivertest.CheckDurability(t, "embedded", dur, err)
	if dur.AckAfterFsync != drivers.AckAfterFsyncFalse {
		t.Errorf("embedded: got %+v, want false", dur)
	}
}
