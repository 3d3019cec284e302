package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/scenarios"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files; one line per problem naming file, line, field and fix",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			for _, path := range args {
				sc, err := scenarios.Resolve(path, nil)
				if err == nil {
					err = scenarios.Validate(sc, validateOptions())
				}
				if err != nil {
					bad++
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s, %v)\n", path, sc.Name, sc.TotalDuration())
			}
			if bad > 0 {
				return withCode(exitUsage, fmt.Errorf("%d of %d scenario(s) invalid", bad, len(args)))
			}
			return nil
		},
	})
	rootCmd.AddCommand(&cobra.Command{
		Use:   "scenarios",
		Short: "List the built-in scenarios",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, sc := range scenarios.Builtins() {
				fmt.Fprintf(tw, "%s\t%v\t%s\n", sc.Name, sc.TotalDuration(), sc.Description)
			}
			return tw.Flush()
		},
	})
	rootCmd.AddCommand(&cobra.Command{
		Use:   "drivers",
		Short: "List the store drivers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			all := drivers.All()
			if len(all) == 0 {
				return errors.New("no drivers linked in")
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tEMBEDDED\tDSN\tDESCRIPTION")
			for _, r := range all {
				emb := "no (needs --dsn)"
				if r.Embed != nil {
					emb = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, emb, r.DSNExample, r.Description)
			}
			return tw.Flush()
		},
	})
}
