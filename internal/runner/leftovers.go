package runner

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/vmbench/vmbench/internal/engine"
	"github.com/vmbench/vmbench/internal/hostnet"
	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/rundir"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/virt"
)

// RemoveLeftovers removes what killed runs left behind: containers of every runtime,
// QEMU processes, nftables tables, network namespaces and links, temp and
// scratch dirs — only those whose names vmbench gives (vmbench-<run-id>-…),
// and never those of a run that is alive (it holds its lock), which it
// lists as skipped. With dryRun it only lists them. It returns how many it
// found to remove.
func RemoveLeftovers(ctx context.Context, self string, dryRun bool, log io.Writer) (int, error) {
	sw := &remover{live: rundir.LiveRuns(), now: rundir.LiveRuns, dryRun: dryRun, log: log, skipped: map[string]int{}}
	defer sw.report()
	act := sw.act
	for _, name := range []string{"runc", "crun", "runsc"} {
		if _, err := exec.LookPath(name); err != nil {
			continue
		}
		rt, err := platform.NewRuntime(name, self)
		if err != nil {
			return sw.found, err
		}
		ids, err := rt.List(ctx)
		if err != nil {
			fmt.Fprintf(log, "%v\n", err)
			continue
		}
		for _, id := range ids {
			act(name+" container "+id, id, func() error { return rt.Delete(id) })
		}
	}
	engineLeftovers(ctx, act, log)
	for _, q := range kvm.Leftovers("/proc", result.NamePrefix) {
		act(fmt.Sprintf("QEMU pid %d (%s)", q.PID, q.Name), q.Name, func() error { return syscall.Kill(q.PID, syscall.SIGKILL) })
	}
	domains, err := virt.Leftovers(result.NamePrefix)
	if err != nil {
		fmt.Fprintf(log, "libvirt domains: %v\n", err)
	}
	for _, d := range domains {
		act("libvirt domain "+d, d, func() error { return virt.Destroy(d) })
	}
	for _, t := range hostnet.Tables(ctx, result.NamePrefix) {
		act("nftables table "+t, t, func() error { return hostnet.DeleteTable(t) })
	}
	links, namespaces := hostnet.Links(ctx, result.NamePrefix)
	for _, ns := range namespaces {
		act("network namespace "+ns, ns, func() error { return hostnet.DeleteNamespace(ns) })
	}
	for _, l := range links {
		act("network link "+l, l, func() error { return hostnet.DeleteLink(l) })
	}
	dirLeftovers([]string{os.TempDir(), scenario.DefaultScratchDir}, act)
	for _, cg := range platform.Cgroups("/sys/fs/cgroup", result.NamePrefix) {
		act("cgroup "+cg, strings.TrimPrefix(cg, "/"), func() error { return platform.RemoveCgroup("/sys/fs/cgroup", cg) })
	}
	rundir.RemoveStaleLocks(dryRun, log)
	return sw.found, nil
}

// engineLeftovers offers act the containers and images of docker and podman
// that vmbench names, of the engines this host has. A docker whose daemon
// does not run has none to offer.
func engineLeftovers(ctx context.Context, act func(what, name string, undo func() error), log io.Writer) {
	for _, name := range options.Engines {
		if _, err := exec.LookPath(name); err != nil {
			continue
		}
		e, err := engine.New(ctx, name)
		if err != nil {
			fmt.Fprintf(log, "%v\n", err)
			continue
		}
		containers, err := e.Containers(ctx, result.NamePrefix)
		if err != nil {
			if !strings.Contains(err.Error(), "daemon does not answer") {
				fmt.Fprintf(log, "%v\n", err)
			}
			continue
		}
		for _, c := range containers {
			act(name+" container "+c, c, func() error { return e.Remove(c) })
		}
		images, err := e.Images(ctx, result.NamePrefix)
		if err != nil {
			fmt.Fprintf(log, "%v\n", err)
		}
		for _, ref := range images {
			repo, _, _ := strings.Cut(ref, ":")
			act(name+" image "+ref, repo, func() error { return e.RemoveImage(ref) })
		}
	}
}

// remover removes (or, dry, lists) what it is offered, when its name is
// vmbench's and its run is not alive.
type remover struct {
	live    []string        // the runs alive at the first look
	now     func() []string // the runs alive now (rundir.LiveRuns)
	dryRun  bool
	log     io.Writer
	found   int
	skipped map[string]int // resources of live runs, by run
}

func (sw *remover) act(what, name string, undo func() error) {
	ours, alive := owner(name, sw.live)
	if ours && alive == "" {
		// Look again now: a run that started after the first look has
		// locked before it made this, and holds the lock while it lives.
		ours, alive = owner(name, sw.lookAgain())
	}
	switch {
	case !ours:
		return
	case alive != "":
		sw.skipped[alive]++
		return
	}
	sw.found++
	if sw.dryRun {
		fmt.Fprintf(sw.log, "would remove %s\n", what)
		return
	}
	if err := undo(); err != nil {
		fmt.Fprintf(sw.log, "could not remove %s: %v\n", what, err)
		return
	}
	fmt.Fprintf(sw.log, "removed %s\n", what)
}

// lookAgain lists the runs alive now, adding those that started since
// the first look to the live runs.
func (sw *remover) lookAgain() []string {
	if sw.now == nil {
		return sw.live
	}
	for _, id := range sw.now() {
		if !slices.Contains(sw.live, id) {
			sw.live = append(sw.live, id)
		}
	}
	return sw.live
}

// report says which live runs were left alone.
func (sw *remover) report() {
	for _, id := range slices.Sorted(maps.Keys(sw.skipped)) {
		fmt.Fprintf(sw.log, "skipped %d resource(s) of run %s: it is alive (it holds %s)\n", sw.skipped[id], id, filepath.Join(rundir.LockDir, id+".lock"))
	}
}

// dirLeftovers offers act every directory named vmbench-* in dirs: temp dirs,
// and scratch dirs under the default scratch_dir.
func dirLeftovers(dirs []string, act func(what, name string, undo func() error)) {
	for _, dir := range dirs {
		matches, _ := filepath.Glob(filepath.Join(dir, result.NamePrefix+"*"))
		for _, d := range matches {
			act("temp dir "+d, filepath.Base(d), func() error { return os.RemoveAll(d) })
		}
	}
}
