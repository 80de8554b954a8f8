package main

import (
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/doctor"
	"github.com/vmbench/vmbench/internal/remote"
	"github.com/vmbench/vmbench/internal/rundir"
	"github.com/vmbench/vmbench/internal/scenario"
)

func newDoctorCmd() *cobra.Command {
	var file string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check what this host can run and say what to fix",
		Long: `Check root, runc and crun, the cgroup layout, QEMU, the guest kernel and
/dev/kvm, then boot a probe guest under KVM (does KVM really run a guest
here?) and one under TCG that runs a workload in runc inside the guest.
Exits 1 when a platform of the default scenario (or of --scenario's) cannot
run; with --scenario, only its platform types are checked (no guest boots
for a scenario without vm platforms). A scenario's remote machines are each
checked over SSH: reachable, authenticated, root or passwordless sudo,
x86-64, the runtime installed, room for the agent's placement. --json prints
the checks and the verdicts as one JSON document (schema vmbench.doctor/v1).`,
		Example: `  vmbench doctor
  vmbench doctor --scenario my.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			var types []string
			var remotes []*remote.Platform
			if file != "" {
				s, _, err := scenario.LoadFile(file)
				if err != nil {
					return err
				}
				types = []string{"native"}
				for _, p := range s.Platforms {
					if p.Type == scenario.Remote {
						remotes = append(remotes, &remote.Platform{PlatformName: p.Name, Binary: self, RemoteOptions: p.Remote})
					}
					if !slices.Contains(types, p.Type) {
						types = append(types, p.Type)
					}
				}
			}
			if len(types) == 0 || slices.Contains(types, scenario.VM) {
				// Its probe guests (vmbench-doctor-…) are a live run's,
				// which a concurrent vmbench cleanup leaves alone.
				release, err := rundir.LockRun(rundir.DoctorID)
				if err != nil {
					return err
				}
				defer release()
			}
			r := doctor.Run(cmd.Context(), doctor.Options{Binary: self, Log: cmd.ErrOrStderr(), Types: types, Remotes: remotes})
			ok := true
			if asJSON {
				if ok, err = doctor.JSON(cmd.OutOrStdout(), r, types); err != nil {
					return err
				}
			} else {
				ok = doctor.Print(cmd.OutOrStdout(), r, types)
			}
			if !ok {
				return silentExit(exitInternal)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "scenario", "", "check only what this scenario's platforms need")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (schema vmbench.doctor/v1) instead of text")
	return cmd
}
