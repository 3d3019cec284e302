package main

import (
	"github.com/spf13/cobra"

	"github.com/evbench/evbench/chaos"
	"github.com/evbench/evbench/scenarios"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the scenario YAML format (for editors: docs/scenarios.md)",
		Long: `Schema prints a JSON Schema (draft 2020-12) of scenario files, generated from the
scenario types, with the fields' descriptions, defaults, enums and ranges. Point an
editor's YAML language server at it for completion and inline errors:

  evbench schema > evbench.schema.json

and start a scenario file with
  # yaml-language-server: $schema=./evbench.schema.json

The schema checks each field on its own; ` + "`evbench validate`" + ` remains the authority
(it also checks fields against each other and each fault kind's parameters).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The fault kinds live in chaos, which imports scenarios, so
			// they are passed in rather than looked up by scenarios.
			b, err := scenarios.JSONSchema(scenarios.JSONSchemaOptions{FaultKinds: chaos.Kinds(), StoreFaultKinds: chaos.StoreKinds()})
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	})
}
