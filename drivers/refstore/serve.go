package refstore

import (
	"context"
	"fmt"
	"io"

	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/server"
)

// ReadyPrefix starts the readiness line Serve writes once it accepts
// connections: "refstore: listening on ADDR dir=D sync=S". Tools that start a
// server as a child process (the torture test) parse the address from it.
const ReadyPrefix = "refstore: listening on "

// Serve runs a refstore server until ctx ends, then shuts down gracefully
// (connections closed, log synced and closed). Recovery notes and the
// readiness line go to logw.
func Serve(ctx context.Context, dir, addr string, sync engine.SyncMode, logw io.Writer) error {
	return ServeWith(ctx, dir, addr, engine.Options{Sync: sync}, logw)
}

// ServeWith is Serve with explicit engine options (tests use small segments
// so that rolls and checkpoints happen under the torture); opts.Logf is set
// to write to logw.
func ServeWith(ctx context.Context, dir, addr string, opts engine.Options, logw io.Writer) error {
	return ServeConfig(ctx, dir, addr, opts, server.Config{}, logw)
}

// ServeConfig is ServeWith with server limits (connections, bytes pinned
// per connection, idle timeout); cfg.Logf is set to write to logw too.
func ServeConfig(ctx context.Context, dir, addr string, opts engine.Options, cfg server.Config, logw io.Writer) error {
	sync := opts.Sync
	opts.Logf = func(f string, a ...any) { fmt.Fprintf(logw, f+"\n", a...) }
	cfg.Logf = opts.Logf
	e, err := StartEmbeddedWith(dir, opts, cfg, addr)
	if err != nil {
		return err
	}
	rep := e.Log.Recovery()
	fmt.Fprintf(logw, "refstore: recovered segments=%d records=%d truncated_bytes=%d checkpoint=%d scanned=%d watermark=%d\n",
		rep.Segments, rep.Records, rep.TruncatedBytes, rep.Checkpoint, rep.Scanned, rep.Watermark)
	fmt.Fprintf(logw, "%s%s dir=%s sync=%s\n", ReadyPrefix, e.DSN()[len("refstore://"):], dir, sync)
	<-ctx.Done()
	if err := e.Close(); err != nil {
		return fmt.Errorf("refstore: shutdown: %w", err)
	}
	fmt.Fprintf(logw, "refstore: stopped cleanly\n")
	return nil
}
