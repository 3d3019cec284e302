package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/evbench/evbench/drivers/refstore"
	"github.com/evbench/evbench/drivers/refstore/engine"
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

func refstoreServeCmd() *cobra.Command {
	var dir, addr, sync string
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve a refstore log over TCP until SIGINT/SIGTERM",
		Long: "Serve a refstore log over TCP (DSN refstore://ADDR). The readiness line\n" +
			"`refstore: listening on ADDR dir=D sync=S` goes to stderr once it accepts connections.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageErr("refstore serve: --dir is required (the data directory, created if missing)")
			}
			mode, err := engine.ParseSyncMode(sync)
			if err != nil {
				return usageErr("refstore serve: --sync %q: want always, interval or none", sync)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := refstore.Serve(ctx, dir, addr, mode, os.Stderr); err != nil {
				return withCode(exitIncomplete, err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "data directory (required)")
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:7600", "listen address (port 0 picks a free one)")
	c.Flags().StringVar(&sync, "sync", "always", "durability: always (fsync before ack), interval or none")
	return c
}

func refstoreTortureCmd() *cobra.Command {
	var dir string
	var cycles, writers int
	c := &cobra.Command{
		Use:   "torture",
		Short: "SIGKILL a child refstore server repeatedly and verify no acknowledged event is lost",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cycles < 1 {
				return usageErr("refstore torture: --cycles %d: want at least 1", cycles)
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
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
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
	c.Flags().IntVar(&cycles, "cycles", 5, "kill/restart cycles")
	c.Flags().IntVar(&writers, "writers", 4, "concurrent writers")
	return c
}
