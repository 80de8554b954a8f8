package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/platform"
)

// Set with -ldflags "-X main.version=... -X main.revision=..." (scripts/lib.sh
// does); otherwise taken from the build info that go build and go install
// record.
var (
	version  = ""
	revision = ""
)

func init() { version, revision = buildVersion(version, revision) }

// buildVersion fills in what the linker flags left empty from the build
// info: the module version (v1.2.3 for go install …@v1.2.3, a pseudo-version
// or "(devel)" for a build in a clone) and the VCS revision, marked -dirty
// when the tree had changes.
func buildVersion(v, rev string) (string, string) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		if rev == "" {
			var modified bool
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
					if len(rev) > 12 {
						rev = rev[:12]
					}
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
			if rev != "" && modified {
				rev += "-dirty"
			}
		}
	}
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	return v, rev
}

// versionLine is what vmbench --version and vmbench version print.
func versionLine() string {
	s := "vmbench " + version
	if revision != "" {
		s += " (" + revision + ")"
	}
	s += fmt.Sprintf(" %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if exe, err := os.Executable(); err == nil && platform.CheckStatic(exe) != nil {
		s += ", dynamically linked: runs native platforms only (" + platform.StaticBuildHint + ")"
	}
	return s
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the vmbench version (also vmbench --version)",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), versionLine())
		},
	}
}
