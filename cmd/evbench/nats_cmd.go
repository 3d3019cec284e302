package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/spf13/cobra"
)

// natsReadyPrefix starts the readiness line `evbench nats serve` writes to
// stderr once the server accepts connections:
// "nats: listening on ADDR version=V dir=D sync=S". chaos/supervisor parses
// it; keep the two in step.
const natsReadyPrefix = "nats: listening on "

// The hidden `evbench nats serve` runs the nats-server library evbench links
// (the same version the embedded driver uses) as a child process that
// chaos/supervisor can SIGKILL, SIGSTOP and restart: a managed store.
func init() {
	n := &cobra.Command{
		Use:    "nats",
		Short:  "Run the nats-server evbench links (for managed stores)",
		Hidden: true,
	}
	n.AddCommand(natsServeCmd())
	rootCmd.AddCommand(n)
}

func natsServeCmd() *cobra.Command {
	var dir, addr, sync string
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve NATS with JetStream file storage in --dir until SIGINT/SIGTERM",
		Long: "Serve NATS with JetStream file storage (DSN nats://ADDR). The readiness line\n" +
			"`nats: listening on ADDR version=V dir=D sync=S` goes to stderr once it accepts connections.\n" +
			"--sync default: the server's default policy (PubAck before fsync, fsync every 2m);\n" +
			"--sync always: SyncAlways, an fsync before every PubAck.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageErr("nats serve: --dir is required (the JetStream store directory, created if missing)")
			}
			var syncAlways bool
			switch sync {
			case "default":
			case "always":
				syncAlways = true
			default:
				return usageErr("nats serve: --sync %q: want default or always", sync)
			}
			host, portStr, err := net.SplitHostPort(addr)
			if err != nil {
				return usageErr("nats serve: --addr %q: want HOST:PORT, e.g. 127.0.0.1:4222", addr)
			}
			port, err := strconv.Atoi(portStr)
			if err != nil || port < 0 || port > 65535 {
				return usageErr("nats serve: --addr %q: port must be 0-65535", addr)
			}
			if port == 0 {
				port = -1 // nats-server: random port
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return withCode(exitIncomplete, fmt.Errorf("nats serve: --dir %s: %w", dir, err))
			}
			s, err := server.NewServer(&server.Options{
				Host: host, Port: port, JetStream: true, StoreDir: dir,
				NoLog: true, NoSigs: true, SyncAlways: syncAlways,
			})
			if err != nil {
				return withCode(exitIncomplete, fmt.Errorf("nats serve: %w", err))
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go s.Start()
			if !s.ReadyForConnections(30 * time.Second) {
				s.Shutdown()
				return withCode(exitIncomplete, fmt.Errorf("nats serve: server on %s not ready within 30s (port taken? see above)", addr))
			}
			fmt.Fprintf(os.Stderr, "%s%s version=%s dir=%s sync=%s\n", natsReadyPrefix, s.Addr(), server.VERSION, dir, sync)
			done := make(chan struct{})
			go func() { s.WaitForShutdown(); close(done) }()
			select {
			case <-ctx.Done():
				s.Shutdown()
				<-done
				fmt.Fprintln(os.Stderr, "nats: stopped cleanly")
				return nil
			case <-done:
				return withCode(exitIncomplete, fmt.Errorf("nats serve: server on %s shut down on its own", addr))
			}
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "JetStream store directory (required)")
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:4222", "listen address (port 0 picks a free one)")
	c.Flags().StringVar(&sync, "sync", "default", "durability: default (fsync every 2m, PubAck before fsync) or always")
	return c
}
