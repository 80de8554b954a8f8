package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// Set with -ldflags "-X main.version=... -X main.revision=...".
var (
	version  = "dev"
	revision = ""
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the vmbench version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "vmbench %s", version)
			if revision != "" {
				fmt.Fprintf(cmd.OutOrStdout(), " (%s)", revision)
			}
			fmt.Fprintf(cmd.OutOrStdout(), " %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}
