package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/report"
)

func newCompareCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "compare RUN_A RUN_B",
		Short: "Compare two stored runs (before and after a change)",
		Long: `Print, for every workload, variant, metric and platform the two runs share,
the median of A and of B and the verdict on B's overhead versus A (the
extra cost per unit of work in B, with its 95% interval: negligible within
run A's margin, overhead, better or inconclusive; the two runs' trials
cannot be paired, so the interval is a bootstrap of the medians).
Differences between the two hosts, or in a guest's accelerator, are printed
as warnings above the table.`,
		Example: `  vmbench compare results/20261124-221500-3fa2 results/20261125-093000-77c1`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name != "text" && name != "markdown" && name != "json" {
				return usageError(fmt.Errorf("--format must be text, markdown or json, got %q", name))
			}
			a, err := loadRun(args[0])
			if err != nil {
				return err
			}
			b, err := loadRun(args[1])
			if err != nil {
				return err
			}
			t := report.Compare(a.table, b.table)
			switch name {
			case "markdown":
				return report.Markdown(cmd.OutOrStdout(), t)
			case "json":
				return report.JSON(cmd.OutOrStdout(), t)
			}
			return report.Text(cmd.OutOrStdout(), t)
		},
	}
	cmd.Flags().StringVar(&name, "format", "text", "text, markdown or json")
	return cmd
}
