package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/lab"
	"github.com/vmbench/vmbench/internal/units"
)

func newLabCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Run scenarios in the nested lab, where the KVM path runs on a host without usable KVM",
	}
	var o lab.Options
	var memory string
	run := &cobra.Command{
		Use:   "run [SCENARIO]",
		Short: "Run a scenario inside a TCG guest with emulated SVM, whose vm platforms run under KVM",
		Long: `Boot a first-level guest (L1) under TCG with -cpu max, which emulates AMD
SVM, so that L1's kernel has a /dev/kvm; run the scenario there with this
vmbench, its vm platforms being guests (L2) under KVM inside L1; bring the
run directory back to --results and print its report.

L1's root is a Debian image (QEMU, runc, crun, iproute2, nftables) with this
vmbench binary and the host's guest kernel, built once with mmdebstrap and
mkfs.ext4 and kept in /var/cache/vmbench. L1 mounts a pure cgroup v2
hierarchy. The numbers measure neither hardware KVM nor bare metal: the lab
checks that the KVM path works, and every report of a lab run says so.`,
		Example: `  vmbench lab run scenarios/lab.yaml
  vmbench lab run scenarios/lab.yaml --memory 4GiB --timeout 20m`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			}
			// The host's checks are L1's to make: L1 has its own CPUs,
			// memory and KVM.
			_, text, err := loadPlanned(path, false, true)
			if err != nil {
				return err
			}
			if o.Memory, err = units.ParseSize(memory); err != nil {
				return usageError(fmt.Errorf("--memory: %w", err))
			}
			if o.Binary, err = platformBinary(o.Binary, nil); err != nil {
				return err
			}
			o.ScenarioText, o.Log = text, cmd.ErrOrStderr()
			ctx, stop := interruptible(cmd.Context(), cmd.ErrOrStderr())
			defer stop()
			dir, labErr := lab.Run(ctx, o)
			if dir == "" {
				return labErr
			}
			if err := renderRun(dir, cmd.OutOrStdout(), cmd.ErrOrStderr()); err != nil {
				return errors.Join(labErr, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "report: %s\n", filepath.Join(dir, "report.md"))
			return labErr
		},
	}
	run.Flags().StringVar(&o.ResultsDir, "results", "results", "directory that receives the run directory")
	run.Flags().StringVar(&o.Binary, "agent-binary", "", "static vmbench binary L1 runs (default: this binary)")
	run.Flags().StringVar(&memory, "memory", "3GiB", "L1's memory: room for its vm platforms' guests")
	run.Flags().IntVar(&o.CPUs, "cpus", 2, "L1's vCPUs")
	run.Flags().DurationVar(&o.Timeout, "timeout", time.Hour, "how long L1 may run")
	cmd.AddCommand(run)
	return cmd
}
