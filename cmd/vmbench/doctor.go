package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/doctor"
)

func newDoctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check what this host can run and say what to fix",
		Long: `Check root, runc and crun, the cgroup layout, QEMU, the guest kernel and
/dev/kvm, then boot a probe guest under KVM (does KVM really run a guest
here?) and one under TCG that runs a workload in runc inside the guest.
Exits 1 when a platform of the default scenario cannot run.`,
		Example: `  vmbench doctor`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			r := doctor.Run(cmd.Context(), doctor.Options{Binary: self, Log: cmd.ErrOrStderr()})
			if !doctor.Print(cmd.OutOrStdout(), r) {
				return silentExit(exitInternal)
			}
			return nil
		},
	}
}
