package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/evbench/evbench/drivers/refstore"
	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/server"
	"github.com/evbench/evbench/drivers/refstore/torture"
)

func init() {
	rs := &cobra.Command{
		Use:   "refstore",
		Short: "Run evbench's reference event store, or torture-test its crash safety",
	}
	rs.AddCommand(refstoreServeCmd(), refstoreTortureCmd())
	rootCmd.AddCommand(rs)
}

// parseBytes reads a byte count: a plain number or one with a B, KiB, MiB
// or GiB suffix (also K, M, G).
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suf) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suf)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a byte size (e.g. 65536, 512KiB, 64MiB)", s)
	}
	return n * mult, nil
}

func refstoreServeCmd() *cobra.Command {
	var dir, addr, sync, connBytes, httpAddr string
	var maxConns int
	var idle time.Duration
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve a refstore log over TCP until SIGINT/SIGTERM",
		Long: "Serve a refstore log over TCP (DSN refstore://ADDR). The readiness line\n" +
			"`refstore: listening on ADDR dir=D sync=S` goes to stderr once it accepts connections.\n" +
			"Limits: --max-conns connections at once (one more gets an error frame and is closed);\n" +
			"--max-conn-bytes of request frames pinned per connection (appends read and not yet\n" +
			"answered) before the server stops reading from it; --idle-timeout closes a request\n" +
			"connection that sends nothing and has nothing pending (0: never; subscriptions exempt).\n" +
			"--http ADDR also serves the same log through the HTTP/SSE contract of the http driver\n" +
			"(DSN http://ADDR/streams/{key}; docs/drivers.md, \"HTTP/SSE: your own CQRS front\").",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageErr("refstore serve: --dir is required (the data directory, created if missing)")
			}
			mode, err := engine.ParseSyncMode(sync)
			if err != nil {
				return usageErr("refstore serve: --sync %q: want always, interval or none", sync)
			}
			if maxConns < 1 || maxConns > 1<<20 {
				return usageErr("refstore serve: --max-conns %d: want 1 to 1048576", maxConns)
			}
			pin, err := parseBytes(connBytes)
			if err != nil {
				return usageErr("refstore serve: --max-conn-bytes: %v", err)
			}
			if pin < 64<<10 || pin > 1<<30 {
				return usageErr("refstore serve: --max-conn-bytes %s: want 64KiB to 1GiB (one frame more than this may be held)", connBytes)
			}
			if idle < 0 {
				return usageErr("refstore serve: --idle-timeout %v: want a duration >= 0 (0: never)", idle)
			}
			if idle > 0 && idle < 100*time.Millisecond {
				return usageErr("refstore serve: --idle-timeout %v: want at least 100ms, or 0 for never", idle)
			}
			cfg := server.Config{MaxConns: maxConns, MaxConnBytes: int(pin), IdleTimeout: idle}
			if idle == 0 {
				cfg.IdleTimeout = -1
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if httpAddr != "" {
				if _, _, err := net.SplitHostPort(httpAddr); err != nil {
					return usageErr("refstore serve: --http %q: want host:port, e.g. 127.0.0.1:8080 (port 0 picks a free one)", httpAddr)
				}
				if err := serveRefstoreHTTP(ctx, dir, addr, httpAddr, mode, cfg); err != nil {
					return withCode(exitIncomplete, err)
				}
				return nil
			}
			if err := serveRefstore(ctx, dir, addr, mode, cfg); err != nil {
				return withCode(exitIncomplete, err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "data directory (required)")
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:7600", "listen address (port 0 picks a free one)")
	c.Flags().StringVar(&sync, "sync", "always", "durability: always (fsync before ack), interval or none")
	c.Flags().IntVar(&maxConns, "max-conns", 1024, "connections served at once")
	c.Flags().StringVar(&connBytes, "max-conn-bytes", "64MiB", "request bytes one connection may pin before the server stops reading it")
	c.Flags().DurationVar(&idle, "idle-timeout", 5*time.Minute, "close a request connection idle this long (0: never)")
	c.Flags().StringVar(&httpAddr, "http", "", "also serve the HTTP/SSE front (http driver contract) on this address, e.g. 127.0.0.1:8080")
	return c
}

// serveRefstore is refstore.Serve with server limits: recovery and
// readiness lines on stderr.
func serveRefstore(ctx context.Context, dir, addr string, mode engine.SyncMode, cfg server.Config) error {
	return refstore.ServeConfig(ctx, dir, addr, engine.Options{Sync: mode}, cfg, os.Stderr)
}

func refstoreTortureCmd() *cobra.Command {
	var dir, sync string
	var cycles, writers int
	var powerLoss bool
	var seed uint64
	c := &cobra.Command{
		Use:   "torture",
		Short: "Crash refstore repeatedly (SIGKILL, or simulated power loss) and verify no acknowledged event is lost",
		Long: "Without --power-loss: SIGKILL a child refstore server at random moments and verify every\n" +
			"acknowledged event after each restart (default 5 cycles).\n\n" +
			"With --power-loss: run the engine in-process on the fault file layer, cut the power at a\n" +
			"random file call while pipelining writers append, roll the files back as a power loss\n" +
			"would (unsynced writes dropped, kept or torn; names back to the last directory sync),\n" +
			"recover and verify every acknowledged event (default 1000 cycles). --sync none must lose\n" +
			"events: it proves the check can fail.\n\n" +
			"Exit status: 0 when nothing acknowledged was lost or corrupt and every recovery opened;\n" +
			"1 otherwise, in every mode (so --sync none exits 1, with lost=N on the result line).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cycles < 1 {
				return usageErr("refstore torture: --cycles %d: want at least 1", cycles)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			if powerLoss {
				mode, err := engine.ParseSyncMode(sync)
				if err != nil {
					return usageErr("refstore torture: --sync %q: want always, interval or none", sync)
				}
				if !cmd.Flags().Changed("cycles") {
					cycles = 1000
				}
				if cmd.Flags().Changed("dir") || cmd.Flags().Changed("writers") {
					return usageErr("refstore torture: --dir and --writers are for the SIGKILL torture; --power-loss runs in memory")
				}
				res, err := torture.RunPowerLoss(torture.PowerConfig{Cycles: cycles, Sync: mode, Seed: seed, Out: out})
				fmt.Fprintln(out, res.String())
				if err != nil {
					return withCode(exitIncomplete, err)
				}
				if !res.OK() {
					if mode != engine.SyncAlways && res.Lost > 0 {
						fmt.Fprintf(out, "refstore torture: %d acknowledged events lost under sync=%s, as expected: it acknowledges before fsync\n", res.Lost, mode)
					}
					return withCode(exitGateFailed, fmt.Errorf("refstore torture: %s", res))
				}
				return nil
			}
			if cmd.Flags().Changed("sync") || cmd.Flags().Changed("seed") {
				return usageErr("refstore torture: --sync and --seed need --power-loss (the SIGKILL torture's child always runs sync=always)")
			}
			if writers < 1 || writers > 256 {
				return usageErr("refstore torture: --writers %d: want 1-256", writers)
			}
			if dir == "" {
				tmp, err := os.MkdirTemp("", "refstore-torture-")
				if err != nil {
					return withCode(exitIncomplete, fmt.Errorf("refstore torture: temp dir: %w", err))
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			}
			res, err := torture.Run(ctx, torture.Config{Cycles: cycles, Dir: dir, Writers: writers, Out: out})
			fmt.Fprintln(out, res.String())
			if err != nil {
				return withCode(exitIncomplete, err)
			}
			if !res.OK() {
				return withCode(exitGateFailed, fmt.Errorf("refstore torture: %s", res))
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "data directory (default: a temp dir, removed afterwards)")
	c.Flags().IntVar(&cycles, "cycles", 5, "crash/recover cycles (default 1000 with --power-loss)")
	c.Flags().IntVar(&writers, "writers", 4, "concurrent writers")
	c.Flags().BoolVar(&powerLoss, "power-loss", false, "simulate power loss through the in-process fault file layer instead of SIGKILL")
	c.Flags().StringVar(&sync, "sync", "always", "with --power-loss: the engine's sync mode (always, interval, none)")
	c.Flags().Uint64Var(&seed, "seed", 0, "with --power-loss: random seed (0 picks one; printed)")
	return c
}
