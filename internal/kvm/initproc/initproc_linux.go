// Package initproc is the agent as a guest's PID 1: it sets up the minimal
// system a container runtime needs (mounts, cgroup v1, virtio modules), opens
// the virtio-serial port to the host and serves workload requests, running
// each in runc from the same bundle layout as on the host, or as a plain
// guest process. It powers the guest off when the host asks or when the link
// to the host is lost.
package initproc

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/rootfs"
	"github.com/vmbench/vmbench/internal/workload"
)

// IsInit reports whether this process is a guest's init. PID 1 alone does
// not tell: the agent is PID 1 of every container's PID namespace too, but
// there it runs as /vmbench with arguments.
func IsInit() bool { return os.Getpid() == 1 && os.Args[0] == "/init" && len(os.Args) == 1 }

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "vmbench-agent: "+format+"\n", args...)
}

// Main runs the guest; it never returns.
func Main() {
	initAt := uptime()
	os.MkdirAll("/proc", 0o755)
	procErr := unix.Mount("proc", "/proc", "proc", 0, "")
	if cmdlineParam(agent.LabParam) != "" {
		labMain()
	}
	os.Setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin")
	var notes []string
	note := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		logf("%s", msg)
		notes = append(notes, msg)
	}
	if procErr != nil {
		note("mount /proc: %v", procErr)
	}
	mountAll([]mount{
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", ""},
		{"tmpfs", "/run", "tmpfs", "mode=755"},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777"},
		{"tmpfs", "/sys/fs/cgroup", "tmpfs", "mode=755"},
	}, note)
	os.MkdirAll("/dev/pts", 0o755)
	unix.Mount("devpts", "/dev/pts", "devpts", 0, "")
	mountCgroupV1(note)
	modules := loadModules(note)
	netUp := false
	if cidr := cmdlineParam(agent.IPParam); cidr != "" {
		if err := configureNIC(cidr, 3*time.Second); err != nil {
			note("network: %v", err)
		} else {
			netUp = true
		}
	}
	port, err := openPort(5 * time.Second)
	if err != nil {
		logf("%v; powering off", err)
		powerOff()
	}
	hello := agent.Hello{
		Kernel: kernelRelease(), CPUs: runtime.NumCPU(), MemoryB: memTotal(),
		InitAt: initAt, Modules: modules, Notes: notes,
	}
	var rt *platform.Runtime
	if _, err := os.Stat("/bin/runc"); err == nil {
		rt, err = platform.NewRuntime("runc", "/init")
		if err != nil {
			logf("runc: %v", err)
		} else {
			rt.NoPivot = true // pivot_root fails on an initramfs root
			hello.Runc = rt.Version()
		}
	}
	h := &handler{rt: rt, hostNetwork: netUp, self: "/init", bundle: bundleDir, idPrefix: "vmbench-guest"}
	hello.ReadyAt = uptime()
	logf("ready after %.2fs of guest uptime (init started at %.2fs)", hello.ReadyAt, initAt)
	err = agent.Serve(context.Background(), port, hello, h.handle)
	logf("link ended (%v); powering off", err)
	powerOff()
}

type handler struct {
	rt       *platform.Runtime
	self     string // the agent's own binary: the bundle's /vmbench
	n        atomic.Int64
	bundleMu sync.Mutex // the shared rootfs is written once
	// toolsErr is mountTools' outcome, once it has run.
	toolsOnce sync.Once
	toolsErr  error
	// hostNetwork: containers share the guest's network namespace, and so
	// its NIC, as a VM-isolated container does (Kata gives the VM's NIC to
	// the container).
	hostNetwork bool
	// bundle is where the shared rootfs is written, beside the configs of
	// each run; idPrefix starts each container's id.
	bundle, idPrefix string
	// scratchDir is the scratch area where no scratch disk is attached (a
	// remote machine's placement); "": none.
	scratchDir string
	// listen is the address servers listen on; "": every address.
	listen string
	// client runs a workload's client against a server on this machine
	// (Request.Client); nil: not here.
	client ClientFunc
	runs   sync.WaitGroup // the runs in flight
}

// ClientFunc runs the client of the workload req names against the server
// at addr. stop says that the server does not end by itself and is to be
// stopped once the client is done (workload.ServerStopper).
type ClientFunc func(ctx context.Context, addr string, req agent.Request) (res workload.Result, stop bool, err error)

const bundleDir = "/run/vmbench/bundle"

func (h *handler) handle(ctx context.Context, req agent.Request, container bool) agent.Response {
	h.runs.Add(1)
	defer h.runs.Done()
	if os.Getpid() == 1 { // only init has others' orphans to reap
		defer reapOrphans()
	}
	start := time.Now()
	logf("run %s container=%v", req.Type, container)
	defer func() { logf("run %s done in %s", req.Type, time.Since(start).Round(time.Millisecond)) }()
	if req.Client {
		return h.withClient(ctx, req, container)
	}
	return h.run(ctx, req, container)
}

// run runs the workload in a container or as a process of this machine.
func (h *handler) run(ctx context.Context, req agent.Request, container bool) agent.Response {
	self := h.self
	tool := req.Tool
	if tool {
		if err := h.mountTools(); err != nil {
			return agent.Response{Error: "tools: " + err.Error()}
		}
	}
	scratch := diskBySerial(agent.ScratchSerial)
	var env []string
	if h.listen != "" {
		env = append(env, workload.ListenEnv+"="+h.listen)
	}
	var cmd *exec.Cmd
	if container {
		if h.rt == nil {
			return agent.Response{Error: "the guest has no usable runc (see the console log)"}
		}
		h.bundleMu.Lock()
		if _, err := os.Stat(filepath.Join(h.bundle, "rootfs", rootfs.AgentPath)); err != nil {
			if err := platform.WriteRootfs(h.bundle, self); err != nil {
				h.bundleMu.Unlock()
				return agent.Response{Error: "guest bundle: " + err.Error()}
			}
		}
		h.bundleMu.Unlock()
		id := fmt.Sprintf("%s-%d", h.idPrefix, h.n.Add(1))
		// The agent inside does not need the filter again: it is the
		// container's, from the spec.
		inner := req
		inner.Seccomp = nil
		opts := platform.SpecOptions{ID: id, Args: append([]string{rootfs.AgentPath}, agent.Args(inner)...), ScratchDevice: scratch, HostNetwork: h.hostNetwork, Seccomp: req.Seccomp, Env: env}
		if scratch == nil {
			opts.Scratch = h.scratchDir
		}
		if tool {
			opts.Rootfs, opts.Agent = toolsRoot, self
		}
		spec := platform.Spec(opts)
		if !tool {
			spec.Root.Path = filepath.Join(h.bundle, "rootfs")
		}
		// A config of its own for each run, beside the shared rootfs:
		// a density sweep packs several instances into one guest, and
		// their runs overlap.
		dir := filepath.Join(filepath.Dir(h.bundle), id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return agent.Response{Error: err.Error()}
		}
		defer os.RemoveAll(dir)
		if err := platform.WriteSpec(dir, spec); err != nil {
			return agent.Response{Error: err.Error()}
		}
		defer h.rt.Delete(id)
		cmd = h.rt.RunCmd(ctx, dir, id)
	} else {
		cmd = exec.CommandContext(ctx, self, agent.Args(req)...)
		if tool {
			// The same agent, as the tools rootfs's /vmbench, chrooted.
			cmd.Path, cmd.Args[0], cmd.Dir = rootfs.AgentPath, rootfs.AgentPath, "/"
			cmd.SysProcAttr = &unix.SysProcAttr{Chroot: toolsChroot}
		}
		switch {
		case scratch != nil:
			env = append(env, workload.ScratchEnv+"="+scratch.Path)
		case h.scratchDir != "":
			env = append(env, workload.ScratchEnv+"="+h.scratchDir)
		}
		if len(env) > 0 {
			cmd.Env = append(os.Environ(), env...)
		}
	}
	var view *collect.Collection
	if req.Sample > 0 {
		view = collect.Start(ctx, time.Duration(req.Sample*float64(time.Second)), collect.NewHost("guest", "/"))
	}
	res, err := platform.RunAgent(cmd, req, nil)
	if view != nil {
		res.Series = append(res.Series, view.Stop().Series...)
	}
	var cpu float64
	if st := cmd.ProcessState; st != nil {
		cpu = (st.UserTime() + st.SystemTime()).Seconds()
	}
	if err != nil {
		logf("run %s failed: %v", req.Type, err)
		return agent.Response{Result: res.Result, Error: err.Error(), CPU: cpu}
	}
	// In a guest, the trial's host CPU is the host's to measure; on a
	// remote machine, cpu is the machine's own measure of it.
	return agent.Response{Result: res.Result, CPU: cpu}
}

// withClient runs the server of a client workload as run does, and its
// client here, against it: a remote machine's own network path. The
// result is the client's, with the server's CPU and samples.
func (h *handler) withClient(ctx context.Context, req agent.Request, container bool) agent.Response {
	if h.client == nil {
		return agent.Response{Error: "this agent runs no clients"}
	}
	addr := cmp.Or(h.listen, "127.0.0.1")
	srv, res, err := workload.Pair(ctx,
		func(ctx context.Context) (agent.Response, error) {
			resp := h.run(ctx, req, container)
			if resp.Error != "" {
				return resp, errors.New(resp.Error)
			}
			return resp, nil
		},
		func(ctx context.Context) (workload.Result, bool, error) { return h.client(ctx, addr, req) })
	if err != nil {
		return agent.Response{Error: err.Error(), CPU: srv.CPU}
	}
	res.Series, res.Profile = srv.Series, srv.Profile
	res.Warnings = append(res.Warnings, srv.Warnings...)
	return agent.Response{Result: res, CPU: srv.CPU}
}

// cmdlineParam returns the value of key=value on the kernel command line.
func cmdlineParam(key string) string {
	b, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// configureNIC gives the guest's first network interface the address cidr
// and brings it and lo up, with ioctls: the initramfs has no ip tool.
func configureNIC(cidr string, timeout time.Duration) error {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil || !prefix.Addr().Is4() {
		return fmt.Errorf("%s=%q is not an IPv4 address/prefix", agent.IPParam, cidr)
	}
	var nic string
	for deadline := time.Now().Add(timeout); nic == ""; time.Sleep(20 * time.Millisecond) {
		names, _ := os.ReadDir("/sys/class/net")
		for _, n := range names {
			if n.Name() != "lo" {
				nic = n.Name()
				break
			}
		}
		if nic == "" && time.Now().After(deadline) {
			return fmt.Errorf("no network interface after %s", timeout)
		}
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	set := func(name string, req uint, addr netip.Addr) error {
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		if err := ifr.SetInet4Addr(addr.AsSlice()); err != nil {
			return err
		}
		return unix.IoctlIfreq(fd, req, ifr)
	}
	up := func(name string) error {
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			return err
		}
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
	}
	mask := netip.AddrFrom4([4]byte(net.CIDRMask(prefix.Bits(), 32)))
	if err := set(nic, unix.SIOCSIFADDR, prefix.Addr()); err != nil {
		return fmt.Errorf("%s address: %w", nic, err)
	}
	if err := set(nic, unix.SIOCSIFNETMASK, mask); err != nil {
		return fmt.Errorf("%s netmask: %w", nic, err)
	}
	if err := up(nic); err != nil {
		return fmt.Errorf("%s up: %w", nic, err)
	}
	return up("lo")
}

// toolsRoot is where init mounts the tools disk, read-only: the root of the
// guest containers that run tool workloads. toolsChroot is the same file
// system with the guest's /proc, /sys and /dev, a /tmp and the agent at
// rootfs.AgentPath mounted in: the root of a bare guest process that
// runs one.
const (
	toolsRoot   = "/run/vmbench/tools"
	toolsChroot = "/run/vmbench/tools-chroot"
)

// mountTools mounts the tools disk, the first time a tool workload runs.
func (h *handler) mountTools() error {
	h.toolsOnce.Do(func() { h.toolsErr = mountTools() })
	return h.toolsErr
}

func mountTools() error {
	dev := diskBySerial(agent.ToolsSerial)
	if dev == nil {
		return fmt.Errorf("the host attached no tools disk (serial %s)", agent.ToolsSerial)
	}
	for _, d := range []string{toolsRoot, toolsChroot} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// noload: the image has no journal to replay, and is read-only.
	if err := unix.Mount(dev.Path, toolsRoot, "ext4", unix.MS_RDONLY, "noload"); err != nil {
		return fmt.Errorf("mount %s (ext4) on %s: %w", dev.Path, toolsRoot, err)
	}
	for _, m := range []struct {
		src, dst, fstype string
		flags            uintptr
		data             string
	}{
		{toolsRoot, "", "", unix.MS_BIND, ""},
		{"/proc", "/proc", "", unix.MS_BIND | unix.MS_REC, ""},
		{"/sys", "/sys", "", unix.MS_BIND | unix.MS_REC, ""},
		{"/dev", "/dev", "", unix.MS_BIND | unix.MS_REC, ""},
		{"tmpfs", "/tmp", "tmpfs", 0, "mode=1777"},
		{"/init", rootfs.AgentPath, "", unix.MS_BIND, ""},
	} {
		if err := unix.Mount(m.src, toolsChroot+m.dst, m.fstype, m.flags, m.data); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.src, toolsChroot+m.dst, err)
		}
	}
	return nil
}

// diskBySerial finds the disk the host attached with this serial number,
// or returns nil.
func diskBySerial(serial string) *specs.LinuxDevice {
	serials, _ := filepath.Glob("/sys/block/*/serial")
	for _, path := range serials {
		b, err := os.ReadFile(path)
		if err != nil || strings.TrimSpace(string(b)) != serial {
			continue
		}
		dir := filepath.Dir(path)
		dev, err := os.ReadFile(filepath.Join(dir, "dev"))
		if err != nil {
			continue
		}
		var major, minor int64
		if _, err := fmt.Sscanf(strings.TrimSpace(string(dev)), "%d:%d", &major, &minor); err != nil {
			continue
		}
		mode := os.FileMode(0o660)
		return &specs.LinuxDevice{Path: "/dev/" + filepath.Base(dir), Type: "b", Major: major, Minor: minor, FileMode: &mode}
	}
	return nil
}

// mountCgroupV1 mounts one cgroup v1 hierarchy per controller. Not cgroup2:
// there runc loads a device-filter eBPF program for every container, which
// toggles a static key and live-patches kernel text on every vCPU, and under
// multi-threaded TCG that wedged 2-vCPU guests about once in 40 container
// starts. The v1 devices controller needs none of it.
func mountCgroupV1(note func(string, ...any)) {
	b, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		note("cgroups: %v", err)
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || strings.HasPrefix(f[0], "#") || f[3] != "1" {
			continue
		}
		dir := "/sys/fs/cgroup/" + f[0]
		os.MkdirAll(dir, 0o755)
		if err := unix.Mount("cgroup", dir, "cgroup", 0, f[0]); err != nil {
			note("mount cgroup %s: %v", f[0], err)
		}
	}
}

// reapOrphans collects exited processes that were re-parented to init; it
// runs only between requests, when init waits for no child of its own.
func reapOrphans() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// loadModules loads the modules listed in the image, in order.
func loadModules(note func(string, ...any)) []string {
	b, err := os.ReadFile(agent.ModulesList)
	if err != nil {
		return nil
	}
	var loaded []string
	for _, p := range strings.Fields(string(b)) {
		f, err := os.Open(p)
		if err != nil {
			note("module %s: %v", p, err)
			continue
		}
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		if err != nil && err != unix.EEXIST {
			note("load module %s: %v", filepath.Base(p), err)
			continue
		}
		loaded = append(loaded, strings.TrimSuffix(filepath.Base(p), ".ko"))
	}
	return loaded
}

// openPort finds the virtio-serial port named agent.PortName and opens it.
// Without udev there is no /dev/virtio-ports link: the name is in sysfs.
func openPort(timeout time.Duration) (*os.File, error) {
	deadline := time.Now().Add(timeout)
	for {
		names, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
		for _, n := range names {
			b, _ := os.ReadFile(n)
			if strings.TrimSpace(string(b)) == agent.PortName {
				dev := "/dev/" + filepath.Base(filepath.Dir(n))
				return os.OpenFile(dev, os.O_RDWR, 0)
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no virtio-serial port named %s after %s: the guest kernel needs virtio_console, built in or as a module in /lib/modules/<version> on the host or beside the kernel's boot/ directory", agent.PortName, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func uptime() float64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return float64(ts.Sec) + float64(ts.Nsec)/1e9
}

func kernelRelease() string {
	var u unix.Utsname
	unix.Uname(&u)
	return unix.ByteSliceToString(u.Release[:])
}

func memTotal() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func powerOff() {
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	for {
		time.Sleep(time.Hour)
	}
}

// mount is a file system for init to mount.
type mount struct{ src, dst, fstype, data string }

// mountAll mounts each, making its directory, and says what failed.
func mountAll(ms []mount, failed func(format string, args ...any)) {
	for _, m := range ms {
		os.MkdirAll(m.dst, 0o755)
		if err := unix.Mount(m.src, m.dst, m.fstype, 0, m.data); err != nil {
			failed("mount %s: %v", m.dst, err)
		}
	}
}
