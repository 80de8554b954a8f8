package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/runner"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
)

func newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the workloads and platform types with their parameters",
		Example: `  vmbench list`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list(cmd.OutOrStdout())
			return nil
		},
	}
}

func list(w io.Writer) {
	fmt.Fprintln(w, "WORKLOADS")
	for _, wl := range workloads.All() {
		fmt.Fprintf(w, "\n  %s — %s\n", wl.Name(), wl.Describe())
		for _, p := range wl.Params() {
			def := p.Default
			if p.DefaultFunc != nil {
				def = p.DefaultFunc() + " on this host"
			}
			kind := string(p.Kind)
			if p.Kind == workload.Enum {
				kind = strings.Join(p.Choices, "|")
			}
			fmt.Fprintf(w, "    param  %-10s %-22s default %-18s %s\n", p.Name, kind, def, p.Help)
		}
		for _, m := range wl.Metrics() {
			fmt.Fprintf(w, "    metric %-10s %-22s %s\n", m.Name, m.Unit, m.Help)
		}
	}
	fmt.Fprintln(w, "\n  every workload — what each successful trial cost the host, measured by the platform")
	for _, m := range workload.CostMetrics {
		fmt.Fprintf(w, "    metric %-10s %-22s %s\n", m.Name, m.Unit, m.Help)
	}
	fmt.Fprintln(w, "\n  density sweeps — what each level cost the host, on the level's own sample (instance 0)")
	for _, m := range runner.DensityMetrics {
		fmt.Fprintf(w, "    metric %-10s %-22s %s\n", m.Name, m.Unit, m.Help)
	}
	fmt.Fprintln(w, "\nPLATFORM TYPES")
	help := map[string]string{
		scenario.Native:    "the agent as a plain host process (the usual baseline)",
		scenario.Container: "the agent in an OCI runtime on the host, from a bundle vmbench writes",
		scenario.VM:        "a KVM guest vmbench boots with QEMU; the agent in runc inside it, or as a guest process",
	}
	for _, t := range scenario.PlatformTypes {
		opts := strings.Join(scenario.PlatformOptions(t), ", ")
		if opts == "" {
			opts = "(none)"
		}
		fmt.Fprintf(w, "\n  %s — %s\n    options: %s\n", t, help[t], opts)
	}
}
