package nats

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestNatsDurability(t *testing.T) {
	file := jetstream.StreamConfig{Name: "S", Storage: jetstream.FileStorage, Replicas: 1}
	mem := jetstream.StreamConfig{Name: "S", Storage: jetstream.MemoryStorage, Replicas: 3}
	for _, tc := range []struct {
		name   string
		sc     jetstream.StreamConfig
		jsc    *server.JetStreamConfig
		want   string
		detail string
	}{
		{"file, settings hidden", file, nil, drivers.AckAfterFsyncUnknown, "acks a publish before fsync"},
		{"memory storage", mem, nil, drivers.AckAfterFsyncFalse, "memory storage"},
		{"memory storage, sync_always", mem, &server.JetStreamConfig{SyncAlways: true}, drivers.AckAfterFsyncFalse, "memory storage"},
		{"file, sync_always", file, &server.JetStreamConfig{SyncAlways: true}, drivers.AckAfterFsyncTrue, "every PubAck follows an fsync"},
		{"file, default interval", file, &server.JetStreamConfig{}, drivers.AckAfterFsyncFalse, "default sync_interval (2m)"},
		{"file, interval 10s", file, &server.JetStreamConfig{SyncInterval: 10 * time.Second}, drivers.AckAfterFsyncFalse, "every 10s"},
	} {
		got := natsDurability("2.9.10", tc.sc, tc.jsc, nats.ErrNoResponders, "NID")
		if got.AckAfterFsync != tc.want || !strings.Contains(got.Detail, tc.detail) || got.Source == "" {
			t.Errorf("%s: got %+v, want %s with detail containing %q", tc.name, got, tc.want, tc.detail)
		}
	}
	if got := natsDurability("2.10", mem, nil, nil, "NID"); got.Replication != "R3: PubAck after a quorum (2 of 3) stored the message" {
		t.Errorf("replication = %q", got.Replication)
	}
}

func TestParseJSZ(t *testing.T) {
	c, err := parseJSZ([]byte(`{"server":{"id":"N"},"data":{"server_id":"N","config":{"max_memory":1,"sync_interval":10000000000,"sync_always":true}}}`))
	if err != nil || !c.SyncAlways || c.SyncInterval != 10*time.Second {
		t.Fatalf("parseJSZ: %+v, %v", c, err)
	}
	for _, bad := range []string{`{"error":{"code":403,"description":"forbidden"}}`, `{"data":{}}`, `not json`} {
		if _, err := parseJSZ([]byte(bad)); err == nil {
			t.Errorf("parseJSZ(%s): no error", bad)
		}
	}
}

func TestDurabilityEmbeddedServer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		embed func(context.Context, string) (drivers.Embedded, error)
		want  string
	}{
		{"default sync", Embed, drivers.AckAfterFsyncFalse},
		{"sync always", EmbedSyncAlways, drivers.AckAfterFsyncTrue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := tc.embed(context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			dur, err := e.(drivers.DurabilityReporter).Durability(context.Background())
			drivertest.CheckDurability(t, "embedded", dur, err)
			if dur.AckAfterFsync != tc.want || dur.Source != "embedded server configuration" {
				t.Errorf("got %+v, want %s from the embedded server configuration", dur, tc.want)
			}
		})
	}
}

// Through a client connection the sync settings are hidden: file storage
// is unknown (never true), memory storage is false.
func TestDurabilityDriverOnEmbedded(t *testing.T) {
	e := startServer(t) // sync_always, which the client cannot see
	for _, tc := range []struct{ params, want string }{
		{"", drivers.AckAfterFsyncUnknown},
		{"&storage=memory", drivers.AckAfterFsyncFalse},
	} {
		d := openFresh(t, e.DSN(), tc.params)
		dur, err := d.Durability(context.Background())
		drivertest.CheckDurability(t, "driver"+tc.params, dur, err)
		if dur.AckAfterFsync != tc.want {
			t.Errorf("%q: AckAfterFsync = %q, want %q", tc.params, dur.AckAfterFsync, tc.want)
		}
	}
}

// A server that exports its JSZ service to the JetStream account shows its
// sync settings, and the label follows them.
func TestDurabilityFromJSZ(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "js.conf")
	err := os.WriteFile(conf, []byte(`
listen: "127.0.0.1:-1"
jetstream { store_dir: "`+filepath.Join(dir, "js")+`", sync_interval: "always" }
system_account: SYS
accounts {
  SYS { users: [{user: sys, password: sys}], exports: [{service: "$SYS.REQ.SERVER.*.JSZ"}] }
  APP { jetstream: enabled, users: [{user: app, password: app}], imports: [{service: {account: SYS, subject: "$SYS.REQ.SERVER.*.JSZ"}}] }
}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	opts.NoLog, opts.NoSigs = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(s.Shutdown) // after openFresh's cleanup, which deletes the stream
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	d := openFresh(t, "nats://app:app@"+s.Addr().String(), "")
	dur, err := d.Durability(context.Background())
	drivertest.CheckDurability(t, "driver", dur, err)
	if dur.AckAfterFsync != drivers.AckAfterFsyncTrue || !strings.Contains(dur.Source, "JSZ") {
		t.Errorf("got %+v, want true from JSZ", dur)
	}
}

// The machine's server (default sync, settings hidden) must not be labelled true.
func TestDurabilityMachineServer(t *testing.T) {
	drivertest.RequireService(t, "NATS JetStream", machineServer)
	d := openFresh(t, "nats://"+machineServer, "")
	dur, err := d.Durability(context.Background())
	drivertest.CheckDurability(t, "machine server", dur, err)
	if dur.AckAfterFsync == drivers.AckAfterFsyncTrue {
		t.Errorf("got %+v: a server whose sync settings are hidden must not be labelled true", dur)
	}
}
