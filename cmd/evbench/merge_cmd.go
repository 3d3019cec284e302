package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/evbench/evbench/reports"
	"github.com/evbench/evbench/reports/merge"
)

func init() {
	var out string
	var partial bool
	cmd := &cobra.Command{
		Use:   "merge SHARD_DIR... --out DIR",
		Short: "Merge the result directories of a sharded run (run --shard i/N) into one result, losslessly",
		Long: `Merge combines the result directories of the N shards of one run (evbench run --shard i/N)
into one normal result directory that report, compare and gate accept:

  evbench merge results/shard-0 results/shard-1 results/shard-2 --out results/merged

HDR histograms and .hlog interval logs are merged bucket by bucket and every percentile is
recomputed from them (never averaged); counters are summed; the delivery check is ok only if
every shard's is; faults, outages and series are aligned on the common clock; the shards'
hosts are listed and their clock offsets estimated (result.json "merge"; a skew above the
larger of 5 ms and 10% of the e2e p50 is flagged in the notes). See docs/reports.md.

Shards of different scenarios, N or run ids, an index given twice or a missing shard are
refused; --partial merges what there is into a result marked incomplete.

Exit codes: 0 merged (and its gates passed); 1 merged but a gate or the delivery check
failed; 2 bad input; 3 merged a partial or incomplete run.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := merge.Dirs(args, out, merge.Options{Partial: partial})
			if err != nil {
				return withCode(exitUsage, err)
			}
			if err := reports.WriteAll(out, res); err != nil {
				return withCode(exitUsage, fmt.Errorf("merge: %w", err))
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "merged %d of %d shard(s) into %s: %d events acked, commit p99 %.3f ms, e2e p99 %.3f ms, max clock skew %.1f ms\n",
				res.Merge.Shards, res.Merge.Count, out, res.Events.Acked, res.Commit.P99, res.E2E.P99, res.Merge.MaxSkewMS)
			for _, n := range res.Notes {
				fmt.Fprintln(cmd.ErrOrStderr(), "evbench: note: "+n)
			}
			switch {
			case !res.Complete:
				return withCode(exitIncomplete, fmt.Errorf("merged result is incomplete: %s", res.Reason))
			case !res.Passed:
				return withCode(exitGateFailed, fmt.Errorf("merged result did not pass (gates or delivery check); see %s/report.md", out))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write the merged result to (required; must not hold a result)")
	cmd.Flags().BoolVar(&partial, "partial", false, "merge even when shards are missing; the result is marked incomplete")
	_ = cmd.MarkFlagRequired("out")
	rootCmd.AddCommand(cmd)
}
