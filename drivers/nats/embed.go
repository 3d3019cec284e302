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
// dir (a temporary directory when dir is empty) on a random 127.0.0.1 port.
// It runs with SyncAlways: every PubAck follows an fsync, so its commit
// latency is comparable with refstore's and Postgres's durable commits (the
// server default, a 2 min sync interval, acks before fsync).
func Embed(ctx context.Context, dir string) (drivers.Embedded, error) {
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
		NoLog: true, NoSigs: true, SyncAlways: true,
	})
	if err != nil {
		return nil, fmt.Errorf("nats: embedded server in %s: %w", dir, err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats: embedded server in %s not ready within 10s", dir)
	}
	return &EmbeddedServer{s: s, tmp: tmp}, nil
}

// EmbeddedServer is the in-process nats-server Embed returns.
type EmbeddedServer struct {
	s   *server.Server
	tmp string
}

// DSN addresses the embedded server.
func (e *EmbeddedServer) DSN() string { return "nats://" + e.s.Addr().String() }

// Describe states the version and the durability mode.
func (e *EmbeddedServer) Describe() string {
	return "nats-server " + server.VERSION + " embedded, JetStream file storage, sync=always"
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
