package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

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
overlaid percentile spectra.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rs []*measure.Result
			for _, p := range args {
				r, err := measure.ReadResult(p)
				if err != nil {
					return withCode(exitUsage, err)
				}
				rs = append(rs, r)
			}
			c := reports.NewComparison(resultNames(args), rs)
			for _, w := range c.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "evbench: "+w)
			}
			fmt.Fprint(cmd.OutOrStdout(), c.Text())
			if htmlOut != "" {
				b, err := reports.RenderCompareHTML(c)
				if err != nil {
					return err
				}
				if err := os.WriteFile(htmlOut, b, 0o644); err != nil {
					return fmt.Errorf("--html: write %s: %w", htmlOut, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", htmlOut)
			}
			return nil
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
		if name == measure.ResultFile {
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
