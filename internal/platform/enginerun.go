package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/engine"
	"github.com/vmbench/vmbench/internal/hostinfo"
	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/rootfs"
	"github.com/vmbench/vmbench/internal/workload"
)

// cgroupRoot is where the cgroup filesystems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// startEngine starts a container platform that runs its containers through
// an engine. The image is the bundle's rootfs (the static agent alone),
// imported into the engine: the same bytes run under every platform, and
// nothing is pulled. Tool workloads run in the tools rootfs, imported the
// first time one runs, with the agent bind-mounted as the bundle does.
func (c *Container) startEngine(ctx context.Context) (Instance, error) {
	e, err := engine.New(ctx, c.Engine)
	if err != nil {
		return nil, err
	}
	info, err := e.Info(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkEngine(e, info, c.Runtime); err != nil {
		return nil, err
	}
	k := c.IDs.Add(1)
	inst := &engineInstance{c: c, e: e, info: info,
		repo:   result.Name(c.RunID, "img"+strconv.FormatInt(k, 10)),
		parent: "/" + result.Name(c.RunID, "cg"+strconv.FormatInt(k, 10)),
	}
	if e.Name == options.EnginePodman {
		inst.ulimits = podmanUlimits()
	}
	if inst.dir, err = os.MkdirTemp("", result.Name(c.RunID, FileName(c.PlatformName))+"-"); err != nil {
		return nil, err
	}
	inst.images = append(inst.images, inst.repo+":agent") // before, so that Close removes a half-made one
	if inst.scratch, err = InstanceScratch(c.Scratch, c.PlatformName); err != nil {
		return inst, err
	}
	if err := volumeSources(inst.scratch, c.Binary); err != nil {
		return inst, err
	}
	if err := WriteRootfs(inst.dir, c.Binary); err != nil {
		return inst, fmt.Errorf("write the image's rootfs: %w", err)
	}
	if err := e.Import(ctx, filepath.Join(inst.dir, "rootfs"), inst.repo+":agent", c.RunID); err != nil {
		return inst, err
	}
	return inst, os.RemoveAll(filepath.Join(inst.dir, "rootfs"))
}

// volumeSources refuses a bind mount's source that --volume SRC:DST[:ro]
// would misread: a colon splits the value.
func volumeSources(paths ...string) error {
	for _, p := range paths {
		if strings.Contains(p, ":") {
			return fmt.Errorf("%s holds a ':', which the engine's --volume reads as a separator: use a scratch_dir (and vmbench binary) path without one", p)
		}
	}
	return nil
}

// checkEngine refuses what the engine cannot run as vmbench measures it.
func checkEngine(e *engine.Engine, info engine.Info, runtime string) error {
	switch e.Name {
	case options.EngineDocker:
		if info.CgroupDriver != "cgroupfs" {
			return fmt.Errorf("dockerd uses the %s cgroup driver: vmbench measures a container's host CPU in a cgroup parent it owns, which needs the cgroupfs driver (dockerd --exec-opt native.cgroupdriver=cgroupfs)", info.CgroupDriver)
		}
		if runtime != "runc" && !slices.Contains(info.Runtimes, runtime) {
			return fmt.Errorf("dockerd has no runtime %s (it has %s): start dockerd with --add-runtime %s=%s, or add it to the runtimes of /etc/docker/daemon.json", runtime, strings.Join(info.Runtimes, ", "), runtime, "/usr/bin/"+runtime)
		}
	case options.EnginePodman:
		if runtime == "crun" && hostinfo.CgroupMode("/") == "hybrid" {
			return fmt.Errorf("podman with crun refuses this host's hybrid cgroups (crun: cgroups in hybrid mode not supported): use runtime: runc, or crun without an engine, which vmbench runs in a pure v1 view")
		}
	}
	return nil
}

// podmanUlimits are the --ulimit flags podman needs on a host whose hard
// limits are below its defaults (1048576 open files and processes), which
// it would fail to set ("setrlimit RLIMIT_NOFILE: Operation not
// permitted"): vmbench's own hard limits, as its native processes have,
// processes also capped at the kernel's pid_max, which conmon runs with.
func podmanUlimits() []string {
	const podmanDefault = 1 << 20
	var flags []string
	for _, l := range []struct {
		name     string
		resource int
	}{{"nofile", unix.RLIMIT_NOFILE}, {"nproc", unix.RLIMIT_NPROC}} {
		var r unix.Rlimit
		if unix.Getrlimit(l.resource, &r) != nil || r.Max >= podmanDefault {
			continue
		}
		n := r.Max
		if l.name == "nproc" {
			if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
				if pm, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && pm < n {
					n = pm
				}
			}
		}
		flags = append(flags, "--ulimit", fmt.Sprintf("%s=%d:%d", l.name, n, n))
	}
	return flags
}

// engineInstance is a started container platform with an engine.
type engineInstance struct {
	c       *Container
	e       *engine.Engine
	info    engine.Info
	dir     string   // the image's rootfs while it is imported, then the trials' cid files
	scratch string   // the instance's own scratch directory; "": none
	repo    string   // the images' repository, vmbench-<run-id>-img<k>
	images  []string // imported, removed on Close
	tools   string   // the tools image, once imported
	parent  string   // every container's cgroup parent
	ulimits []string // podman's --ulimit flags

	mu     sync.Mutex
	closed bool

	current atomic.Pointer[string] // the trial's container, while it runs
	pid     atomic.Int64           // its shim (containerd-shim, conmon), for the samplers
	port    atomic.Int64           // its server's port, while it runs
}

func (i *engineInstance) Run(ctx context.Context, req agent.Request) (Output, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return Output{}, errClosed
	}
	image := i.repo + ":agent"
	if req.Tool && i.c.Tools != "" {
		if i.tools == "" {
			ref := i.repo + ":tools"
			i.images = append(i.images, ref)
			if err := i.e.Import(ctx, i.c.Tools, ref, i.c.RunID); err != nil {
				return Output{}, fmt.Errorf("import the tools rootfs: %w", err)
			}
			i.tools = ref
		}
		image = i.tools
	}
	name := result.Name(i.c.RunID, strconv.FormatInt(i.c.IDs.Add(1), 10))
	cidfile := filepath.Join(i.dir, name+".cid")
	cmd := i.e.Command(ctx, append([]string{"run", "--cidfile", cidfile}, i.runArgs(name, image, req)...)...)
	cmd.Cancel = func() error {
		i.e.Remove(name)
		return cmd.Process.Kill()
	}
	cmd.WaitDelay = 10 * time.Second
	before := i.cgroupCPU()
	i.port.Store(int64(req.Port))
	i.current.Store(&name)
	proxy := make(chan float64, 1)
	stop := make(chan struct{})
	go func() { proxy <- i.watch(stop, req.Port) }()
	out, err := RunAgent(cmd, req, nil)
	close(stop)
	out.HostCPU = i.cgroupCPU() - before + <-proxy
	i.pid.Store(0)
	i.current.Store(nil)
	if rerr := i.e.Remove(name); rerr != nil && err == nil {
		err = rerr
	}
	if cid, _ := os.ReadFile(cidfile); err != nil && len(cid) > 0 {
		killShims("/proc", strings.TrimSpace(string(cid)))
	}
	os.Remove(cidfile)
	return out, err
}

// killShims kills what the engine left of a removed container whose trial
// failed: the shim of a gVisor container whose start failed outlives it.
func killShims(proc, cid string) {
	for _, pid := range processesWith(proc, isShimName, cid) {
		unix.Kill(pid, unix.SIGKILL)
	}
}

// processesWith lists the processes under proc whose command name passes
// name and whose arguments include arg.
func processesWith(proc string, name func(comm string) bool, arg string) []int {
	var out []int
	dirs, _ := os.ReadDir(proc)
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(filepath.Join(proc, d.Name(), "comm"))
		if !name(strings.TrimSpace(string(comm))) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(proc, d.Name(), "cmdline"))
		if slices.Contains(strings.Split(string(cmdline), "\x00"), arg) {
			out = append(out, pid)
		}
	}
	return out
}

// runArgs are the arguments of the engine's run for a trial.
func (i *engineInstance) runArgs(name, image string, req agent.Request) []string {
	c := i.c
	args := []string{"--name", name, "--cgroup-parent", i.parent,
		"--read-only", "--tmpfs", "/tmp", "--hostname", "vmbench", "--runtime", c.Runtime}
	args = append(args, i.ulimits...)
	if c.Runtime == "runsc" && i.e.Name == options.EnginePodman {
		// gVisor's own network stack refuses some hosts' namespaces
		// ("cannot run with network enabled in root network namespace"):
		// it passes the container namespace's sockets through instead.
		args = append(args, "--runtime-flag", "network=host")
	}
	switch c.Network {
	case options.NetHost, options.NetNone:
		args = append(args, "--network", c.Network)
	case options.NetNAT:
		if req.Port > 0 {
			args = append(args, "--publish", fmt.Sprintf("127.0.0.1:%d:%d", req.Port, req.Port))
		}
	}
	if c.CPUs > 0 {
		args = append(args, "--cpus", strconv.FormatFloat(c.CPUs, 'f', -1, 64))
	}
	if c.Memory > 0 {
		args = append(args, "--memory", strconv.FormatInt(c.Memory, 10))
	}
	if c.Seccomp != "default" {
		args = append(args, "--security-opt", "seccomp="+c.Seccomp)
	}
	if i.scratch != "" {
		args = append(args, "--volume", i.scratch+":"+rootfs.ScratchMount, "--env", workload.ScratchEnv+"="+rootfs.ScratchMount)
	}
	if image == i.tools {
		args = append(args, "--volume", c.Binary+":"+rootfs.AgentPath+":ro")
	}
	return append(append(args, image, rootfs.AgentPath), agent.Args(req)...)
}

// cgroupCPU is the CPU time every container of the instance has used so
// far: a parent cgroup keeps its children's time after they are gone.
func (i *engineInstance) cgroupCPU() float64 {
	v, err := (&collect.Cgroup{Root: cgroupRoot, Path: func() string { return i.parent }}).Read(context.Background())
	if err != nil {
		return 0
	}
	return v[0]
}

// watch follows the trial's container until stop: it points the samplers
// at the process that holds it (containerd-shim, conmon), polling every
// 2 ms until it runs and then checking that it lives (a shim that
// daemonizes exits once, and the search begins again), and returns the
// CPU time of the userland proxies (docker-proxy) serving its published
// port, the cost of a client's path through them, outside the container's
// cgroup. Docker stops a proxy with its container, so its time is the last
// reading, at most 20 ms before the end.
func (i *engineInstance) watch(stop <-chan struct{}, port int) float64 {
	proxied := port > 0 && i.e.Name == options.EngineDocker && i.c.Network == options.NetNAT
	slow := 50 * time.Millisecond
	if proxied {
		slow = 20 * time.Millisecond
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	proxies := map[int]float64{}
	for {
		if pid := i.pid.Load(); pid != 0 && !alive(int(pid)) {
			i.pid.Store(0)
			tick.Reset(2 * time.Millisecond)
		}
		if i.pid.Load() == 0 {
			// The container's own processes: podman keeps every conmon
			// in <parent>/conmon, the last trial's perhaps still exiting.
			if pids := cgroupPIDs(cgroupRoot, i.parent, "conmon"); len(pids) > 0 {
				if holder := holderOf(pids[0]); holder > 0 {
					i.pid.Store(int64(holder))
					tick.Reset(slow)
				}
			}
		}
		if proxied {
			for pid, cpu := range proxyCPU("/proc", port) {
				proxies[pid] = cpu
			}
		}
		select {
		case <-stop:
			var total float64
			for _, cpu := range proxies {
				total += cpu
			}
			return total
		case <-tick.C:
		}
	}
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	return unix.Kill(pid, 0) == nil
}

// proxyCPU reads the CPU time of each docker-proxy serving port.
func proxyCPU(proc string, port int) map[int]float64 {
	out := map[int]float64{}
	for _, pid := range processesWith(proc, func(comm string) bool { return comm == "docker-proxy" }, strconv.Itoa(port)) {
		if t, err := collect.ProcessCPU(proc, pid); err == nil {
			out[pid] = t
		}
	}
	return out
}

// holderOf returns the engine's process that holds process pid of a
// container (containerd-shim, conmon), found among its ancestors; 0 while
// it has none, as while runc is still creating the container.
func holderOf(pid int) int {
	for p := pid; p > 1; p = collect.ParentPID("/proc", p) {
		if isShim(p) {
			return p
		}
	}
	return 0
}

func isShim(pid int) bool {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	return isShimName(strings.TrimSpace(string(b)))
}

// isShimName tells the engines' per-container processes by their name.
func isShimName(comm string) bool {
	return comm == "conmon" || strings.HasPrefix(comm, "containerd-shim")
}

// WaitAddr is where the host reaches the trial's server, once it listens:
// the loopback address, which the engine's published port (network nat:
// Docker's userland proxy) or the host's namespace (host) serves, or on the
// engine's bridge the container's own address. It waits for the server's
// socket to listen because a published port accepts before then (the
// proxy listens from the start), and a client that connected early would
// measure a connection the proxy drops.
func (i *engineInstance) WaitAddr(ctx context.Context) (string, error) {
	if i.c.Network == options.NetNone {
		return "", errors.New("network: none has no address: set network: bridge, nat or host")
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		name := i.current.Load()
		if pids := cgroupPIDs(cgroupRoot, i.parent, ""); name != nil && len(pids) > 0 && listening(pids, int(i.port.Load()), i.c.Network != options.NetHost) {
			if i.c.Network != options.NetBridge {
				return "127.0.0.1", nil
			}
			ip, err := i.e.Output(ctx, "inspect", "--format", "{{.NetworkSettings.IPAddress}}", *name)
			if err != nil || ip == "" {
				return "", fmt.Errorf("the container's address on the %s bridge: %v (%s inspect said %q)", i.e.Name, err, i.e.Name, ip)
			}
			return ip, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for the server to listen on port %d in the container: %w", i.port.Load(), ctx.Err())
		case <-tick.C:
		}
	}
}

// listening reports whether one of the processes pids has a TCP socket
// listening on port in its network namespace (/proc/<pid>/net/tcp{,6}).
// With own, only processes in a namespace other than vmbench's count: a
// process runc has not yet moved into the container's namespace sees the
// host's sockets, where the engine's proxy listens on the same port.
func listening(pids []int, port int, own bool) bool {
	want := fmt.Sprintf(":%04X", port)
	host, _ := os.Readlink("/proc/self/ns/net")
	for _, pid := range pids {
		if ns, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "ns", "net")); own && (err != nil || ns == host) {
			continue
		}
		for _, f := range []string{"tcp", "tcp6"} {
			b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "net", f))
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(b), "\n")[1:] {
				fields := strings.Fields(line)
				if len(fields) > 3 && strings.HasSuffix(fields[1], want) && fields[3] == "0A" { // TCP_LISTEN
					return true
				}
			}
		}
	}
	return false
}

// Samplers follow the container of the trial in flight: its shim's process
// tree (the shim and the container's processes) and the cgroup parent.
func (i *engineInstance) Samplers() []collect.Sampler {
	return []collect.Sampler{
		collect.Follow(&i.pid),
		&collect.Cgroup{Root: cgroupRoot, Path: func() string {
			if i.current.Load() != nil {
				return i.parent
			}
			return ""
		}},
	}
}

func (i *engineInstance) Info() map[string]string {
	c := i.c
	info := map[string]string{
		"engine": i.e.Name, "engine_version": i.info.Version, "storage_driver": i.info.Storage,
		"cgroup_driver": i.info.CgroupDriver, "runtime": c.Runtime, "image": i.repo + ":agent",
		"cgroup_parent": i.parent, "security_options": i.info.Security,
		"host_cpu": "the containers' cgroup parent, plus docker-proxy's for a published port (the engine's daemon and shim are not counted)",
	}
	switch c.Seccomp {
	case "default":
		info["seccomp"] = "default (the engine's own profile)"
	default:
		info["seccomp"] = c.Seccomp
	}
	info["capabilities"] = strings.Join(BundleCaps, ",") // Docker's defaults
	if i.info.Capabilities != "" {
		info["capabilities"] = i.info.Capabilities
	}
	if len(i.ulimits) > 0 {
		info["ulimits"] = strings.Join(i.ulimits, " ") + " (the host's hard limits are below podman's defaults)"
	}
	switch c.Network {
	case options.NetNAT:
		info["network"] = fmt.Sprintf("the %s bridge, the server's port published on 127.0.0.1 (--publish)", i.e.Name)
		if i.e.Name == options.EngineDocker {
			info["network"] += ", which docker-proxy (the userland proxy) serves"
		}
	case options.NetBridge:
		info["network"] = fmt.Sprintf("the %s bridge, reached at the container's address", i.e.Name)
	default:
		info["network"] = c.Network
	}
	limitsInfo(c.ContainerOptions, info)
	return info
}

func (i *engineInstance) Close(context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return nil
	}
	i.closed = true
	var errs []error
	for _, ref := range i.images {
		errs = append(errs, i.e.RemoveImage(ref))
	}
	if i.scratch != "" {
		errs = append(errs, os.RemoveAll(i.scratch))
	}
	return errors.Join(append(errs, RemoveCgroup(cgroupRoot, i.parent), os.RemoveAll(i.dir))...)
}
