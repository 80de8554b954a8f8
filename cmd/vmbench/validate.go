package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/scenario"
)

// ValidateSchema names the layout of vmbench validate --json.
const ValidateSchema = "vmbench.validate/v1"

type validateOptions struct {
	yes, asJSON bool
	sets, only  []string
}

// validation is vmbench validate's answer, for text and JSON alike.
type validation struct {
	Schema   string  `json:"schema"`
	File     string  `json:"file"`
	OK       bool    `json:"ok"`
	Scenario string  `json:"scenario,omitempty"`
	Plan     string  `json:"plan,omitempty"`
	Trials   int     `json:"trials,omitempty"`
	Looks    []int   `json:"looks,omitempty"` // adaptive: the rounds at which cells are judged
	Gates    int     `json:"gates"`
	Estimate float64 `json:"estimate_seconds,omitempty"`
	// EstimateMost: the most an adaptive run should take, its looks
	// adding every round they may within time_budget.
	EstimateMost float64   `json:"estimate_most_seconds,omitempty"`
	Problems     []problem `json:"problems"`
}

// problem is one of the scenario's problems, where it is written.
type problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

func newValidateCmd() *cobra.Command {
	var o validateOptions
	cmd := &cobra.Command{
		Use:   "validate SCENARIO",
		Short: "Check a scenario file without running it",
		Long: `Decode and validate SCENARIO (with --set and --only applied, as vmbench run
applies them) and print the plan it makes. Every problem is listed at once
as file:line:col: field.path: message; the exit code is 2 when there is
any. --json prints the answer as one JSON document (schema
vmbench.validate/v1), the problems included.`,
		Example: `  vmbench validate scenarios/default.yaml
  vmbench validate scenarios/default.yaml --set repetitions=8 --only cpu,native --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := validation{Schema: ValidateSchema, File: args[0]}
			s, _, err := loadEdited(args[0], true, o.yes, o.sets, o.only)
			if err != nil {
				var errs scenario.Errors
				if !o.asJSON || !errors.As(err, &errs) {
					return err
				}
				for _, e := range errs {
					v.Problems = append(v.Problems, problem{e.File, e.Pos.Line, e.Pos.Col, e.Path, e.Msg})
				}
				if err := writeJSON(cmd.OutOrStdout(), v); err != nil {
					return err
				}
				return silentExit(exitUsage)
			}
			v.OK, v.Scenario, v.Gates, v.Trials = true, s.Name, len(s.Gates), scenario.Trials(s)
			v.Plan = scenario.Describe(s)
			if s.Density != nil {
				v.Plan = scenario.DescribeDensity(s)
			}
			if s.Adaptive(s.Repetitions) {
				v.Looks = s.Looks()
			}
			h := estimateHost()
			v.Estimate, v.EstimateMost = scenario.Estimate(s, h).Seconds(), scenario.EstimateMost(s, h).Seconds()
			if o.asJSON {
				v.Problems = []problem{}
				return writeJSON(cmd.OutOrStdout(), v)
			}
			plan, gates := v.Plan, ""
			if len(v.Looks) > 0 {
				plan += fmt.Sprintf("; undecided cells get more rounds at looks %v", v.Looks)
			}
			if v.Gates > 0 {
				gates = fmt.Sprintf("; %d gate(s)", v.Gates)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok: scenario %q, %s%s; %s\n", args[0], s.Name, plan, gates, estimateText(s))
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.yes, "yes", false, "accept a plan estimated to take longer than the scenario's max_duration")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print JSON (schema vmbench.validate/v1) instead of text")
	cmd.Flags().StringArrayVar(&o.sets, "set", nil, "key=value overriding the scenario, as vmbench run --set; repeatable")
	cmd.Flags().StringSliceVar(&o.only, "only", nil, "keep only these workloads and platforms, as vmbench run --only")
	return cmd
}
