package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/plan"
	"github.com/evbench/evbench/probe"
	"github.com/evbench/evbench/reports"
	"github.com/evbench/evbench/runner"
)

type probeFlags struct {
	driver, dsn, out      string
	slo, sets             []string
	min, max, resolution  float64
	step, warmup          time.Duration
	quiet                 bool
	peakRate, costPerHour float64
	retention             string
}

func init() {
	var f probeFlags
	cmd := &cobra.Command{
		Use:   "probe SCENARIO",
		Short: "Find the store's maximum sustainable rate within an SLO (constant-rate steps, ramp then bisection)",
		Long: `Probe replaces the scenario's load with constant-rate steps (the scenario gives the event
shape, keys, batch and consumers) and searches for the highest rate the store sustains: a
geometric ramp from --min until the first failing step, then bisection to --resolution.

A step passes only if the SLO holds over its pooled histogram and in at least 4 of 5 equal
sub-windows (warm-up excluded), the achieved rate is within 1 % of offered, and lag does not
grow (least-squares slope with a 95 % confidence interval at or below zero, or lag under one
second of load). Borderline steps are repeated once; client-limited steps never count as the
store's limit.

Writes probe.json, report.md, report.html (with the curve) and each step's run result under --out.

Exit codes: 0 a sustainable rate was found; 1 even --min fails; 2 bad usage; 3 the store was
unreachable or the probe was interrupted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runProbe(cmd, args[0], f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.driver, "driver", "refstore", "store driver (see `evbench drivers`)")
	fl.StringVar(&f.dsn, "dsn", "", "store address; empty = the driver's embedded store")
	fl.StringArrayVar(&f.slo, "slo", nil, `SLO a step must meet, a gate expression (repeatable; default "commit.p99 < 50ms"; lag and client.limited are always judged)`)
	fl.Float64Var(&f.min, "min", 100, "lowest rate to try, events/s")
	fl.Float64Var(&f.max, "max", 1e6, "highest rate to try, events/s")
	fl.DurationVar(&f.step, "step", 10*time.Second, "measured length of each step (after its warm-up)")
	fl.DurationVar(&f.warmup, "warmup", 3*time.Second, "warm-up of each step, excluded from its statistics")
	fl.Float64Var(&f.resolution, "resolution", 0.05, "stop bisecting when (first failing - max passing) / max passing is at most this")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario field by dotted path (repeatable), as for run")
	fl.StringVar(&f.out, "out", "", "output directory (default results/probe-<scenario>-<driver>-<UTC timestamp>)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no table while it runs")
	fl.Float64Var(&f.peakRate, "peak-rate", 0, "with --retention or --cost-per-hour: add a capacity plan section to report.md (see evbench plan)")
	fl.StringVar(&f.retention, "retention", "", "for the plan section: how long events are kept (30d or 720h)")
	fl.Float64Var(&f.costPerHour, "cost-per-hour", 0, "for the plan section: what the store costs per hour")
	rootCmd.AddCommand(cmd)
}

func runProbe(cmd *cobra.Command, name string, f probeFlags) error {
	reg, err := drivers.Lookup(f.driver)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--driver: %w", err))
	}
	if f.dsn != "" && reg.CheckDSN != nil {
		if err := reg.CheckDSN(f.dsn); err != nil {
			return withCode(exitUsage, fmt.Errorf("--dsn: %w", err))
		}
	}
	sc, err := loadScenario(name, f.sets, 0, 1)
	if err != nil {
		return err
	}
	if err := runner.CheckCapabilities(reg, sc); err != nil {
		return withCode(exitUsage, err)
	}
	var retention time.Duration
	if f.retention != "" {
		if retention, err = plan.ParseRetention(f.retention); err != nil {
			return withCode(exitUsage, fmt.Errorf("--retention: %w", err))
		}
	}
	if (retention > 0 || f.costPerHour > 0) && f.peakRate <= 0 {
		return usageErr("--retention and --cost-per-hour plan for a peak: add --peak-rate EVENTS_PER_S")
	}
	out := f.out
	if out == "" {
		out = filepath.Join("results", fmt.Sprintf("probe-%s-%s-%s", sc.Name, f.driver, time.Now().UTC().Format("20060102T150405Z")))
	}
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	var table *reports.ProbeTable
	if !f.quiet {
		table = reports.NewProbeTable(stdout)
	}
	cfg := probe.Config{
		Scenario: sc, Driver: f.driver, DSN: f.dsn, SLO: f.slo,
		Min: f.min, Max: f.max, Step: f.step, Warmup: f.warmup, Resolution: f.resolution, OutDir: out,
		Logf: func(format string, args ...any) { fmt.Fprintf(stderr, "evbench: "+format+"\n", args...) },
	}
	if table != nil {
		cfg.OnStep = func(s probe.Step) { table.Row(s) }
	}
	if err := probe.Check(cfg); err != nil {
		return withCode(exitUsage, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return withCode(exitUsage, fmt.Errorf("--out %s: %w", out, err))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "evbench: probing %s on %s from %.0f to %.0f events/s (steps of %v after %v warm-up) -> %s\n",
		sc.Name, f.driver, f.min, f.max, f.step, f.warmup, out)
	res, probeErr := probe.Run(ctx, cfg)
	if res != nil {
		if err := probe.WriteResult(out, res); err != nil {
			fmt.Fprintf(stderr, "evbench: %v\n", err)
		}
		if err := reports.WriteProbe(out, res); err != nil {
			fmt.Fprintf(stderr, "evbench: writing probe reports: %v\n", err)
		}
		if f.peakRate > 0 {
			appendPlan(stdout, stderr, out, plan.Input{Probe: res, PeakRate: f.peakRate, Retention: retention, CostPerHour: f.costPerHour})
		}
		printProbeSummary(stdout, res, out)
	}
	switch {
	case probeErr != nil && errors.Is(probeErr, runner.ErrRefused):
		return withCode(exitUsage, probeErr) // the DSN cannot run this scenario: nothing was measured
	case probeErr != nil && (errors.Is(probeErr, runner.ErrIncomplete) || ctx.Err() != nil):
		return withCode(exitIncomplete, probeErr)
	case probeErr != nil:
		return withCode(exitIncomplete, probeErr)
	case res == nil || !res.Complete:
		return withCode(exitIncomplete, errors.New("probe incomplete"))
	case res.MaxSustainableRate <= 0:
		return withCode(exitGateFailed, fmt.Errorf("even --min %.0f events/s failed the SLO", f.min))
	}
	return nil
}

func printProbeSummary(w interface{ Write([]byte) (int, error) }, r *probe.Result, out string) {
	fmt.Fprintf(w, "\nprobe %s on %s: max sustainable rate %.0f events/s", r.Scenario, r.Driver.Name, r.MaxSustainableRate)
	if r.FirstFailingRate > 0 {
		fmt.Fprintf(w, " (first failing %.0f, resolution %.0f%%)", r.FirstFailingRate, 100*r.Resolution)
	}
	fmt.Fprintln(w)
	if r.ClientLimitedAt > 0 {
		fmt.Fprintf(w, "  CLIENT LIMITED at %.0f events/s: no rate at or above it says anything about the store\n", r.ClientLimitedAt)
	}
	if d := r.Durability; d != nil {
		fmt.Fprintf(w, "  durability ack after fsync: %s (%s)\n", d.AckAfterFsync, d.Detail)
	}
	if !r.Complete {
		fmt.Fprintf(w, "  INCOMPLETE: %s\n", r.Reason)
	}
	fmt.Fprintf(w, "  result     %s\n", out)
}

// appendPlan prints the capacity plan of a probe and appends it to the
// probe's report.md (the HTML report does not carry it; evbench plan
// prints the same figures).
func appendPlan(stdout, stderr interface{ Write([]byte) (int, error) }, out string, in plan.Input) {
	p, err := plan.Make(in)
	if err != nil {
		fmt.Fprintf(stderr, "evbench: capacity plan: %v\n", err)
		return
	}
	fmt.Fprint(stdout, "\n"+p.Text())
	fh, err := os.OpenFile(filepath.Join(out, "report.md"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		fmt.Fprintf(stderr, "evbench: capacity plan: %v\n", err)
		return
	}
	defer fh.Close()
	fmt.Fprint(fh, "\n"+p.Markdown())
}
