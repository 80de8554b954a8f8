package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/runner"
)

func newCleanupCmd() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what killed runs left behind (containers, guests, links, temp dirs of vmbench runs)",
		Long: `A run tears down everything it created, also when it fails or is
interrupted. A run killed with SIGKILL cannot: this command finds its
leftovers and removes them. It touches only what vmbench names
(vmbench-<run-id>-…: a directory that merely starts with vmbench- is not
vmbench's), and never what belongs to a run that is alive: a run holds a
lock under /run/vmbench for as long as it lives, and cleanup lists the
live runs it skipped.`,
		Example: `  vmbench cleanup --dry-run
  vmbench cleanup`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			n, err := runner.RemoveLeftovers(cmd.Context(), self, dryRun, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			if n == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing to clean up")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only list what would be removed")
	return cmd
}
