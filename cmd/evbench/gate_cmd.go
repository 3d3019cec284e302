package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/evbench/evbench/reports/gate"
	"github.com/evbench/evbench/reports/measure"
)

func init() {
	var baseline string
	var exprs []string
	cmd := &cobra.Command{
		Use:   "gate RESULT",
		Short: "Judge a result with threshold expressions (and regressions against a baseline); exit 1 on failure",
		Long: `Gate evaluates k6-style thresholds against a result directory or result.json:

  evbench gate results/x --gate "commit.p95 < 20ms" --gate "delivery.lost == 0"
  evbench gate results/new --baseline results/old --gate "commit.p99 < baseline * 1.10"

Without --gate, the gates stored in the result (the scenario's gates:) are used.
With --baseline and no expression mentioning "baseline", default regression checks
apply with a noise tolerance: commit.p99 and e2e.p99 may worsen by 10% + 1 ms,
rebuild.events_per_sec may drop by 10%. Metric names and syntax: docs/reports.md.

Exit codes: 0 every gate passed; 1 a gate failed (or its metric is absent);
2 invalid expression or unreadable result.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runGate(cmd, args[0], baseline, exprs) },
	}
	cmd.Flags().StringVar(&baseline, "baseline", "", "result to compare against (directory or result.json)")
	cmd.Flags().StringArrayVar(&exprs, "gate", nil, `threshold expression, e.g. "commit.p95 < 20ms" (repeatable)`)
	rootCmd.AddCommand(cmd)
}

func runGate(cmd *cobra.Command, path, baselinePath string, exprs []string) error {
	r, err := measure.ReadResult(path)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if !r.Complete {
		fmt.Fprintf(cmd.ErrOrStderr(), "evbench: warning: %s is an incomplete run (%s); its numbers cover only part of the scenario\n", path, r.Reason)
	}
	var base *measure.Result
	if baselinePath != "" {
		if base, err = measure.ReadResult(baselinePath); err != nil {
			return withCode(exitUsage, fmt.Errorf("--baseline: %w", err))
		}
	}
	if len(exprs) == 0 {
		for _, g := range r.Gates {
			exprs = append(exprs, g.Expr)
		}
	}
	var bad []string
	usesBaseline := false
	for _, s := range exprs {
		if err := gate.Check(s); err != nil {
			bad = append(bad, err.Error())
			continue
		}
		if e, _ := gate.Parse(s); e != nil && e.UsesBaseline() {
			usesBaseline = true
		}
	}
	if len(bad) > 0 {
		return usageErr("%s", strings.Join(bad, "\n"))
	}
	results := measure.EvaluateGates(r, exprs, base)
	if base != nil && !usesBaseline {
		results = append(results, measure.EvaluateRegressions(r, base)...)
	}
	if len(results) == 0 {
		return usageErr("%s: no gates to check: the result stores none; pass --gate EXPR or --baseline OLD", path)
	}
	out := cmd.OutOrStdout()
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	failed := 0
	for _, g := range results {
		status := "PASS"
		if !g.Pass {
			status = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", status, g.Expr, describeGate(g))
	}
	tw.Flush()
	if failed > 0 {
		return withCode(exitGateFailed, fmt.Errorf("%d of %d gate(s) failed", failed, len(results)))
	}
	fmt.Fprintf(out, "all %d gate(s) passed\n", len(results))
	return nil
}

// describeGate says the value, threshold, baseline and worse direction.
func describeGate(g measure.GateResult) string {
	if g.Error != "" {
		return g.Error
	}
	unit := ""
	if g.Unit != "" && g.Unit != gate.UnitRatio {
		unit = " " + g.Unit
	}
	s := fmt.Sprintf("value %.6g%s, threshold %.6g%s", g.Value, unit, g.Threshold, unit)
	if g.Baseline != nil {
		s += fmt.Sprintf(", baseline %.6g%s", *g.Baseline, unit)
	}
	if g.Worse != "" {
		s += " (" + g.Worse + ")"
	}
	return s
}
