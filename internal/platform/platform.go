// Package platform is where trials run: the Platform and Instance interfaces
// the runner drives, and the two host platforms, native (the agent as a host
// process) and container (the agent in an OCI runtime from a bundle vmbench
// writes, or behind an engine, Docker or Podman: enginerun.go over
// internal/engine), with their options, seccomp and OCI spec. The vm platform
// lives in internal/kvm and implements the same interfaces; the network
// paths both attach to are internal/hostnet's, the root filesystems they
// run tools from internal/rootfs's.
package platform

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/untrusted"
	"github.com/vmbench/vmbench/internal/workload"
)

// Platform is a kind of place to run workloads, configured from a scenario.
type Platform interface {
	Name() string
	// Start provisions the platform (a bundle, a guest) and returns an
	// instance ready to run trials. It returns promptly when ctx is cancelled.
	Start(ctx context.Context) (Instance, error)
}

// Output is a trial's outcome as the host sees it: what the workload
// measured, and what the platform measured of it.
type Output struct {
	workload.Result
	// HostCPU is the CPU time, user plus system, of every host process the
	// trial ran in (the agent; the OCI runtime and the container; all of
	// QEMU's threads), in seconds; 0 when unknown.
	HostCPU float64
	// Measured are metrics the platform measured of the trial, such as a
	// guest's KVM exits (workload.KVMExitMetrics).
	Measured []result.Metric
}

// Instance is a started platform.
type Instance interface {
	// Run runs one trial and returns what the workload measured. Cancelling
	// ctx stops the trial promptly and leaves nothing running.
	Run(ctx context.Context, req agent.Request) (Output, error)
	// Info describes the instance for run.json: runtime, versions, argv.
	Info() map[string]string
	// Close releases everything Start acquired. It is idempotent and is
	// always called, also after a failed Start returned a non-nil Instance.
	Close(ctx context.Context) error
}

// Conditioner is implemented by instances whose samples carry conditions
// that change how the numbers read, such as accel=tcg.
type Conditioner interface {
	Conditions() map[string]string
}

// StartupReporter is implemented by instances that measure their own start,
// such as a guest's boot; the runner records these metrics (workload.BootMetrics)
// as a sample of the workload.Boot pseudo-workload.
type StartupReporter interface {
	StartupMetrics() []result.Metric
}

// Packed is implemented by instances that can run several copies of a
// trial at once, as a guest holding several instances of a density sweep
// does. Each copy's result comes back with its error; the host CPU of the
// whole instance is shared evenly among them.
type Packed interface {
	RunMany(ctx context.Context, req agent.Request, copies int) ([]Output, []error)
}

// VMM is implemented by instances that are a virtual machine monitor's
// process: its pid (0 while none runs) and the guest memory it maps, so
// that the host memory it holds beyond its guest can be measured.
type VMM interface {
	VMMProcess() (pid int, guestRAM int64)
}

// Addressed is implemented by instances whose servers a client on the host
// can reach: Addr is their IP address, "" when they have no network.
type Addressed interface {
	Addr() string
}

// ClientRunner is implemented by instances that may run a workload's
// client themselves, beside its server (a remote machine's own network
// path): when RunsClient, the runner leaves the client to Run.
type ClientRunner interface {
	RunsClient() bool
}

// AddrWaiter is implemented by instances whose servers get their address
// only once the trial's container runs (an engine's container on the
// engine's bridge): WaitAddr returns it once the trial has started.
type AddrWaiter interface {
	WaitAddr(ctx context.Context) (string, error)
}

// StaticBuildHint is how to build vmbench statically, for the errors that
// need it.
const StaticBuildHint = "build it with CGO_ENABLED=0: CGO_ENABLED=0 go install github.com/vmbench/vmbench/cmd/vmbench@latest, or bash scripts/build.sh in a clone"

// CheckStatic fails unless the binary at path is statically linked: the
// same binary runs in a bare container rootfs and as a guest's /init, where
// no dynamic loader exists.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("agent binary %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("agent binary %s is dynamically linked, and only native platforms can run it; %s", path, StaticBuildHint)
		}
	}
	return nil
}

// Sampled is implemented by instances whose host processes (and cgroup)
// the runner samples during each trial. The samplers follow the instance:
// they read whatever process or container is current when they read.
type Sampled interface {
	Samplers() []collect.Sampler
}

// RunAgent runs cmd, which starts the agent to run req, and parses its
// response. The stderr of a failed command is part of the error. While the
// command runs, pid (when not nil) holds its process id, for the samplers.
// A startup trial's metric is the command's time from start to exit.
func RunAgent(cmd *exec.Cmd, req agent.Request, pid *atomic.Int64) (Output, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		if pid != nil {
			pid.Store(int64(cmd.Process.Pid))
		}
		err = cmd.Wait()
		if pid != nil {
			pid.Store(0)
		}
	}
	wall := time.Since(start)
	var res Output
	var perr error
	res.Result, perr = agent.ParseOutput(stdout.Bytes())
	if req.Fresh && err == nil && errors.Is(perr, agent.ErrNoMetrics) {
		res.Metrics, perr = workload.StartMetrics(wall), nil
	}
	if ps := cmd.ProcessState; ps != nil {
		// wait4's usage of a child includes the descendants it reaped:
		// runc's container process, crun's after its re-exec.
		res.HostCPU = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	if perr == nil {
		return res, nil
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if ps := cmd.ProcessState; ps != nil {
			if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
				err = fmt.Errorf("%w (SIGKILL: the OOM killer, when a memory limit or the host's memory ran out; dmesg says)", err)
			}
		}
		if msg != "" {
			return res, fmt.Errorf("%w: %s", err, why(msg))
		}
		return res, err
	}
	return res, perr
}

// why picks what a failed agent's output says of its failure: the Go
// runtime's "fatal error: …" or "panic: …" line (with the line after a
// panic, which holds its value), not the tail of the stack dump below it;
// otherwise its last lines.
func why(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "fatal error:"):
			return l
		case strings.HasPrefix(l, "panic:"):
			if i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "goroutine ") {
				return l + " " + strings.TrimSpace(lines[i+1])
			}
			return l
		}
	}
	return untrusted.LastLines(out, 5)
}

var errClosed = errors.New("instance is closed")

// ErrRestarted is wrapped by a Run error when the instance died or wedged
// during the trial and was started afresh: the trial failed because of the
// platform, not the workload, and may be run again on the new instance.
var ErrRestarted = errors.New("the guest was restarted")

// FileName is a platform's name as it goes into file names, QEMU options,
// network namespaces and temp dirs (result.FileName).
func FileName(name string) string { return result.FileName(name) }

// InstanceScratch makes a platform instance's own scratch directory in the
// run's (root; "": none, and it returns ""). A container's processes can
// write the scratch directory they are given, and a process that is root
// on the host (the native agent, QEMU opening a guest's disk) opens files
// in its own: one directory per instance, so that nothing one instance
// plants is where another opens its files. Close removes it.
func InstanceScratch(root, platformName string) (string, error) {
	if root == "" {
		return "", nil
	}
	dir, err := os.MkdirTemp(root, FileName(platformName)+"-")
	if err != nil {
		return "", fmt.Errorf("scratch directory: %w", err)
	}
	return dir, nil
}
