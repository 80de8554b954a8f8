package main

import (
	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/scenario"
)

func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the scenario format as a JSON Schema, for editors",
		Long: `Print the JSON Schema (draft 2020-12) of the scenario format, made from the
declarations vmbench's own decoder reads, so that an editor completes and
checks a scenario's keys. The repository keeps it as
docs/scenario.schema.json, and the shipped scenarios name it on their first
line for the YAML language server:

  # yaml-language-server: $schema=../docs/scenario.schema.json

vmbench validate stays the judge of values (sizes, durations, what fits
in a guest).`,
		Example: `  vmbench schema > scenario.schema.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(scenario.JSONSchema())
			return err
		},
	}
}
