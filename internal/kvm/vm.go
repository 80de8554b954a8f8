package kvm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/hostinfo"
	"github.com/vmbench/vmbench/internal/hostnet"
	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/safefs"
	"github.com/vmbench/vmbench/internal/workload"
)

// VM is the vm platform: a KVM (or TCG) guest vmbench boots itself.
type VM struct {
	PlatformName string
	RunID        string
	RunDir       string // receives <platform>-console.log
	Binary       string // the static vmbench binary, the guest's /init
	options.VMOptions
	QEMU     string    // "": qemu-system-x86_64 from PATH
	CacheDir string    // where guest images are kept; "": DefaultCacheDir
	Decision *Decision // shared accel: auto outcome; nil: decide alone
	// Sample asks the guest's agent for its own view of the guest at this
	// interval during each trial; 0: don't.
	Sample time.Duration
	// Scratch is the run's scratch directory on the host, where the file
	// backing the guest's scratch disk (ScratchSize bytes, sparse) is
	// created; "": no scratch disk.
	Scratch string
	// Network, when not nil, is the run's bridge: the guest gets a
	// virtio-net NIC on a tap device on it.
	Network *hostnet.Network
	// Tools is the tools image (rootfs.ToolsImage), attached read-only so
	// that the guest runs tool workloads from it; "": none.
	Tools string
}

var _ platform.Platform = (*VM)(nil)

// DefaultCacheDir keeps guest images between runs.
const DefaultCacheDir = "/var/cache/vmbench"

func (v *VM) Name() string { return v.PlatformName }

// Instance is a booted guest.
type Instance struct {
	v        *VM
	qemu     string
	g        *guest
	restarts int
	dir      string // temp dir holding the sockets
	scratch  string // the instance's own scratch directory, holding its disk; "": none
	info     map[string]string
	boot     []result.Metric
	mu       sync.Mutex // one trial at a time
	closeMu  sync.Mutex
	closed   bool
	pid      atomic.Int64 // QEMU's, for the samplers; 0 while no guest runs
	tap      *hostnet.Tap
	last     *guest // the guest a failed relaunch replaced: its configuration serves the next
	seccomp  *specs.LinuxSeccomp
}

var (
	_ platform.Instance    = (*Instance)(nil)
	_ platform.Conditioner = (*Instance)(nil)
	_ platform.VMM         = (*Instance)(nil)
	_ platform.Packed      = (*Instance)(nil)
)

// VMMProcess is QEMU's pid and the guest's memory.
func (i *Instance) VMMProcess() (int, int64) { return int(i.pid.Load()), i.v.Memory }

// Start builds (or reuses) the guest image, decides the accelerator and
// boots the guest. The returned Instance, also on error, must be closed.
// Its steps, in order: find what the guest is made of, configure QEMU,
// attach the scratch disk, the tools disk and the NIC, boot, record what
// the guest said, pin the vCPUs.
func (v *VM) Start(ctx context.Context) (platform.Instance, error) {
	parts, err := v.findParts(ctx)
	if err != nil {
		return nil, err
	}
	var seccomp *specs.LinuxSeccomp
	if path := options.SeccompPath(v.Seccomp); path != "" && v.Container {
		if seccomp, err = platform.LoadSeccomp(path, platform.BundleCaps); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", result.Name(v.RunID, platform.FileName(v.PlatformName))+"-")
	if err != nil {
		return nil, err
	}
	inst := &Instance{v: v, dir: dir, qemu: parts.qemu, seccomp: seccomp, info: map[string]string{
		"kernel": parts.kernel.Path, "image": parts.image, "image_cached": strconv.FormatBool(parts.cached),
		"qemu_version": hostinfo.ToolVersion(parts.qemu, "--version"),
		"vcpus":        strconv.Itoa(v.VCPUs), "memory_bytes": strconv.FormatInt(v.Memory, 10),
		"machine": v.Machine, "container": strconv.FormatBool(v.Container),
	}}
	if v.Container {
		inst.info["seccomp"] = platform.SeccompInfo(v.Seccomp, seccomp)
	}
	cfg := v.config(parts, dir)
	if err := inst.attachScratch(&cfg); err != nil {
		return inst, fmt.Errorf("scratch disk: %w", err)
	}
	inst.attachTools(&cfg)
	if err := inst.attachNIC(ctx, &cfg); err != nil {
		return inst, fmt.Errorf("network: %w", err)
	}
	g, accel, reason, err := v.boot(ctx, parts.qemu, cfg)
	inst.info["accel"], inst.info["accel_reason"] = accel, reason
	if err != nil {
		return inst, err
	}
	inst.g = g
	inst.pid.Store(int64(g.cmd.Process.Pid))
	inst.recordGuest(g)
	// QEMU's own view of its accelerator.
	var k struct{ Enabled, Present bool }
	if err := qmpCommand(cfg.QMPSock, "query-kvm", nil, &k); err == nil {
		inst.info["qmp_query_kvm"] = fmt.Sprintf("enabled=%t present=%t", k.Enabled, k.Present)
	}
	if len(v.Pin) > 0 {
		pinned, err := g.pin(v.Pin)
		if err != nil {
			return inst, err
		}
		inst.info["pinned"] = pinned
	}
	return inst, nil
}

// parts are what a guest is made of on this host.
type parts struct {
	qemu   string // QEMU's path
	kernel Kernel
	image  string // the initramfs
	cached bool   // the image was in the cache
}

// findParts finds QEMU and the guest kernel, checks the huge pages asked
// for, and builds (or finds in the cache) the guest's initramfs.
func (v *VM) findParts(ctx context.Context) (p parts, err error) {
	qemu := v.QEMU
	if qemu == "" {
		qemu = "qemu-system-x86_64"
	}
	if p.qemu, err = exec.LookPath(qemu); err != nil {
		return p, fmt.Errorf("%s not found: install it (apt-get install -y qemu-system-x86)", qemu)
	}
	if v.Hugepages {
		if err := checkHugepages("/dev/hugepages", "/proc/meminfo", v.Memory); err != nil {
			return p, err
		}
	}
	cacheDir := v.CacheDir
	if cacheDir == "" {
		cacheDir = DefaultCacheDir
	}
	if p.kernel, err = GuestKernel(ctx, cacheDir, v.Kernel, io.Discard); err != nil {
		return p, err
	}
	spec := ImageSpec{Agent: v.Binary, Kernel: p.kernel, Modules: GuestModules}
	if v.Container {
		if spec.Runc, err = exec.LookPath("runc"); err != nil {
			return p, errors.New("runc not found: the guest runs workloads in the host's runc; install it (apt-get install -y runc) or set container: false")
		}
	}
	if p.image, p.cached, err = BuildImage(spec, cacheDir); err != nil {
		return p, fmt.Errorf("guest image: %w", err)
	}
	return p, nil
}

// config is QEMU's configuration of the guest without its disks and NIC;
// dir holds the instance's sockets.
func (v *VM) config(p parts, dir string) Config {
	cfg := Config{
		Name:    result.Name(v.RunID, platform.FileName(v.PlatformName)),
		Machine: v.Machine, VCPUs: v.VCPUs, MemoryB: v.Memory, Kernel: p.kernel.Path, Initrd: p.image,
		AgentSock: filepath.Join(dir, "agent.sock"), QMPSock: filepath.Join(dir, "qmp.sock"),
		ConsoleLog: filepath.Join(v.RunDir, platform.FileName(v.PlatformName)+"-console.log"), Hugepages: v.Hugepages,
		QEMULog: filepath.Join(v.RunDir, platform.FileName(v.PlatformName)+"-qemu.log"),
	}
	if v.Machine == "microvm" {
		cfg.Bios = QbootROM
		cfg.TSCkHz = tscKHz()
	}
	return cfg
}

// attachScratch creates the guest's scratch disk (a sparse file in the
// instance's own scratch directory, which no container sees, so that
// nothing can swap a link to a host file in for the disk QEMU opens as
// root on a relaunch), when the run has one.
func (i *Instance) attachScratch(cfg *Config) (err error) {
	v := i.v
	if i.scratch, err = platform.InstanceScratch(v.Scratch, v.PlatformName); err != nil || i.scratch == "" {
		return err
	}
	cfg.ScratchDisk, cfg.DiskCache, cfg.DiskAIO = filepath.Join(i.scratch, "disk.img"), v.DiskCache, v.DiskAIO
	if err := MakeSparse(i.scratch, "disk.img", v.ScratchSize); err != nil {
		return err
	}
	i.info["scratch_disk"] = fmt.Sprintf("%s (%d bytes, cache=%s, aio=%s)", cfg.ScratchDisk, v.ScratchSize, v.DiskCache, v.DiskAIO)
	return nil
}

// attachTools attaches the tools image read-only, when the run has one.
func (i *Instance) attachTools(cfg *Config) {
	if i.v.Tools != "" {
		cfg.ToolsDisk = i.v.Tools
		i.info["tools_disk"] = i.v.Tools
	}
}

// attachNIC puts a tap on the run's bridge for the guest's NIC, when the
// run has a bridge.
func (i *Instance) attachNIC(ctx context.Context, cfg *Config) (err error) {
	n := i.v.Network
	if n == nil {
		return nil
	}
	if i.tap, err = n.NewTap(ctx); err != nil {
		return err
	}
	cfg.Tap, cfg.GuestIP = i.tap.Name, i.tap.GuestAddr.String()
	i.info["network"] = fmt.Sprintf("tap %s on bridge %s, guest %s", i.tap.Name, n.Bridge, cfg.GuestIP)
	return nil
}

// recordGuest records what the booted guest said of itself in its hello,
// and its boot phases.
func (i *Instance) recordGuest(g *guest) {
	i.info["qemu"] = i.qemu + " " + strings.Join(Args(g.cfg), " ")
	i.info["console_log"] = g.cfg.ConsoleLog
	i.info["guest_kernel"] = g.hello.Kernel
	i.info["guest_cpus"] = strconv.Itoa(g.hello.CPUs)
	i.info["guest_memory_bytes"] = strconv.FormatUint(g.hello.MemoryB, 10)
	if g.hello.Runc != "" {
		i.info["guest_runc"] = g.hello.Runc
	}
	if len(g.hello.Notes) > 0 {
		i.info["guest_notes"] = strings.Join(g.hello.Notes, "; ")
	}
	i.boot = workload.BootPhases(g.ready.Sub(g.launched).Seconds(), g.hello.InitAt, g.hello.ReadyAt)
}

// boot boots the guest under the accelerator the platform asks for. Under
// auto it tries KVM first, with ProbeTimeout, and falls back to TCG.
func (v *VM) boot(ctx context.Context, qemu string, cfg Config) (*guest, string, string, error) {
	try := func(accel string, timeout time.Duration) (*guest, error) {
		return launchWith(ctx, qemu, cfg, accel, timeout)
	}
	switch v.Accel {
	case "tcg":
		g, err := try("tcg", v.BootTimeout)
		return g, "tcg", "accel: tcg was asked for", err
	case "kvm":
		if err := kvmUsable(); err != nil {
			return nil, "kvm", "", fmt.Errorf("accel: kvm, but KVM is unusable: %w (use accel: auto or tcg)", err)
		}
		g, err := try("kvm", v.BootTimeout)
		if err != nil {
			err = fmt.Errorf("%w; this host's KVM may not run ordinary guests (nested hosts using PVM, for one): use accel: auto or tcg", err)
		} else if v.Decision != nil {
			// The run's evidence that KVM works here: a platform with
			// accel: auto started later need not race a probe timeout.
			v.Decision.setIfUnset("kvm", fmt.Sprintf("a KVM guest of this run (platform %s) reached its agent", v.PlatformName))
		}
		return g, "kvm", "accel: kvm was asked for", err
	}
	d := v.Decision
	if d == nil {
		d = &Decision{}
	}
	if accel, reason, ok := d.get(); ok {
		// Decided by a guest of this run: under KVM, one reached its
		// agent, so a slower boot now (a loaded or nested host) is given
		// the whole boot_timeout, not the probe's.
		g, err := try(accel, v.BootTimeout)
		return g, accel, reason, err
	}
	if err := kvmUsable(); err != nil {
		reason := "KVM is unusable: " + err.Error()
		d.set("tcg", reason)
		g, err := try("tcg", v.BootTimeout)
		return g, "tcg", reason, err
	}
	// The probe keeps its own console log, the evidence of why KVM failed.
	probe := cfg
	probe.ConsoleLog = strings.TrimSuffix(cfg.ConsoleLog, "-console.log") + "-kvm-probe-console.log"
	g, err := launchWith(ctx, qemu, probe, "kvm", min(ProbeTimeout, v.BootTimeout))
	if err == nil {
		d.set("kvm", "the KVM probe guest reached its agent")
		return g, "kvm", "the KVM probe guest reached its agent", nil
	}
	if ctx.Err() != nil {
		return nil, "kvm", "", err
	}
	reason := fmt.Sprintf("/dev/kvm opens, but a KVM guest did not reach its agent within %s (%v), so the guest runs under TCG", min(ProbeTimeout, v.BootTimeout), firstClause(err))
	d.set("tcg", reason)
	g, err = try("tcg", v.BootTimeout)
	return g, "tcg", reason, err
}

// launchWith boots cfg under accel, on fresh sockets.
func launchWith(ctx context.Context, qemu string, cfg Config, accel string, timeout time.Duration) (*guest, error) {
	cfg.Accel = accel
	os.Remove(cfg.AgentSock)
	os.Remove(cfg.QMPSock)
	return launch(ctx, qemu, cfg, timeout)
}

func firstClause(err error) string {
	s, _, _ := strings.Cut(err.Error(), "; console log")
	return s
}

// checkHugepages fails unless dir is a hugetlbfs mount and enough free huge
// pages are reserved for a guest of memory bytes, saying how to fix it.
func checkHugepages(dir, meminfo string, memory int64) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.HUGETLBFS_MAGIC {
		return fmt.Errorf("hugepages: true, but %s is not a hugetlbfs mount: mkdir -p %s && mount -t hugetlbfs none %s", dir, dir, dir)
	}
	b, err := os.ReadFile(meminfo)
	if err != nil {
		return err
	}
	var free, size int64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "HugePages_Free:" {
			free, _ = strconv.ParseInt(f[1], 10, 64)
		}
		if len(f) >= 2 && f[0] == "Hugepagesize:" {
			size, _ = strconv.ParseInt(f[1], 10, 64)
			size <<= 10
		}
	}
	if size == 0 || free*size < memory {
		need := int64(0)
		if size > 0 {
			need = (memory + size - 1) / size
		}
		return fmt.Errorf("hugepages: true, but only %d huge pages are free and the guest needs %d: echo %d > /proc/sys/vm/nr_hugepages", free, need, need)
	}
	return nil
}

// MakeSparse creates name in dir, a new sparse file of size bytes: a disk whose blocks the
// host allocates as the guest writes them.
func MakeSparse(dir, name string, size int64) error {
	f, err := safefs.Create(dir, name, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// tscKHz reads the host TSC frequency for microvm under TCG, or 0.
func tscKHz() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "cpu MHz"); ok {
			_, val, _ := strings.Cut(rest, ":")
			mhz, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err == nil {
				return int(mhz * 1000)
			}
		}
	}
	return 0
}

// Run runs one trial in the guest.
func (i *Instance) Run(ctx context.Context, req agent.Request) (platform.Output, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.g == nil {
		return platform.Output{}, errors.New("the guest is not running")
	}
	var boot *result.Metric
	var warning string
	if req.Fresh {
		m, w, err := i.bootFresh(ctx)
		if err != nil {
			return platform.Output{}, err
		}
		boot, warning = &m, w
	}
	pid := i.g.cmd.Process.Pid
	req.Sample, req.Seccomp = i.v.Sample.Seconds(), i.seccomp
	// Under KVM, the vCPUs' exits during the trial, by reason; read
	// outside the host CPU's window, which QMP's work would add to.
	var stats0 map[string]float64
	if i.g.cfg.Accel == "kvm" {
		stats0, _ = i.g.kvmStats()
	}
	start := time.Now()
	before, cerr := collect.ProcessCPU("/proc", pid)
	var res platform.Output
	var err error
	res.Result, err = i.g.link.Run(ctx, req, i.v.Container)
	if after, aerr := collect.ProcessCPU("/proc", pid); cerr == nil && aerr == nil {
		res.HostCPU = after - before // every QEMU thread: vCPUs, I/O, TCG translation
	}
	if stats0 != nil && err == nil {
		if stats1, serr := i.g.kvmStats(); serr == nil {
			res.Measured = exitMetrics(stats0, stats1, time.Since(start))
		}
	}
	if boot != nil && err == nil {
		res.Metrics = append(res.Metrics, *boot)
	}
	if warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	switch {
	case errors.Is(err, agent.ErrLinkClosed):
		err = i.g.died()
	case errors.Is(err, agent.ErrStuck):
		i.g.wedged = true
	default:
		return res, err
	}
	// The guest died or is wedged: boot it again for the trials to come,
	// unless the whole run is being stopped.
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return res, err
	}
	return res, errors.Join(err, i.restart(context.WithoutCancel(ctx)))
}

// RunMany runs copies of a trial in the guest at once, over the one agent
// link (its requests are independent). A guest that dies fails them all;
// it is not restarted here: a density level starts its guests afresh.
func (i *Instance) RunMany(ctx context.Context, req agent.Request, copies int) ([]platform.Output, []error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	req.Seccomp = i.seccomp
	if i.g == nil {
		return RunCopies(ctx, nil, 0, req, i.v.Container, copies)
	}
	return RunCopies(ctx, i.g.link, i.g.cmd.Process.Pid, req, i.v.Container, copies)
}

// RunCopies runs copies of a trial at once over one agent link (its
// requests are independent), sharing the host CPU of the VMM process pid
// evenly among them; a nil link fails them all: no guest runs.
func RunCopies(ctx context.Context, link *agent.Link, pid int, req agent.Request, container bool, copies int) ([]platform.Output, []error) {
	res, errs := make([]platform.Output, copies), make([]error, copies)
	if link == nil {
		for k := range errs {
			errs[k] = errors.New("the guest is not running")
		}
		return res, errs
	}
	before, cerr := collect.ProcessCPU("/proc", pid)
	var wg sync.WaitGroup
	for k := range copies {
		wg.Go(func() { res[k].Result, errs[k] = link.Run(ctx, req, container) })
	}
	wg.Wait()
	if after, aerr := collect.ProcessCPU("/proc", pid); cerr == nil && aerr == nil {
		for k := range res {
			res[k].HostCPU = (after - before) / float64(copies)
		}
	}
	return res, errs
}

// restart replaces the guest with a fresh boot of the same configuration.
func (i *Instance) restart(ctx context.Context) error {
	i.restarts++
	i.info["restarts"] = strconv.Itoa(i.restarts)
	if err := i.relaunch(ctx); err != nil {
		return fmt.Errorf("restart the guest: %w", err)
	}
	return fmt.Errorf("%w for the next trials (restart %d)", platform.ErrRestarted, i.restarts)
}

// relaunch stops the guest and boots a fresh one of the same configuration.
func (i *Instance) relaunch(ctx context.Context) error {
	old := i.g
	if old == nil {
		old = i.last
	}
	i.g, i.last = nil, old
	i.pid.Store(0)
	old.stop(ctx)
	g, err := launch(ctx, i.qemu, old.cfg, i.v.BootTimeout)
	if err != nil {
		return err
	}
	i.g = g
	i.pid.Store(int64(g.cmd.Process.Pid))
	if len(i.v.Pin) > 0 { // a new QEMU, new vCPU threads
		pinned, err := g.pin(i.v.Pin)
		if err != nil {
			return err
		}
		i.info["pinned"] = pinned
	}
	return nil
}

// bootFresh is the vm half of a startup trial: a fresh guest, booted and
// timed from QEMU's launch to the agent's hello.
//
// A fresh guest that does not boot is replaced by another, once, and the
// trial says so (warning): under nested KVM on TCG's emulated SVM about
// one guest boot in ten resets before its kernel prints anything.
func (i *Instance) bootFresh(ctx context.Context) (m result.Metric, warning string, err error) {
	err = i.relaunch(ctx)
	if err != nil && ctx.Err() == nil {
		warning = "the first fresh guest did not boot and another was booted: " + err.Error()
		err = i.relaunch(ctx)
	}
	if err != nil {
		return result.Metric{}, warning, fmt.Errorf("boot a fresh guest: %w", err)
	}
	return result.Metric{Name: workload.BootToAgent, Unit: "s", Value: i.g.ready.Sub(i.g.launched).Seconds()}, warning, nil
}

// Samplers follow the QEMU process: its threads' CPU time, and its RSS and
// PSS, which hold the guest's memory as far as the guest has touched it.
func (i *Instance) Samplers() []collect.Sampler {
	return []collect.Sampler{collect.Follow(&i.pid)}
}

// Conditions marks every sample of this platform with its accelerator.
func (i *Instance) Conditions() map[string]string {
	return map[string]string{"accel": i.info["accel"]}
}

// Addr is the guest's address on the run's bridge, "" without a NIC.
func (i *Instance) Addr() string {
	if i.tap == nil {
		return ""
	}
	return i.tap.GuestAddr.Addr().String()
}

// Info describes the guest for run.json.
func (i *Instance) Info() map[string]string { return i.info }

// StartupMetrics are the guest's boot times, measured when it started.
func (i *Instance) StartupMetrics() []result.Metric { return i.boot }

// Close shuts the guest down and removes its sockets. Idempotent.
func (i *Instance) Close(ctx context.Context) error {
	i.closeMu.Lock()
	defer i.closeMu.Unlock()
	if i.closed {
		return nil
	}
	i.closed = true
	var err error
	if i.g != nil {
		i.pid.Store(0)
		err = i.g.stop(ctx)
	}
	if i.tap != nil {
		err = errors.Join(err, i.tap.Close())
	}
	if i.scratch != "" {
		err = errors.Join(err, os.RemoveAll(i.scratch))
	}
	return errors.Join(err, os.RemoveAll(i.dir))
}
