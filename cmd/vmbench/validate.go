package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/scenario"
)

func newValidateCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "validate SCENARIO",
		Short: "Check a scenario file without running it",
		Long: `Decode and validate SCENARIO and print the plan it makes. Every problem is
listed at once as file:line:col: field.path: message; the exit code is 2
when there is any.`,
		Example: `  vmbench validate scenarios/default.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := loadPlanned(args[0], true, yes)
			if err != nil {
				return err
			}
			gates := ""
			if len(s.Gates) > 0 {
				gates = fmt.Sprintf("; %d gate(s)", len(s.Gates))
			}
			plan := scenario.Describe(s)
			if s.Density != nil {
				plan = scenario.DescribeDensity(s)
			}
			if s.Adaptive(s.Repetitions) {
				plan += fmt.Sprintf("; undecided cells get more rounds at looks %v", s.Looks())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok: scenario %q, %s%s; about %s\n", args[0], s.Name, plan, gates, scenario.Estimate(s).Round(time.Second))
			return nil
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "accept a plan estimated to take longer than the scenario's max_duration")
	return cmd
}
