package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/evbench/evbench/reports"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "report RESULT_DIR",
		Short: "Regenerate report.md, report.html, junit.xml and plots from result.json and the .hlog files",
		Long: `Report rewrites every artefact of a result directory except result.json and the .hlog
interval logs, which hold the lossless data. Use it after upgrading evbench, or after
editing gates in result.json by hand.

Exit codes: 0 ok; 2 the result is unreadable or an interval log is missing (what could
be written still is).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := reports.Regenerate(args[0]); err != nil {
				return withCode(exitUsage, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "regenerated %s: %s, %s, %s, %s/\n", args[0],
				reports.MarkdownFile, reports.HTMLFile, reports.JUnitFile, reports.PlotsDir)
			return nil
		},
	})
}
