package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evbench/evbench/chaos"
	"github.com/evbench/evbench/scenarios"
)

// chaosServeFlags are the flags of `evbench chaos serve`.
type chaosServeFlags struct {
	upstreams []string
	listens   []string
	scenario  string
	sets      []string
	duration  time.Duration
	runFor    time.Duration
	toxiproxy string
}

func init() {
	cc := &cobra.Command{
		Use:   "chaos",
		Short: "Fault injection without load: proxies and a fault timeline in front of a store",
	}
	cc.AddCommand(chaosServeCmd())
	rootCmd.AddCommand(cc)
}

func chaosServeCmd() *cobra.Command {
	var f chaosServeFlags
	cmd := &cobra.Command{
		Use:   "serve --upstream [PATH=]HOST:PORT [--listen HOST:PORT] [--scenario NAME|FILE]",
		Short: "Run only the proxies (and a scenario's fault timeline) so your own application can be aimed at them",
		Long: `Starts one Toxiproxy proxy per --upstream and prints its listen address; point your
application at it instead of the store. PATH (producer, consumer or both; default both)
says which faults of the scenario hit that proxy. The n-th --listen fixes the n-th
proxy's address (default 127.0.0.1 on a free port). With --scenario, its faults run on
a clock starting now; the proxies stay up until Ctrl-C (or --for), and everything is
removed on exit.

  evbench chaos serve --upstream 127.0.0.1:5432 --listen 127.0.0.1:15432 --scenario game-day --duration 60s
  evbench chaos serve --upstream producer=127.0.0.1:4222 --upstream consumer=127.0.0.1:4222 --scenario faults.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return chaosServe(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.upstreams, "upstream", nil, "store address to proxy, [producer=|consumer=|both=]HOST:PORT (repeatable; loopback only)")
	fl.StringArrayVar(&f.listens, "listen", nil, "listen address of the n-th proxy (repeatable; default 127.0.0.1:0 = any free port)")
	fl.StringVar(&f.scenario, "scenario", "", "built-in scenario name or YAML file whose faults to run (default: no faults)")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario field by dotted path (repeatable)")
	fl.DurationVar(&f.duration, "duration", 0, "rescale the scenario's timeline to this length (e.g. 60s)")
	fl.DurationVar(&f.runFor, "for", 0, "stop after this long (default: until Ctrl-C)")
	fl.StringVar(&f.toxiproxy, "toxiproxy", "", "external toxiproxy API URL (default: in-process proxies)")
	return cmd
}

type serveTarget struct{ path, upstream, listen string }

// parseServeTargets pairs --upstream and --listen values.
func parseServeTargets(ups, listens []string) ([]serveTarget, error) {
	if len(ups) == 0 {
		return nil, usageErr("--upstream: missing; write e.g. --upstream 127.0.0.1:5432")
	}
	if len(listens) > len(ups) {
		return nil, usageErr("--listen: %d given for %d --upstream; give at most one per upstream", len(listens), len(ups))
	}
	out := make([]serveTarget, len(ups))
	for i, u := range ups {
		path, addr := chaos.PathBoth, u
		if p, a, ok := strings.Cut(u, "="); ok {
			path, addr = p, a
		}
		switch path {
		case chaos.PathProducer, chaos.PathConsumer, chaos.PathBoth:
		default:
			return nil, usageErr("--upstream %q: unknown path %q; write producer=, consumer= or both=", u, path)
		}
		listen := "127.0.0.1:0"
		if i < len(listens) {
			listen = listens[i]
		}
		out[i] = serveTarget{path: path, upstream: addr, listen: listen}
	}
	return out, nil
}

func chaosServe(cmd *cobra.Command, f chaosServeFlags) error {
	targets, err := parseServeTargets(f.upstreams, f.listens)
	if err != nil {
		return err
	}
	if f.runFor < 0 {
		return usageErr("--for %v: must be positive", f.runFor)
	}
	var faultsList []scenarios.Fault
	if f.scenario != "" {
		sc, err := loadScenario(f.scenario, f.sets, f.duration, 1)
		if err != nil {
			return err
		}
		faultsList = sc.Faults
	}
	out := cmd.OutOrStdout()
	logf := func(format string, args ...any) { fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", args...) }

	base := context.Background()
	c, err := chaos.New(base, chaos.Options{External: f.toxiproxy, Logf: logf})
	if err != nil {
		return withCode(exitIncomplete, err)
	}
	defer c.Close()
	ctx, stop := chaos.CleanupOnSignals(base, c)
	defer stop()
	if f.runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.runFor)
		defer cancel()
	}

	for _, t := range targets {
		addr, err := c.Expose(ctx, t.path, t.upstream, t.listen)
		if err != nil {
			return withCode(exitUsage, fmt.Errorf("--upstream %s=%s --listen %s: %w", t.path, t.upstream, t.listen, err))
		}
		fmt.Fprintf(out, "%-8s %s -> %s\n", t.path, addr, t.upstream)
	}
	if len(faultsList) > 0 {
		if err := c.Start(ctx, time.Now(), faultsList); err != nil {
			return withCode(exitUsage, err)
		}
		fmt.Fprintf(out, "running %d faults of %s; Ctrl-C to stop and remove the proxies\n", len(faultsList), f.scenario)
	} else {
		fmt.Fprintln(out, "no fault timeline; Ctrl-C to stop and remove the proxies")
	}
	<-ctx.Done()
	if err := c.Close(); err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "evbench: "+err.Error())
		return withCode(exitIncomplete, err)
	}
	for _, w := range c.Windows() {
		status := "ok"
		if w.Error != "" {
			status = w.Error
		}
		fmt.Fprintf(out, "fault %-9s %-8s at %7.2fs for %6.2fs: %s\n", w.Kind, w.Path, w.AtS, w.ForS, status)
	}
	return nil
}
