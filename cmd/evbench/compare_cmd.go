package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/evbench/evbench/probe"
	"github.com/evbench/evbench/reports"
	"github.com/evbench/evbench/reports/measure"
)

func init() {
	var htmlOut string
	cmd := &cobra.Command{
		Use:   "compare A B [C...]",
		Short: "Compare results side by side (commit/e2e latency, throughput, rebuild, catch-up, lost)",
		Long: `Compare prints the key metrics of several results (directories or result.json files)
side by side, with the change relative to the first. Results of different scenarios
may be compared, with a visible warning. --html writes a self-contained page with
overlaid percentile spectra.

Probe directories (holding probe.json) are compared with each other: max sustainable
rate, first failing rate, commit p99 interpolated at 50 % and 80 % of each probe's max,
durability. Probes and runs cannot be mixed in one comparison.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if probes, err := probeArgs(args); err != nil {
				return withCode(exitUsage, err)
			} else if probes {
				return compareProbes(cmd, args, htmlOut)
			}
			var rs []*measure.Result
			for _, p := range args {
				r, err := measure.ReadResult(p)
				if err != nil {
					return withCode(exitUsage, err)
				}
				rs = append(rs, r)
			}
			c := reports.NewComparison(resultNames(args), rs)
			return printComparison(cmd, c.Warnings, c.Text(), func() ([]byte, error) { return reports.RenderCompareHTML(c) }, htmlOut)
		},
	}
	cmd.Flags().StringVar(&htmlOut, "html", "", "also write a combined HTML report to this file")
	rootCmd.AddCommand(cmd)
}

// resultNames names each result by its directory, made unique.
func resultNames(paths []string) []string {
	seen := map[string]int{}
	var out []string
	for _, p := range paths {
		name := filepath.Base(filepath.Clean(p))
		if name == measure.ResultFile || name == probe.FileName {
			name = filepath.Base(filepath.Dir(filepath.Clean(p)))
		}
		seen[name]++
		if seen[name] > 1 {
			name = fmt.Sprintf("%s#%d", name, seen[name])
		}
		out = append(out, name)
	}
	return out
}

// probeArgs reports whether every argument is a probe (a directory with
// probe.json, or probe.json itself); a mix of probes and runs is refused,
// since a run has no max sustainable rate and a probe no single latency.
func probeArgs(args []string) (bool, error) {
	var probes, runs []string
	for _, a := range args {
		if _, err := os.Stat(a); err != nil {
			continue // the reader names the missing file
		}
		if reports.IsProbe(a) {
			probes = append(probes, a)
		} else {
			runs = append(runs, a)
		}
	}
	if len(probes) > 0 && len(runs) > 0 {
		return false, fmt.Errorf("compare: %s is a probe (%s) but %s is a run result: compare probes with probes and runs with runs (a step's own run directory can be compared with runs)",
			probes[0], probe.FileName, runs[0])
	}
	return len(probes) > 0, nil
}

// compareProbes prints (and with --html writes) a probe comparison.
func compareProbes(cmd *cobra.Command, args []string, htmlOut string) error {
	var rs []*probe.Result
	for _, p := range args {
		r, err := probe.ReadResult(p)
		if err != nil {
			return withCode(exitUsage, err)
		}
		rs = append(rs, r)
	}
	c := reports.NewProbeComparison(resultNames(args), rs)
	return printComparison(cmd, c.Warnings, c.Text(), func() ([]byte, error) { return reports.RenderProbeCompareHTML(c) }, htmlOut)
}

// printComparison prints a comparison's warnings (stderr) and table
// (stdout), and with --html writes its page.
func printComparison(cmd *cobra.Command, warnings []string, text string, html func() ([]byte, error), htmlOut string) error {
	for _, w := range warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "evbench: "+w)
	}
	fmt.Fprint(cmd.OutOrStdout(), text)
	if htmlOut == "" {
		return nil
	}
	b, err := html()
	if err != nil {
		return err
	}
	if err := os.WriteFile(htmlOut, b, 0o644); err != nil {
		return fmt.Errorf("--html: write %s: %w", htmlOut, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", htmlOut)
	return nil
}
