package refstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/server"
)

func init() {
	drivers.Register(drivers.Registration{
		Name:            "refstore",
		Description:     "evbench's reference event store: segmented log, group commit, fsync before ack",
		DSNExample:      "refstore://127.0.0.1:7600",
		Open:            Open,
		CheckDSN:        func(dsn string) error { _, err := parseDSN(dsn); return err },
		Embed:           Embed,
		ExpectedVersion: true,
	})
}

// Embedded is an in-process refstore (log + TCP server on 127.0.0.1).
type Embedded struct {
	Log    *engine.Log
	Server *server.Server
	dsn    string
	once   sync.Once
	err    error
}

// Embed starts a refstore with sync=always on a free 127.0.0.1 port with its
// data under dir. Drivers reach it over TCP, so a proxy can sit in between.
func Embed(ctx context.Context, dir string) (drivers.Embedded, error) {
	return StartEmbedded(dir, engine.Options{Sync: engine.SyncAlways}, "127.0.0.1:0")
}

// StartEmbedded is Embed with explicit engine options and listen address.
func StartEmbedded(dir string, opts engine.Options, addr string) (*Embedded, error) {
	return StartEmbeddedWith(dir, opts, server.Config{}, addr)
}

// StartEmbeddedWith is StartEmbedded with server limits (evbench refstore
// serve's flags).
func StartEmbeddedWith(dir string, opts engine.Options, cfg server.Config, addr string) (*Embedded, error) {
	l, err := engine.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	srv := server.New(l, cfg)
	a, err := srv.Listen(addr)
	if err != nil {
		l.Close()
		return nil, err
	}
	return &Embedded{Log: l, Server: srv, dsn: "refstore://" + a.String()}, nil
}

// DSN addresses the embedded server.
func (e *Embedded) DSN() string { return e.dsn }

// Describe names what runs, for the result's environment section: the
// sync mode, and that a batch is one all-or-nothing record group.
func (e *Embedded) Describe() string {
	return fmt.Sprintf("refstore (embedded, sync=%s, batch atomic)", e.Log.Sync())
}

// Close stops the server, then closes the log. Idempotent.
func (e *Embedded) Close() error {
	e.once.Do(func() {
		e.Server.Close()
		e.err = e.Log.Close()
	})
	return e.err
}
