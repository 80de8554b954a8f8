package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/spf13/cobra"
)

// newHideCgroup2Cmd runs a runtime with the host's cgroup2 mount hidden. The
// parent starts it in a new mount namespace (CLONE_NEWNS, made private by Go);
// here the cgroup2 hierarchy is unmounted in that namespace only, so a
// runtime that refuses hybrid hosts (crun 1.8) sees a pure cgroup v1 host.
func newHideCgroup2Cmd() *cobra.Command {
	return &cobra.Command{
		Use:                "hide-cgroup2 RUNTIME [ARGS...]",
		Short:              "Exec an OCI runtime in a mount namespace without /sys/fs/cgroup/unified",
		Args:               cobra.MinimumNArgs(1),
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := syscall.Unmount("/sys/fs/cgroup/unified", syscall.MNT_DETACH); err != nil {
				return fmt.Errorf("hide cgroup2 (was vmbench started in a new mount namespace?): %w", err)
			}
			return syscall.Exec(args[0], args, os.Environ())
		},
	}
}
