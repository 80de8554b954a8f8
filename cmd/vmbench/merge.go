package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/fleet"
	"github.com/vmbench/vmbench/internal/rundir"
)

func newMergeCmd() *cobra.Command {
	var results string
	cmd := &cobra.Command{
		Use:   "merge DIR...",
		Short: "Merge the runs of several hosts into one fleet run, the host a dimension",
		Long: `Merges the runs of one scenario on several hosts (the host directories the
Ansible playbook in deploy/ansible fetches back, or plain run directories)
into one fleet run under --results, written like any run: report, gate and
compare work on it. Its report has each host's overheads and the fleet's,
whose interval holds both the trial noise and the spread between hosts
(Student's t over the hosts' overheads), and says where the hosts
differ. A host whose doctor or run failed is listed with the reason; the
others merge.`,
		Example: `  vmbench merge results/fleet/*
  vmbench gate results/<fleet-run-id>`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			id := rundir.NewRunID(time.Now())
			out := filepath.Join(results, id)
			info, err := fleet.Merge(dirs, out, id)
			if ie := (*fleet.InputError)(nil); errors.As(err, &ie) {
				return usageError(err)
			} else if err != nil {
				return err
			}
			for _, h := range info.Fleet.Hosts {
				if h.Status != "ok" {
					fmt.Fprintf(cmd.ErrOrStderr(), "host %s: %s, left out: %s\n", h.Name, h.Status, h.Error)
				}
			}
			if err := renderRun(out, cmd.OutOrStdout(), cmd.ErrOrStderr()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "fleet run: %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&results, "results", "results", "where the fleet run goes")
	return cmd
}
