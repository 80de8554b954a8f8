// Command vmbench measures what it costs to run containers inside KVM
// virtual machines instead of directly on bare metal.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vmbench/vmbench/internal/kvm/initproc"
)

// Exit codes, as documented in the README.
const (
	exitOK          = 0
	exitInternal    = 1
	exitUsage       = 2
	exitGateFailed  = 3
	exitInterrupted = 4
	// exitTrialsFailed: the run finished, but every trial of some cell
	// failed, so its comparisons have nothing to stand on.
	exitTrialsFailed = 5
	// exitNothingChecked: vmbench gate judged nothing (every check
	// skipped), which passes only by checking nothing.
	exitNothingChecked = 6
)

// exitError carries the exit code an error should end the program with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

// silentExit ends with code without printing anything more.
func silentExit(code int) error { return &exitError{code: code} }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "vmbench",
		Short: "Measure the cost of running containers in KVM guests instead of on bare metal",
		Long: `vmbench runs the same workload, from the same container bundle, as a host
process, in a host container and in a container inside a KVM guest that it
boots itself, and reports the overhead of each platform with confidence
intervals.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionLine(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError(suggestFlag(cmd, err)) })
	root.AddCommand(newRunCmd(), newValidateCmd(), newReportCmd(), newCompareCmd(), newGateCmd(), newCapacityCmd(), newBaselineCmd(), newListCmd(), newVersionCmd(), newSchemaCmd(), newCleanupCmd(), newDoctorCmd(), newLabCmd(), newRunsCmd(), newHistoryCmd(), newPublishCmd(), newMergeCmd(), newAgentCmd())
	// An unknown command reaches the root with its arguments.
	root.Args, root.SuggestionsMinimumDistance = cobra.ArbitraryArgs, 2
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q: `vmbench --help` lists the commands", args[0])
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usageError(errors.New(msg))
	}
	usageArgs(root)
	return root
}

// suggestFlag adds to an unknown flag's error the flags of cmd spelled
// nearly so (one edit, two in a longer name, or a prefix of one), as cobra does for
// commands.
func suggestFlag(cmd *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	edits := 1 // short names are one edit from too many others
	if len(name) >= 6 {
		edits = 2
	}
	var near []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && (editDistance(name, f.Name) <= edits || len(name) >= 3 && strings.HasPrefix(f.Name, name)) {
			near = append(near, "--"+f.Name)
		}
	})
	if len(near) == 0 {
		return fmt.Errorf("%w (%s --help lists the flags)", err, cmd.CommandPath())
	}
	return fmt.Errorf("%w: did you mean %s?", err, strings.Join(near, " or "))
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// usageArgs makes the complaints of the argument checks of cmd's
// subcommands usage errors (exit 2).
func usageArgs(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		if check := c.Args; check != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return usageError(fmt.Errorf("%s: %w (see %s --help)", strings.TrimPrefix(cmd.CommandPath(), "vmbench "), err, cmd.CommandPath()))
				}
				return nil
			}
		}
		usageArgs(c)
	}
}

func main() {
	if initproc.IsInit() {
		initproc.Main() // vmbench is /init in its guests
	}
	os.Exit(execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// execute runs vmbench with args, writing to stdout and stderr, and returns
// its exit code.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	code := exitInternal
	if errors.As(err, &ee) {
		code = ee.code
	}
	if err.Error() != "" && !(ee != nil && ee.err == nil) {
		fmt.Fprintln(stderr, "vmbench:", err)
	}
	return code
}
