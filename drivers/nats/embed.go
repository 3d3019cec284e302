package nats

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/evbench/evbench/drivers"
)

// Embed starts an in-process nats-server with JetStream file storage under
// dir (a temporary directory when dir is empty) on a random 127.0.0.1 port,
// with the server's default sync policy: PubAck after the write to the file
// store, fsync every 2 minutes. That is what a default NATS deployment does,
// and Describe says so in every result.
//
// Why not SyncAlways: nats-server 2.15 fsyncs each message on its own (no
// group commit), so on a disk with a ~1.3 ms fsync a stream tops out near
// 1,000 msg/s and the burst scenario's queue grows to seconds (measured:
// achieved 839/s of 1040/s offered, commit p50 2.7 s). EmbedSyncAlways runs
// that mode for comparisons of durable commits.
func Embed(ctx context.Context, dir string) (drivers.Embedded, error) {
	return embed(dir, false)
}

// EmbedSyncAlways is Embed with SyncAlways: every PubAck follows an fsync.
func EmbedSyncAlways(ctx context.Context, dir string) (drivers.Embedded, error) {
	return embed(dir, true)
}

func embed(dir string, syncAlways bool) (drivers.Embedded, error) {
	tmp := ""
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "evbench-nats-"); err != nil {
			return nil, fmt.Errorf("nats: embedded server: %w", err)
		}
		tmp = dir
	}
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir,
		NoLog: true, NoSigs: true, SyncAlways: syncAlways,
	})
	if err != nil {
		return nil, fmt.Errorf("nats: embedded server in %s: %w", dir, err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats: embedded server in %s not ready within 10s", dir)
	}
	return &EmbeddedServer{s: s, tmp: tmp, syncAlways: syncAlways}, nil
}

// EmbeddedServer is the in-process nats-server Embed returns.
type EmbeddedServer struct {
	s          *server.Server
	tmp        string
	syncAlways bool
}

// DSN addresses the embedded server.
func (e *EmbeddedServer) DSN() string { return "nats://" + e.s.Addr().String() }

// Describe states the version and the durability mode.
func (e *EmbeddedServer) Describe() string {
	if e.syncAlways {
		return "nats-server " + server.VERSION + " embedded, JetStream file storage, sync=always (fsync before every PubAck), batch = N independent publishes"
	}
	return "nats-server " + server.VERSION + " embedded, JetStream file storage, default sync (PubAck before fsync, fsync every 2m), batch = N independent publishes"
}

// Server exposes the server (tests stop it to check failure handling).
func (e *EmbeddedServer) Server() *server.Server { return e.s }

// Close shuts the server down and removes a temporary store. Idempotent.
func (e *EmbeddedServer) Close() error {
	e.s.Shutdown()
	e.s.WaitForShutdown()
	if e.tmp != "" {
		return os.RemoveAll(e.tmp)
	}
	return nil
}
