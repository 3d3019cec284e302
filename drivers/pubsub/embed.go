package pubsub

import (
	"context"

	"cloud.google.com/go/pubsub/v2/pstest"

	"github.com/evbench/evbench/drivers"
)

// EmbeddedFake is pstest, the Pub/Sub client library's in-process fake,
// serving gRPC on a random 127.0.0.1 port. It is an emulator: messages live
// in memory, latencies are a local process's, and runs against it are
// labelled emulated.
type EmbeddedFake struct {
	srv *pstest.Server
}

// Embed starts pstest (dir is unused: the fake keeps nothing on disk).
func Embed(ctx context.Context, dir string) (drivers.Embedded, error) {
	return &EmbeddedFake{srv: pstest.NewServerWithAddress("127.0.0.1:0")}, nil
}

// DSN addresses the fake, with emulator=true so the run is labelled.
func (e *EmbeddedFake) DSN() string {
	return "pubsub://evbench-emulated/evbench?emulator=true&endpoint=" + e.srv.Addr
}

// Describe names the fake and what it is not.
func (e *EmbeddedFake) Describe() string {
	return "pstest in-process Pub/Sub fake (emulated: in memory, latency figures not meaningful)"
}

// Close stops the fake.
func (e *EmbeddedFake) Close() error { return e.srv.Close() }
