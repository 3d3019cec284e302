package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/evbench/evbench/scenarios/omb"
)

func init() {
	imp := &cobra.Command{
		Use:   "import",
		Short: "Convert another benchmark's workload file into an evbench scenario",
	}
	ombCmd := &cobra.Command{
		Use:   "omb FILE",
		Short: "Convert an OpenMessaging Benchmark workload YAML into an evbench scenario (printed on stdout)",
		Long: `Import omb reads an OpenMessaging Benchmark workload (the YAML of OMB's Workload: topics,
partitionsPerTopic, messageSize, producerRate, ...) and prints the equivalent evbench scenario.
A header of comments names the source, the store parameters the workload implies (Kafka
partitions = topics x partitionsPerTopic), and every difference from what OMB would run, as
"# warning:" lines; the warnings are also printed on stderr. producerRate: 0 (OMB's "find the
maximum rate") is answered by evbench probe on the printed file.

evbench run --omb FILE converts and runs a workload in one step. See docs/scenarios.md,
"OpenMessaging Benchmark workloads", for the mapping.

Exit codes: 0 converted; 2 the file cannot be read or is not a valid OMB workload.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return importOMB(cmd, args[0]) },
	}
	imp.AddCommand(ombCmd)
	rootCmd.AddCommand(imp)
}

func importOMB(cmd *cobra.Command, path string) error {
	r, err := omb.Convert(path)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if _, err := cmd.OutOrStdout().Write(r.Render()); err != nil {
		return withCode(exitIncomplete, fmt.Errorf("write scenario: %w", err))
	}
	printOMBWarnings(cmd.ErrOrStderr(), r)
	return nil
}

func printOMBWarnings(w io.Writer, r *omb.Result) {
	for _, msg := range r.Warnings {
		fmt.Fprintf(w, "evbench: warning: %s\n", msg)
	}
}

// ombScenarioFile is the converted scenario's name in the output directory:
// the run's scenario source, and the record of what was run.
const ombScenarioFile = "omb-scenario.yaml"

// runOMB is `evbench run --omb FILE`: it converts the workload, writes the
// scenario into the output directory and runs it through runScenario (or,
// for producerRate: 0, probes it through runProbe), so a converted workload
// gets exactly the checks and reports of any other scenario.
func runOMB(cmd *cobra.Command, args []string, f runFlags) error {
	if len(args) > 0 {
		return usageErr("--omb %s and the scenario %q exclude each other: pass one of them", f.omb, args[0])
	}
	r, err := omb.Convert(f.omb)
	if err != nil {
		return withCode(exitUsage, err)
	}
	stderr := cmd.ErrOrStderr()
	printOMBWarnings(stderr, r)
	f.dsn = ombDSN(stderr, f.driver, f.dsn, r)

	out := f.out
	if out == "" {
		prefix := ""
		if r.NeedsProbe {
			prefix = "probe-"
		}
		out = filepath.Join("results", fmt.Sprintf("%s%s-%s-%s", prefix, r.Scenario.Name, f.driver, time.Now().UTC().Format("20060102T150405Z")))
	}
	_, statErr := os.Stat(out)
	created := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return withCode(exitUsage, fmt.Errorf("--out %s: %w", out, err))
	}
	path := filepath.Join(out, ombScenarioFile)
	if err := os.WriteFile(path, r.Render(), 0o644); err != nil {
		return withCode(exitUsage, fmt.Errorf("--out %s: %w", out, err))
	}
	f.out = out

	if r.NeedsProbe {
		err = probeOMB(cmd, path, f)
	} else {
		err = runScenario(cmd, path, f)
	}
	// A usage error starts nothing: leave no directory behind that only
	// holds the converted scenario.
	var ee *exitError
	if created && errors.As(err, &ee) && ee.code == exitUsage {
		os.RemoveAll(out)
	}
	return err
}

// probeOMB answers producerRate: 0 with evbench probe's search, using the
// probe command's own defaults for what run has no flag for.
func probeOMB(cmd *cobra.Command, path string, f runFlags) error {
	if f.shard.shard != "" {
		return usageErr("--shard with --omb %s: its producerRate: 0 asks for a probe, which does not shard; drop --shard, or set producerRate to a rate in the workload to run it sharded", f.omb)
	}
	pc, _, err := rootCmd.Find([]string{"probe"})
	if err != nil || pc.Name() != "probe" {
		return withCode(exitUsage, errors.New("producerRate: 0 asks for the maximum rate, but the probe command is missing: run evbench probe on the converted scenario"))
	}
	fl := pc.Flags()
	pf := probeFlags{driver: f.driver, dsn: f.dsn, out: f.out, sets: f.sets, quiet: f.quiet}
	var errs []error
	get := func(v float64, err error) float64 { errs = append(errs, err); return v }
	getD := func(v time.Duration, err error) time.Duration { errs = append(errs, err); return v }
	pf.min, pf.max, pf.resolution = get(fl.GetFloat64("min")), get(fl.GetFloat64("max")), get(fl.GetFloat64("resolution"))
	pf.step, pf.warmup = getD(fl.GetDuration("step")), getD(fl.GetDuration("warmup"))
	if err := errors.Join(errs...); err != nil {
		return withCode(exitUsage, fmt.Errorf("producerRate: 0: reading evbench probe's defaults: %w", err))
	}
	stderr := cmd.ErrOrStderr()
	if f.duration != 0 || f.rateScale != 1 {
		fmt.Fprintf(stderr, "evbench: warning: --duration and --rate-scale do not apply to a probe (producerRate: 0); use evbench probe %s --step/--min/--max to tune it\n", path)
	}
	fmt.Fprintf(stderr, "evbench: producerRate: 0 asks for the maximum rate: probing, as evbench probe %s would\n", path)
	return runProbe(cmd, path, pf)
}

// ombDSN adds the workload's store parameters to dsn (a parameter the user
// already set wins, with a warning if it differs). The embedded stores take
// no DSN, so with an empty dsn the parameters cannot apply: say so.
func ombDSN(stderr io.Writer, driver, dsn string, r *omb.Result) string {
	params := r.DSNParams[driver]
	if len(params) == 0 {
		return dsn
	}
	if dsn == "" {
		fmt.Fprintf(stderr, "evbench: warning: %s applies only with --dsn (the embedded %s store takes no parameters, so its topic keeps the driver's default), e.g. --dsn '%s'\n",
			omb.EncodeParams(params), driver, omb.ExampleDSN(driver, params))
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn // runScenario's --dsn check reports it
	}
	q := u.Query()
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch have := q.Get(k); {
		case have == "":
			q.Set(k, params[k])
		case have != params[k]:
			fmt.Fprintf(stderr, "evbench: warning: --dsn sets %s=%s, the workload implies %s=%s; keeping --dsn's\n", k, have, k, params[k])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
