// Command vmbench measures what it costs to run containers inside KVM
// virtual machines instead of directly on bare metal.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/kvm/initproc"
)

// Exit codes, as documented in the README.
const (
	exitOK          = 0
	exitInternal    = 1
	exitUsage       = 2
	exitGateFailed  = 3
	exitInterrupted = 4
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
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.AddCommand(newRunCmd(), newValidateCmd(), newReportCmd(), newCompareCmd(), newGateCmd(), newCapacityCmd(), newBaselineCmd(), newListCmd(), newVersionCmd(), newCleanupCmd(), newDoctorCmd(), newAgentCmd())
	return root
}

func main() {
	if initproc.IsInit() {
		initproc.Main() // vmbench is /init in its guests
	}
	os.Exit(execute(context.Background(), os.Args[1:]))
}

func execute(ctx context.Context, args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	code := exitInternal
	if errors.As(err, &ee) {
		code = ee.code
	} else if isArgError(err) {
		code = exitUsage
	}
	if err.Error() != "" && !(ee != nil && ee.err == nil) {
		fmt.Fprintln(os.Stderr, "vmbench:", err)
	}
	return code
}
