package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/scenario"
)

// Prefix starts the name of everything vmbench creates, so that Sweep can
// find what a killed run left behind.
const Prefix = "vmbench-"

// Sweep removes what killed runs left behind: containers of every runtime
// QEMU processes and temp dirs named vmbench-*. With dryRun it only lists them. It returns
// how many it found.
func Sweep(ctx context.Context, self string, dryRun bool, log io.Writer) (int, error) {
	found := 0
	act := func(what string, undo func() error) {
		found++
		if dryRun {
			fmt.Fprintf(log, "would remove %s\n", what)
			return
		}
		if err := undo(); err != nil {
			fmt.Fprintf(log, "could not remove %s: %v\n", what, err)
			return
		}
		fmt.Fprintf(log, "removed %s\n", what)
	}
	for _, name := range []string{"runc", "crun"} {
		if _, err := exec.LookPath(name); err != nil {
			continue
		}
		rt, err := platform.NewRuntime(name, self)
		if err != nil {
			return found, err
		}
		ids, err := rt.List(ctx)
		if err != nil {
			fmt.Fprintf(log, "%v\n", err)
			continue
		}
		for _, id := range ids {
			if strings.HasPrefix(id, Prefix) {
				act(name+" container "+id, func() error { return rt.Delete(id) })
			}
		}
	}
	for _, q := range kvm.Leftovers("/proc", Prefix) {
		act(fmt.Sprintf("QEMU pid %d (%s)", q.PID, q.Name), func() error { return syscall.Kill(q.PID, syscall.SIGKILL) })
	}
	for _, t := range platform.Tables(ctx, Prefix) {
		act("nftables table "+t, func() error { return platform.DeleteTable(t) })
	}
	links, namespaces := platform.Links(ctx, Prefix)
	for _, ns := range namespaces {
		act("network namespace "+ns, func() error { return platform.DeleteNamespace(ns) })
	}
	for _, l := range links {
		act("network link "+l, func() error { return platform.DeleteLink(l) })
	}
	// Temp dirs, and scratch dirs under the default scratch_dir.
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), Prefix+"*"))
	scratch, _ := filepath.Glob(filepath.Join(scenario.DefaultScratchDir, Prefix+"*"))
	for _, d := range append(dirs, scratch...) {
		act("temp dir "+d, func() error { return os.RemoveAll(d) })
	}
	return found, nil
}
