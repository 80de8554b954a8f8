package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/hostinfo"
	"github.com/vmbench/vmbench/internal/hostnet"
	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/rootfs"
)

// Container runs the agent in an OCI runtime (runc or crun) on the host,
// from a bundle vmbench writes itself.
type Container struct {
	PlatformName string
	RunID        string
	options.ContainerOptions
	Binary string // the static vmbench binary
	// IDs numbers containers across the whole run, so that every container
	// of a run has a distinct name vmbench-<run-id>-<n>.
	IDs *atomic.Int64
	// Scratch is the run's scratch directory; each instance has its own in
	// it, bind-mounted into its containers; "": none.
	Scratch string
	// Bridge, when not nil, is the run's bridge: with Network bridge the
	// containers join a namespace with a veth on it, with Network nat too,
	// reached through a DNAT rule (Published). Network host shares the
	// host's network namespace.
	Bridge *hostnet.Network
	// Tools is the tools rootfs, which tool workloads (fio, …) run in;
	// "": none.
	Tools string
}

var _ Platform = (*Container)(nil)

func (c *Container) Name() string { return c.PlatformName }

func (c *Container) Start(ctx context.Context) (Instance, error) {
	if c.Engine != "" {
		return c.startEngine(ctx)
	}
	rt, err := NewRuntime(c.Runtime, c.Binary)
	if err != nil {
		return nil, err
	}
	if c.Runtime == "runsc" {
		// gVisor's own network stack serves the container's namespace
		// (bridge, nat); with none it has no network, with host it passes
		// the host's through.
		switch c.Network {
		case options.NetHost:
			rt.Global = []string{"--network=host"}
		case "none":
			rt.Global = []string{"--network=none"}
		}
	}
	var seccomp *specs.LinuxSeccomp
	if path := options.SeccompPath(c.Seccomp); path != "" {
		if seccomp, err = LoadSeccomp(path, BundleCaps); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", result.Name(c.RunID, FileName(c.PlatformName))+"-")
	if err != nil {
		return nil, err
	}
	inst := &containerInstance{c: c, rt: rt, dir: dir, seccomp: seccomp}
	if inst.scratch, err = InstanceScratch(c.Scratch, c.PlatformName); err != nil {
		inst.Close(ctx)
		return nil, err
	}
	if err := WriteRootfs(dir, c.Binary); err != nil {
		inst.Close(ctx)
		return nil, fmt.Errorf("write bundle: %w", err)
	}
	if c.Bridge != nil && (c.Network == options.NetBridge || c.Network == options.NetNAT) {
		if inst.ns, err = c.Bridge.NewNamespace(ctx, c.RunID, FileName(c.PlatformName)); err != nil {
			inst.Close(ctx)
			return nil, fmt.Errorf("network: %w", err)
		}
		if c.Network == options.NetNAT {
			if inst.nat, err = c.Bridge.Publish(ctx, inst.ns); err != nil {
				inst.Close(ctx)
				return nil, fmt.Errorf("network: %w", err)
			}
		}
	}
	return inst, nil
}

type containerInstance struct {
	c       *Container
	rt      *Runtime
	dir     string
	scratch string              // the instance's own scratch directory; "": none
	seccomp *specs.LinuxSeccomp // every container's filter; nil: unconfined
	ns      *hostnet.Namespace  // the containers' network namespace; nil: none
	nat     *hostnet.Published  // with network: nat, its published address; nil: none

	mu     sync.Mutex
	closed bool

	pid    atomic.Int64           // the runtime's, during a trial
	cgroup atomic.Pointer[string] // the container's id, during a trial
}

func (i *containerInstance) Run(ctx context.Context, req agent.Request) (Output, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return Output{}, errClosed
	}
	id := result.Name(i.c.RunID, strconv.FormatInt(i.c.IDs.Add(1), 10))
	opts := SpecOptions{
		ID: id, Args: append([]string{rootfs.AgentPath}, agent.Args(req)...),
		CPUs: i.c.CPUs, Memory: i.c.Memory, Scratch: i.scratch,
		HostNetwork: i.c.Network == options.NetHost, NetNS: i.netNS(), Seccomp: i.seccomp,
	}
	if i.c.Tools != "" && req.Tool {
		opts.Rootfs, opts.Agent = i.c.Tools, filepath.Join(i.dir, "rootfs", strings.TrimPrefix(rootfs.AgentPath, "/"))
	}
	spec := Spec(opts)
	if err := WriteSpec(i.dir, spec); err != nil {
		return Output{}, err
	}
	defer i.rt.Delete(id)
	i.cgroup.Store(&id)
	defer i.cgroup.Store(nil)
	return RunAgent(i.rt.RunCmd(ctx, i.dir, id), req, &i.pid)
}

func (i *containerInstance) netNS() string {
	if i.ns == nil {
		return ""
	}
	return i.ns.Path()
}

// Addr is where a client on the host reaches the container's servers.
func (i *containerInstance) Addr() string {
	switch {
	case i.nat != nil:
		return i.nat.Addr.String()
	case i.ns != nil:
		return i.ns.Addr.Addr().String()
	case i.c.Network == options.NetHost:
		return "127.0.0.1"
	}
	return ""
}

// Samplers follow the container of the trial in flight: the runtime's
// process tree (runc and the container's processes) and its cgroup.
func (i *containerInstance) Samplers() []collect.Sampler {
	return []collect.Sampler{
		collect.Follow(&i.pid),
		&collect.Cgroup{Root: "/sys/fs/cgroup", Path: func() string {
			if id := i.cgroup.Load(); id != nil {
				return "/" + *id // the spec's cgroupsPath
			}
			return ""
		}},
	}
}

func (i *containerInstance) Info() map[string]string {
	info := map[string]string{"runtime": i.rt.Name, "runtime_version": i.rt.Version(),
		"seccomp": SeccompInfo(i.c.Seccomp, i.seccomp), "capabilities": strings.Join(BundleCaps, ","), "apparmor": "none"}
	if i.rt.hideCgroup2 {
		info["runtime_note"] = "hybrid cgroups: " + i.rt.Name + " runs in a mount namespace without " + unifiedMount
	}
	limitsInfo(i.c.ContainerOptions, info)
	if i.c.Tools != "" {
		info["tools_rootfs"] = i.c.Tools
	}
	switch {
	case i.nat != nil:
		info["network"] = fmt.Sprintf("namespace %s, %s on bridge %s, published at %s by DNAT (nftables table %s)", i.ns.Name, i.ns.Addr, i.c.Bridge.Bridge, i.nat.Addr, i.nat.Table)
	case i.ns != nil:
		info["network"] = fmt.Sprintf("namespace %s, %s on bridge %s", i.ns.Name, i.ns.Addr, i.c.Bridge.Bridge)
	case i.c.Network != "":
		info["network"] = i.c.Network
	}
	return info
}

func (i *containerInstance) Close(context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return nil
	}
	i.closed = true
	var errs []error
	if i.nat != nil {
		errs = append(errs, i.nat.Close())
	}
	if i.ns != nil {
		errs = append(errs, i.ns.Close())
	}
	if i.scratch != "" {
		errs = append(errs, os.RemoveAll(i.scratch))
	}
	return errors.Join(append(errs, os.RemoveAll(i.dir))...)
}

// Runtime drives an OCI runtime binary.
type Runtime struct {
	Name string
	Path string
	// NoPivot asks the runtime not to pivot_root, which fails on an
	// initramfs root (inside vmbench's guests).
	NoPivot bool
	// hideCgroup2 runs the runtime through `vmbench agent hide-cgroup2`:
	// crun refuses hybrid cgroup hosts, and sees a pure v1 host there.
	hideCgroup2 bool
	self        string
	// Global are flags before the subcommand: runsc's network mode.
	Global []string
}

const unifiedMount = "/sys/fs/cgroup/unified"

// NewRuntime finds the runtime and checks that vmbench can use it.
func NewRuntime(name, self string) (*Runtime, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%s not found in PATH: install it (apt-get install -y %s) or choose another runtime", name, name)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%s needs root to create containers: run vmbench as root (sudo)", name)
	}
	rt := &Runtime{Name: name, Path: path, self: self}
	if name == "crun" && hostinfo.CgroupMode("/") == "hybrid" {
		rt.hideCgroup2 = true
	}
	return rt, nil
}

// command builds the runtime's command line.
func (r *Runtime) command(ctx context.Context, args ...string) *exec.Cmd {
	if r.hideCgroup2 {
		cmd := exec.CommandContext(ctx, r.self, append([]string{"agent", "hide-cgroup2", r.Path}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
		return cmd
	}
	return exec.CommandContext(ctx, r.Path, append(slices.Clone(r.Global), args...)...)
}

// RunArgs is the argument vector of `runtime run` for a bundle.
func (r *Runtime) RunArgs(bundle, id string) []string {
	args := []string{"run", "--bundle", bundle}
	if r.NoPivot {
		args = append(args, "--no-pivot")
	}
	return append(args, id)
}

// RunCmd returns the command that runs container id from bundle in the
// foreground. Cancelling ctx kills the container, not just the runtime
// process, which would leave the container running.
func (r *Runtime) RunCmd(ctx context.Context, bundle, id string) *exec.Cmd {
	cmd := r.command(ctx, r.RunArgs(bundle, id)...)
	cmd.Cancel = func() error {
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		r.command(kctx, "kill", id, "KILL").Run()
		return cmd.Process.Kill()
	}
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// Delete removes container id whatever its state. It ignores a container
// that does not exist, and is bounded in time so that teardown cannot hang.
func (r *Runtime) Delete(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := r.command(ctx, "delete", "--force", id).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "does not exist") && !strings.Contains(string(out), "not found") {
		return fmt.Errorf("%s delete %s: %v: %s", r.Name, id, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// List returns the ids of the runtime's containers.
func (r *Runtime) List(ctx context.Context) ([]string, error) {
	out, err := r.command(ctx, "list", "--quiet").Output()
	if err != nil {
		return nil, fmt.Errorf("%s list: %w", r.Name, err)
	}
	return strings.Fields(string(out)), nil
}

// Version returns the first line of `runtime --version`.
func (r *Runtime) Version() string {
	return hostinfo.ToolVersion(r.Path, "--version")
}

// limitsInfo records the container's limits in its run.json info.
func limitsInfo(o options.ContainerOptions, info map[string]string) {
	if o.CPUs > 0 {
		info["cpus"] = fmt.Sprint(o.CPUs)
	}
	if o.Memory > 0 {
		info["memory_bytes"] = fmt.Sprint(o.Memory)
	}
}
