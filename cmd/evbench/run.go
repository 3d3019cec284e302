package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/evbench/evbench/chaos"
	"github.com/evbench/evbench/drivers"
	_ "github.com/evbench/evbench/drivers/all"
	"github.com/evbench/evbench/drivers/provision"
	"github.com/evbench/evbench/fixtures"
	"github.com/evbench/evbench/reports"
	"github.com/evbench/evbench/reports/gate"
	"github.com/evbench/evbench/runner"
	"github.com/evbench/evbench/scenarios"
)

type runFlags struct {
	driver     string
	dsn        string
	duration   time.Duration
	rateScale  float64
	sets       []string
	out        string
	keepData   bool
	reset      bool
	toxiproxy  string
	provision  bool
	managed    bool
	managedSet []string
	seed       uint64
	quiet      bool
	pacer      string
	cpuProfile string
	memProfile string
	omb        string
	live       liveFlags
	shard      shardFlags
}

func init() {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run SCENARIO",
		Short: "Run a scenario (built-in name or YAML path) against a store and write the result",
		Long: `Run offers the scenario's open-loop load to the store, runs its projectors, pauses and
faults, checks delivery, rebuilds, and writes result.json and the reports to --out.

With no --dsn the driver's embedded store is used (refstore by default: nothing to install).

Exit codes: 0 ok; 1 the delivery check (judged against the scenario's expect) or a gate failed; 2 bad usage or invalid scenario;
3 the run could not complete (store unreachable, interrupted).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if f.omb != "" { // runOMB refuses a SCENARIO beside --omb with a clear message
				return cobra.MaximumNArgs(1)(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.omb != "" {
				return runOMB(cmd, args, f)
			}
			return runScenario(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.driver, "driver", "refstore", "store driver (see `evbench drivers`)")
	fl.StringVar(&f.dsn, "dsn", "", "store address; empty = the driver's embedded store")
	fl.DurationVar(&f.duration, "duration", 0, "rescale the whole timeline (stages, pauses, faults) to this length")
	fl.Float64Var(&f.rateScale, "rate-scale", 1, "multiply every rate of the load profile")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario field by dotted path, value parsed as YAML (repeatable): --set load.start=500")
	fl.StringVar(&f.out, "out", "", "output directory (default results/<scenario>-<driver>-<UTC timestamp>)")
	fl.BoolVar(&f.keepData, "keep-data", false, "keep the embedded store's data directory")
	fl.BoolVar(&f.reset, "reset", false, "drop what the driver created (schema, topic, stream) before the run")
	fl.StringVar(&f.toxiproxy, "toxiproxy", "", "external toxiproxy API URL (default: in-process proxies)")
	fl.BoolVar(&f.provision, "provision", false, "start the store in Docker with testcontainers (needs a Docker engine)")
	fl.BoolVar(&f.managed, "managed", false, "start the driver's store (refstore, nats, postgres) as a child process evbench controls, data in a temp dir; store faults need it")
	fl.StringArrayVar(&f.managedSet, "managed-param", nil, "configure the managed store, KEY=VALUE (repeatable): refstore sync=always|interval|none; nats sync=default|always; postgres fsync=on|off, synchronous_commit=on|off")
	fl.Uint64Var(&f.seed, "seed", 0, "seed for keys and payloads (0 = random)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no live display or progress lines: only the summary")
	fl.StringVar(&f.pacer, "pacer", "", "generator waiter for A/B runs: timerfd (default on Linux), timer or nanosleep")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	fl.StringVar(&f.memProfile, "memprofile", "", "write a heap profile at the end of the load to this file (go tool pprof)")
	addLiveFlags(fl, &f.live)
	addShardFlags(fl, &f.shard)
	fl.StringVar(&f.omb, "omb", "", "convert and run an OpenMessaging Benchmark workload YAML instead of SCENARIO (as evbench import omb prints it; producerRate: 0 probes for the maximum rate)")
	rootCmd.AddCommand(cmd)
}

// loadScenario resolves, rescales and validates a scenario; every problem
// is a usage error (exit 2).
func loadScenario(name string, sets []string, duration time.Duration, rateScale float64) (*scenarios.Scenario, error) {
	sc, err := scenarios.Resolve(name, sets)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	if duration < 0 {
		return nil, usageErr("--duration %v: must be positive", duration)
	}
	if duration > 0 {
		sc.Rescale(duration)
	}
	if rateScale <= 0 {
		return nil, usageErr("--rate-scale %v: must be > 0", rateScale)
	}
	if rateScale != 1 {
		sc.ScaleRate(rateScale)
	}
	if err := scenarios.Validate(sc, validateOptions()); err != nil {
		return nil, withCode(exitUsage, err)
	}
	if err := runner.CheckCapacity(sc); err != nil {
		return nil, withCode(exitUsage, err)
	}
	return sc, nil
}

func validateOptions() scenarios.ValidateOptions {
	return scenarios.ValidateOptions{CheckGate: gate.Check, CheckFault: chaos.Validate, CheckFixture: fixtures.Check}
}

func runScenario(cmd *cobra.Command, name string, f runFlags) error {
	reg, err := drivers.Lookup(f.driver)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--driver: %w", err))
	}
	// A DSN or Toxiproxy URL that cannot work is a usage error, found
	// without connecting; the messages show them redacted.
	if f.dsn != "" && reg.CheckDSN != nil {
		if err := reg.CheckDSN(f.dsn); err != nil {
			return withCode(exitUsage, fmt.Errorf("--dsn: %w", err))
		}
	}
	if f.toxiproxy != "" {
		if err := chaos.CheckToxiproxyURL(f.toxiproxy); err != nil {
			return withCode(exitUsage, fmt.Errorf("--toxiproxy: %w", err))
		}
	}
	sc, err := loadScenario(name, f.sets, f.duration, f.rateScale)
	if err != nil {
		return err
	}
	shard, err := f.shard.config(cmd.Flags(), sc, time.Now())
	if err != nil {
		return withCode(exitUsage, err)
	}
	if err := runner.CheckFaultsReachable(reg, sc); err != nil {
		return withCode(exitUsage, err)
	}
	if err := runner.CheckCapabilities(reg, sc); err != nil {
		return withCode(exitUsage, err)
	}
	if err := runner.CheckDurable(reg, sc); err != nil {
		return withCode(exitUsage, err)
	}
	managedParams, err := parseParams("--managed-param", f.managedSet)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if len(managedParams) > 0 && !f.managed {
		return usageErr("--managed-param configures a managed store: add --managed")
	}
	if f.managed && f.provision {
		return usageErr("--managed and --provision exclude each other: pick who starts the store")
	}
	if _, err := runner.ManagedFor(f.driver, f.dsn, f.managed, sc); err != nil {
		if errors.Is(err, runner.ErrNoFaultFS) {
			return withCode(exitIncomplete, err)
		}
		return withCode(exitUsage, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dsn := f.dsn
	if f.provision {
		if dsn != "" {
			return usageErr("--provision and --dsn exclude each other: provisioning creates the store and its DSN")
		}
		pdsn, stopStore, err := provision.Start(ctx, f.driver)
		if err != nil {
			return withCode(exitIncomplete, err)
		}
		defer stopStore()
		dsn = pdsn
		drivers.RegisterSecretsOf(dsn)
	}

	out := f.out
	if out == "" {
		out = filepath.Join("results", fmt.Sprintf("%s-%s-%s", sc.Name, f.driver, time.Now().UTC().Format("20060102T150405Z")))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return withCode(exitUsage, fmt.Errorf("--out %s: %w", out, err))
	}
	stderr := cmd.ErrOrStderr()
	cfg := runner.Config{
		Scenario: sc, Driver: f.driver, DSN: dsn, KeepData: f.keepData, Reset: f.reset,
		Toxiproxy: f.toxiproxy, Seed: f.seed, OutDir: out, Pacer: f.pacer, HeapProfile: f.memProfile,
		Managed: f.managed, ManagedParams: managedParams, Shard: shard,
	}
	if f.cpuProfile != "" {
		stopProfile, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return withCode(exitUsage, err)
		}
		defer stopProfile()
	}
	fmt.Fprintf(stderr, "evbench: running %s on %s (%v, %.0f events scheduled) -> %s\n",
		sc.Name, f.driver, sc.TotalDuration(), float64(runner.NewSchedule(sc.Load).Total()), out)
	printShardPlan(stderr, shard, sc)
	// The live outputs bind their addresses now: a port in use is a usage
	// error before the store or the load starts.
	sess, err := startLive(f.live, f.quiet, cmd.OutOrStdout(), stderr)
	if err != nil {
		return err
	}
	defer sess.close(ctx, "") // on a panic too: the terminal is left clean (a no-op after the close below)
	cfg.Live, cfg.Logf = &sess.hub, sess.logf
	res, runErr := runner.Run(ctx, cfg)
	writeErr := reports.WriteAll(out, res)
	sess.close(ctx, out)
	printSummary(cmd.OutOrStdout(), res, out)
	if writeErr != nil {
		fmt.Fprintf(stderr, "evbench: writing reports: %v\n", writeErr)
	}
	switch {
	case runErr != nil && errors.Is(runErr, runner.ErrRefused):
		return withCode(exitUsage, runErr) // the DSN cannot run this scenario (result written, incomplete)
	case runErr != nil:
		return withCode(exitIncomplete, runErr)
	case writeErr != nil:
		return withCode(exitIncomplete, errors.New("result written incompletely"))
	case !res.Passed:
		return withCode(exitGateFailed, errors.New("run failed its delivery check or a gate"))
	}
	return nil
}

// startCPUProfile profiles the whole process, to show where a run that
// reports client.limited spent its CPU.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile %s: %w", path, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile %s: %w", path, err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// parseParams reads KEY=VALUE flags into a map.
func parseParams(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE, e.g. %s sync=always", flag, kv, flag)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}
