package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/http/httpserver"
	"github.com/evbench/evbench/drivers/refstore"
	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/server"
)

// HTTPReadyPrefix starts the line `refstore serve --http` writes once its
// HTTP front accepts requests: "refstore: http front listening on ADDR".
const HTTPReadyPrefix = "refstore: http front listening on "

// serveRefstoreHTTP is serveRefstore plus the HTTP/SSE front of
// drivers/http on httpAddr, over the same log: the front is a refstore
// client of the TCP server (conns=4), so both DSNs see one history.
func serveRefstoreHTTP(ctx context.Context, dir, addr, httpAddr string, mode engine.SyncMode, cfg server.Config) error {
	return serveRefstoreHTTPTo(ctx, dir, addr, httpAddr, engine.Options{Sync: mode}, cfg, os.Stderr)
}

func serveRefstoreHTTPTo(ctx context.Context, dir, addr, httpAddr string, opts engine.Options, cfg server.Config, logw io.Writer) error {
	opts.Logf = func(f string, a ...any) { fmt.Fprintf(logw, f+"\n", a...) }
	cfg.Logf = opts.Logf
	e, err := refstore.StartEmbeddedWith(dir, opts, cfg, addr)
	if err != nil {
		return err
	}
	defer e.Close()
	rep := e.Log.Recovery()
	fmt.Fprintf(logw, "refstore: recovered segments=%d records=%d truncated_bytes=%d checkpoint=%d scanned=%d watermark=%d\n",
		rep.Segments, rep.Records, rep.TruncatedBytes, rep.Checkpoint, rep.Scanned, rep.Watermark)
	backend, err := refstore.Open(ctx, e.DSN()+"?conns=4", drivers.Options{Logf: opts.Logf})
	if err != nil {
		return fmt.Errorf("refstore: http front: connect to the log: %w", err)
	}
	defer backend.Close()
	dur, _ := e.Durability(ctx) // the engine's own sync mode: never fails
	front := httpserver.New(httpserver.Config{Backend: backend, Durability: dur, Logf: opts.Logf})
	ha, err := front.Listen(httpAddr)
	if err != nil {
		return err
	}
	defer front.Close()
	fmt.Fprintf(logw, "%s%s (DSN http://%s/streams/{key})\n", HTTPReadyPrefix, ha, ha)
	fmt.Fprintf(logw, "%s%s dir=%s sync=%s\n", refstore.ReadyPrefix, e.DSN()[len("refstore://"):], dir, e.Log.Sync())
	<-ctx.Done()
	front.Close()
	backend.Close()
	if err := e.Close(); err != nil {
		return fmt.Errorf("refstore: shutdown: %w", err)
	}
	fmt.Fprintf(logw, "refstore: stopped cleanly\n")
	return nil
}
