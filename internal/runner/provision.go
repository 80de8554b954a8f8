package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/vmbench/vmbench/internal/cleanup"
	"github.com/vmbench/vmbench/internal/engine"
	"github.com/vmbench/vmbench/internal/hostnet"
	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/rootfs"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
)

// makeTools builds (or finds in the cache) the tools rootfs when a
// container or vm platform will run a tool workload, and its image when a
// vm will. Built, it holds every tool, so that one rootfs serves every
// scenario; imported from the scenario's tools_image, it must hold the
// programs of the scenario's tool workloads.
func makeTools(ctx context.Context, s *scenario.Scenario, runID, cacheDir string, log io.Writer) (root, image string, err error) {
	var programs []string
	for _, w := range s.Workloads {
		w, _ := workloads.Lookup(w.Type)
		if t, ok := w.(workload.Tool); ok {
			programs = append(programs, t.Programs()...)
		}
	}
	has := func(t string) bool {
		return slices.ContainsFunc(s.Platforms, func(p scenario.Platform) bool { return p.Type == t })
	}
	container, vm := has(scenario.Container), has(scenario.VM)
	// An app runs in the user's image everywhere, native included
	// (chrooted into it).
	apps := slices.ContainsFunc(s.Workloads, func(w scenario.Workload) bool { return w.App != nil })
	if !apps && (len(programs) == 0 || !container && !vm) {
		return "", "", nil
	}
	if cacheDir == "" {
		cacheDir = kvm.DefaultCacheDir
	}
	if s.ToolsImage != "" {
		archive := s.ToolsImage
		if name, ref, ok := options.EngineImage(s.ToolsImage); ok {
			// An image the engine has: saved to an archive, then unpacked
			// (and cached) as a user's archive is.
			e, err := engine.New(ctx, name)
			if err != nil {
				return "", "", err
			}
			// Named as the run's, so that vmbench cleanup removes it
			// when the run is killed while the engine saves.
			tmp, err := os.MkdirTemp("", result.Name(runID, "save")+"-")
			if err != nil {
				return "", "", err
			}
			defer os.RemoveAll(tmp)
			if archive, err = e.Save(ctx, ref, tmp); err != nil {
				return "", "", err
			}
		}
		if root, err = rootfs.ImportTools(ctx, cacheDir, archive, log); err != nil {
			return "", "", err
		}
		if missing := rootfs.MissingPrograms(root, programs); len(missing) > 0 {
			return "", "", fmt.Errorf("tools_image %s has no %s, which the scenario's tool workloads run: install them in the image, or remove tools_image to have vmbench build the tools rootfs", s.ToolsImage, strings.Join(missing, ", "))
		}
	} else if root, err = rootfs.ToolsRootfs(ctx, cacheDir, toolPackages(), log); err != nil {
		return "", "", err
	}
	if !vm {
		return root, "", nil
	}
	image, err = rootfs.ToolsImage(ctx, root, log)
	return root, image, err
}

// toolPackages are the Debian packages of every tool workload: what the
// tools rootfs vmbench builds holds.
func toolPackages() []string {
	var pkgs []string
	for _, w := range workloads.All() {
		if t, ok := w.(workload.Tool); ok {
			pkgs = append(pkgs, t.Packages()...)
		}
	}
	return pkgs
}

// makeKernel extracts the guest kernel into the cache the first time a vm
// platform boots one that the scenario does not name, before any platform
// starts, so that the run says so once and fails early if it cannot.
func makeKernel(ctx context.Context, s *scenario.Scenario, cacheDir string, log io.Writer) error {
	if !slices.ContainsFunc(s.Platforms, func(p scenario.Platform) bool { return p.Type == scenario.VM && p.VM.Kernel == "" }) {
		return nil
	}
	_, err := kvm.GuestKernel(ctx, cacheDir, "", log)
	return err
}

// makeNetwork creates the run's bridge when a workload of the scenario
// runs its client on the host, and pushes its removal onto undo.
func makeNetwork(ctx context.Context, s *scenario.Scenario, runID string, undo *cleanup.Stack) (*hostnet.Network, error) {
	need := slices.ContainsFunc(s.Workloads, func(w scenario.Workload) bool {
		impl, _ := workloads.Lookup(w.Type)
		_, client := impl.(workload.Client)
		return client
	})
	if !need {
		return nil, nil
	}
	n, err := hostnet.New(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	undo.Push("bridge "+n.Bridge, func(context.Context) error { return n.Close() })
	return n, nil
}

// makeScratch creates the run's scratch directory under the scenario's
// scratch_dir and pushes its removal onto undo.
func makeScratch(s *scenario.Scenario, runID string, undo *cleanup.Stack) (string, error) {
	dir, err := os.MkdirTemp(s.ScratchDir, result.Name(runID, "scratch")+"-")
	if err != nil {
		return "", fmt.Errorf("scratch directory: %w (scratch_dir: names where it goes)", err)
	}
	undo.Push("scratch directory", func(context.Context) error { return os.RemoveAll(dir) })
	return dir, nil
}
