package virt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/hostnet"
	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/safefs"
	"github.com/vmbench/vmbench/internal/workload"
)

// Socket is libvirtd's socket for qemu:///system.
var Socket = "/var/run/libvirt/libvirt-sock"

// PIDDir is where libvirt keeps the pid files of its QEMU processes.
var PIDDir = "/run/libvirt/qemu"

// Platform is a vm platform whose guests are libvirt domains.
type Platform struct {
	PlatformName string
	RunID        string
	RunDir       string // receives <platform>-console.log and each domain's XML
	Binary       string // the static vmbench binary: the guest's agent
	options.VMOptions
	Decision *kvm.Decision // shared accel: auto outcome; nil: decide alone
	Scratch  string        // the run's scratch directory; "": no scratch disk
	Network  *hostnet.Network
	Tools    string // the tools image, attached read-only; "": none
	Sample   time.Duration

	n         atomic.Int64 // instances started, for unique domain names
	imageOnce sync.Once
	image     imageInfo
	imageErr  error
}

var _ platform.Platform = (*Platform)(nil)

func (p *Platform) Name() string { return p.PlatformName }

// imageInfo is what qemu-img says of the image, and its digest.
type imageInfo struct {
	path, format, sha256 string
	virtualSize          int64
}

// Instance is a running domain.
type Instance struct {
	p        *Platform
	l        *libvirt.Libvirt
	dom      Domain
	xml      []byte // the XML it was created from
	dir      string // temp dir: overlay, seed
	scratch  string // the instance's scratch directory; "": none
	tap      *hostnet.Tap
	info     map[string]string
	boot     []result.Metric
	mu       sync.Mutex // one trial at a time
	closeMu  sync.Mutex
	closed   bool
	g        *guest
	restarts int
	pid      atomic.Int64
	memB     int64               // the guest's memory: the scenario's, or domain_xml's
	seccomp  *specs.LinuxSeccomp // the containers' profile, as on the host
}

var (
	_ platform.Instance    = (*Instance)(nil)
	_ platform.Conditioner = (*Instance)(nil)
	_ platform.VMM         = (*Instance)(nil)
	_ platform.Packed      = (*Instance)(nil)
)

// guest is one boot of the domain: its libvirt handle and agent link.
type guest struct {
	d        libvirt.Domain
	link     *agent.Link
	launched time.Time
	ready    time.Time
	hello    agent.Hello
	wedged   bool
}

// Start checks the image and libvirtd, makes the guest's overlay, seed and
// scratch disks and NIC, and boots the domain. The returned Instance, also
// on error, must be closed.
func (p *Platform) Start(ctx context.Context) (platform.Instance, error) {
	img, err := p.checkImage(ctx)
	if err != nil {
		return nil, err
	}
	var seccomp *specs.LinuxSeccomp
	if path := options.SeccompPath(p.Seccomp); path != "" && p.Container {
		if seccomp, err = platform.LoadSeccomp(path, platform.BundleCaps); err != nil {
			return nil, err
		}
	}
	l, err := Connect()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s-%d", result.Name(p.RunID, platform.FileName(p.PlatformName)), p.n.Add(1))
	inst := &Instance{p: p, l: l, seccomp: seccomp, info: map[string]string{
		"manager": options.ManagerLibvirt, "image": img.path, "image_format": img.format, "image_sha256": img.sha256,
		"vcpus": strconv.Itoa(p.VCPUs), "memory_bytes": strconv.FormatInt(p.Memory, 10), "machine": "q35",
		"container": strconv.FormatBool(p.Container), "domain": name,
	}}
	if p.Container {
		inst.info["seccomp"] = platform.SeccompInfo(p.Seccomp, seccomp)
	}
	if v, err := l.ConnectGetLibVersion(); err == nil {
		inst.info["libvirt_version"] = fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
	}
	if inst.dir, err = os.MkdirTemp("", name+"-"); err != nil {
		return inst, err
	}
	inst.dom = Domain{
		Name: name, VCPUs: p.VCPUs, MemoryB: p.Memory, Pin: p.Pin,
		Kernel: p.Kernel, Initrd: p.Initrd, KernelArgs: p.KernelArgs,
		ConsoleLog: filepath.Join(p.RunDir, platform.FileName(p.PlatformName)+"-console.log"),
		Tools:      p.Tools,
	}
	inst.memB = p.Memory
	if err := inst.makeDisks(ctx, img); err != nil {
		return inst, err
	}
	if p.Network != nil {
		if inst.tap, err = p.Network.NewTap(ctx); err != nil {
			return inst, fmt.Errorf("network: %w", err)
		}
		inst.dom.Tap, inst.dom.GuestIP = inst.tap.Name, inst.tap.GuestAddr.String()
		inst.info["network"] = fmt.Sprintf("tap %s on bridge %s, guest %s", inst.tap.Name, p.Network.Bridge, inst.dom.GuestIP)
	}
	if inst.dom.Seed, err = Seed(ctx, inst.dir, name, p.Binary, inst.dom.GuestIP); err != nil {
		return inst, err
	}
	if err := inst.readBase(); err != nil {
		return inst, err
	}
	accel, reason, err := inst.start(ctx)
	inst.info["accel"], inst.info["accel_reason"] = accel, reason
	if err != nil {
		return inst, err
	}
	inst.recordGuest()
	return inst, nil
}

// readBase reads the team's domain XML (domain_xml:), when there is one,
// and checks that vmbench can augment it, before any domain exists.
func (i *Instance) readBase() error {
	path := i.p.DomainXML
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("domain_xml: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return fmt.Errorf("domain_xml %s: %w", path, err)
	}
	if len(b) > 1<<20 {
		return fmt.Errorf("domain_xml %s: over 1 MiB, not a domain's XML", path)
	}
	i.dom.Base = b
	a, err := Augment(b, i.dom)
	if err != nil {
		return fmt.Errorf("domain_xml %s: %w", path, err)
	}
	i.dom.VCPUs, i.memB = a.VCPUs, a.MemoryB
	i.info["domain_xml_source"] = path
	i.info["vcpus"], i.info["memory_bytes"] = strconv.Itoa(a.VCPUs), strconv.FormatInt(a.MemoryB, 10)
	if len(a.Changes) > 0 {
		i.info["domain_xml_changes"] = strings.Join(a.Changes, "; ")
	}
	return nil
}

// checkImage asks qemu-img what the image is and hashes it, once per
// platform: a density sweep starts many guests from one image.
func (p *Platform) checkImage(ctx context.Context) (imageInfo, error) {
	p.imageOnce.Do(func() { p.image, p.imageErr = inspectImage(ctx, p.Image) })
	return p.image, p.imageErr
}

func inspectImage(ctx context.Context, path string) (imageInfo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return imageInfo{}, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return imageInfo{}, fmt.Errorf("image: %w (name a qcow2 or raw disk image; scripts/cloud-image.sh builds a Debian 12 one)", err)
	}
	defer f.Close()
	qemuImg, err := exec.LookPath("qemu-img")
	if err != nil {
		return imageInfo{}, errors.New("qemu-img not found: it makes each guest's overlay of the image; install it (apt-get install -y qemu-utils)")
	}
	out, err := exec.CommandContext(ctx, qemuImg, "info", "--output=json", "--", abs).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%s", strings.TrimSpace(string(ee.Stderr)))
		}
		return imageInfo{}, fmt.Errorf("image %s: qemu-img info: %v", abs, err)
	}
	var info struct {
		Format      string `json:"format"`
		VirtualSize int64  `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return imageInfo{}, fmt.Errorf("image %s: qemu-img info: %w", abs, err)
	}
	// A file qemu-img cannot place is "raw" to it: one too small to hold
	// a boot sector and a file system is not a disk.
	if info.VirtualSize < 1<<20 {
		return imageInfo{}, fmt.Errorf("image %s: not a disk image (qemu-img reads it as %s, %d bytes): name a qcow2 or raw disk image", abs, info.Format, info.VirtualSize)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return imageInfo{}, fmt.Errorf("image %s: %w", abs, err)
	}
	return imageInfo{path: abs, format: info.Format, sha256: hex.EncodeToString(h.Sum(nil)), virtualSize: info.VirtualSize}, nil
}

// makeDisks makes the guest's overlay of the image (the image is its
// read-only backing file) in the instance's temp dir, and its scratch
// disk in the instance's own scratch directory.
func (i *Instance) makeDisks(ctx context.Context, img imageInfo) (err error) {
	p := i.p
	i.dom.Overlay = filepath.Join(i.dir, "overlay.qcow2")
	out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", "-F", img.format, "-b", img.path, "--", i.dom.Overlay).CombinedOutput()
	if err != nil {
		return fmt.Errorf("overlay of %s: qemu-img create: %v: %s", img.path, err, strings.TrimSpace(string(out)))
	}
	if i.scratch, err = platform.InstanceScratch(p.Scratch, p.PlatformName); err != nil || i.scratch == "" {
		return err
	}
	if err := kvm.MakeSparse(i.scratch, "disk.img", p.ScratchSize); err != nil {
		return fmt.Errorf("scratch disk: %w", err)
	}
	i.dom.Scratch, i.dom.DiskCache, i.dom.DiskAIO = filepath.Join(i.scratch, "disk.img"), p.DiskCache, p.DiskAIO
	i.info["scratch_disk"] = fmt.Sprintf("%s (%d bytes, cache=%s, aio=%s)", i.dom.Scratch, p.ScratchSize, p.DiskCache, p.DiskAIO)
	return nil
}

// start creates the domain under the accelerator the platform asks for;
// under auto, KVM when it is usable and a KVM domain boots, else TCG.
func (i *Instance) start(ctx context.Context) (accel, reason string, err error) {
	p := i.p
	switch p.Accel {
	case "tcg":
		return "tcg", "accel: tcg was asked for", i.launch(ctx, "tcg")
	case "kvm":
		if err := kvm.KVMUsable(); err != nil {
			return "kvm", "", fmt.Errorf("accel: kvm, but KVM is unusable: %w (use accel: auto or tcg)", err)
		}
		return "kvm", "accel: kvm was asked for", i.launch(ctx, "kvm")
	}
	d := p.Decision
	if d == nil {
		d = &kvm.Decision{}
	}
	if accel, reason, ok := d.Outcome(); ok {
		return accel, reason, i.launch(ctx, accel)
	}
	if err := kvm.KVMUsable(); err != nil {
		reason := "KVM is unusable: " + err.Error()
		d.Record("tcg", reason)
		return "tcg", reason, i.launch(ctx, "tcg")
	}
	if err := i.launch(ctx, "kvm"); err == nil || ctx.Err() != nil {
		d.Record("kvm", "a KVM domain reached its agent")
		return "kvm", "a KVM domain reached its agent", err
	} else {
		reason = fmt.Sprintf("/dev/kvm opens, but a KVM domain did not reach its agent (%v), so the guest runs under TCG", err)
	}
	d.Record("tcg", reason)
	return "tcg", reason, i.launch(ctx, "tcg")
}

// launch creates the domain (transient, destroyed by libvirt when this
// connection closes: a vmbench killed outright takes its domains with
// it), stores its live XML in the run directory, and waits for the
// agent's hello.
func (i *Instance) launch(ctx context.Context, accel string) error {
	i.dom.Accel = accel
	x, err := i.dom.XML()
	if err != nil {
		return err
	}
	i.xml = x
	g := &guest{launched: time.Now()}
	g.d, err = i.l.DomainCreateXML(string(x), libvirt.DomainStartAutodestroy|libvirt.DomainStartValidate)
	if err != nil {
		return fmt.Errorf("libvirt refused the domain %s: %v (its XML: %s)", i.dom.Name, err, i.storeXML(x))
	}
	i.g = g
	live, err := i.l.DomainGetXMLDesc(g.d, 0)
	if err != nil {
		return fmt.Errorf("domain %s: %w", i.dom.Name, err)
	}
	i.info["domain_xml"] = i.storeXML([]byte(live))
	if pid, err := readPID(filepath.Join(PIDDir, i.dom.Name+".pid")); err == nil {
		i.pid.Store(int64(pid))
	}
	sock := AgentSocket(live)
	if sock == "" {
		return fmt.Errorf("domain %s: its live XML has no %s channel", i.dom.Name, agent.PortName)
	}
	bctx, cancel := context.WithTimeout(ctx, i.p.BootTimeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(bctx, "unix", sock)
	if err != nil {
		return i.bootFailed(err)
	}
	g.link = agent.NewLink(conn)
	if g.hello, err = g.link.Hello(bctx); err != nil {
		return i.bootFailed(err)
	}
	g.ready = time.Now()
	return nil
}

// bootFailed destroys a domain that did not reach its agent and says why,
// quoting its console.
func (i *Instance) bootFailed(err error) error {
	i.stopGuest()
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("the agent did not say hello within boot_timeout %s: does the image have cloud-init (the agent comes in through its NoCloud seed disk) and a kernel that boots?", i.p.BootTimeout)
	}
	return fmt.Errorf("libvirt guest %s (accel %s): %v; console log: %s%s", i.dom.Name, i.dom.Accel, err, i.dom.ConsoleLog, kvm.ConsoleTail(i.dom.ConsoleLog))
}

// storeXML keeps a domain's XML in the run directory and returns its path.
func (i *Instance) storeXML(x []byte) string {
	name := i.dom.Name[len(result.Name(i.p.RunID, "")):] + "-domain.xml"
	if err := safefs.WriteFile(i.p.RunDir, name, x, result.FileMode); err != nil {
		return "(not stored: " + err.Error() + ")"
	}
	return filepath.Join(i.p.RunDir, name)
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// recordGuest records what the guest said of itself, and its boot phases.
func (i *Instance) recordGuest() {
	g := i.g
	i.info["console_log"] = i.dom.ConsoleLog
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

// Run runs one trial in the guest.
func (i *Instance) Run(ctx context.Context, req agent.Request) (platform.Output, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	var boot *result.Metric
	if req.Fresh {
		if err := i.relaunch(ctx); err != nil {
			return platform.Output{}, fmt.Errorf("boot a fresh guest: %w", err)
		}
		boot = &result.Metric{Name: workload.BootToAgent, Unit: "s", Value: i.g.ready.Sub(i.g.launched).Seconds()}
	}
	if i.g == nil || i.g.link == nil {
		return platform.Output{}, errors.New("the guest is not running")
	}
	if i.p.Container && i.g.hello.Runc == "" {
		return platform.Output{}, fmt.Errorf("the image has no container runtime (the guest says: %s): install runc in the image, or set container: false to run the workload as a guest process", i.info["guest_notes"])
	}
	req.Sample, req.Seccomp = i.p.Sample.Seconds(), i.seccomp
	pid := int(i.pid.Load())
	before, cerr := collect.ProcessCPU("/proc", pid)
	var res platform.Output
	var err error
	res.Result, err = i.g.link.Run(ctx, req, i.p.Container)
	if after, aerr := collect.ProcessCPU("/proc", pid); cerr == nil && aerr == nil {
		res.HostCPU = after - before
	}
	if boot != nil && err == nil {
		res.Metrics = append(res.Metrics, *boot)
	}
	if !errors.Is(err, agent.ErrLinkClosed) && !errors.Is(err, agent.ErrStuck) {
		return res, err
	}
	i.g.wedged = errors.Is(err, agent.ErrStuck)
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return res, err
	}
	err = fmt.Errorf("%w; console log: %s%s", err, i.dom.ConsoleLog, kvm.ConsoleTail(i.dom.ConsoleLog))
	i.restarts++
	i.info["restarts"] = strconv.Itoa(i.restarts)
	if rerr := i.relaunch(context.WithoutCancel(ctx)); rerr != nil {
		return res, errors.Join(err, fmt.Errorf("restart the guest: %w", rerr))
	}
	return res, errors.Join(err, fmt.Errorf("%w for the next trials (restart %d)", platform.ErrRestarted, i.restarts))
}

// RunMany runs copies of a trial in the guest at once (a density sweep's
// per_guest), sharing the domain's host CPU evenly among them.
func (i *Instance) RunMany(ctx context.Context, req agent.Request, copies int) ([]platform.Output, []error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	req.Seccomp = i.seccomp
	if i.g == nil {
		return kvm.RunCopies(ctx, nil, 0, req, i.p.Container, copies)
	}
	return kvm.RunCopies(ctx, i.g.link, int(i.pid.Load()), req, i.p.Container, copies)
}

// relaunch stops the domain and creates it again from the same XML, on
// the same overlay: cloud-init starts the agent on every boot.
func (i *Instance) relaunch(ctx context.Context) error {
	i.stopGuest()
	return i.launch(ctx, i.dom.Accel)
}

// stopGuest powers the guest off through its agent, else destroys the
// domain; it returns once libvirt no longer has it.
func (i *Instance) stopGuest() {
	g := i.g
	if g == nil {
		return
	}
	i.g = nil
	i.pid.Store(0)
	if g.link != nil {
		if !g.ready.IsZero() && !g.wedged {
			g.link.Shutdown()
			i.waitGone(g.d, kvm.PoweroffGrace)
		}
		g.link.Close()
	}
	if !i.gone(g.d) {
		i.l.DomainDestroy(g.d)
		i.waitGone(g.d, kvm.QuitGrace)
	}
}

func (i *Instance) gone(d libvirt.Domain) bool {
	_, err := i.l.DomainLookupByName(d.Name)
	return err != nil
}

func (i *Instance) waitGone(d libvirt.Domain, grace time.Duration) {
	for end := time.Now().Add(grace); time.Now().Before(end) && !i.gone(d); {
		time.Sleep(100 * time.Millisecond)
	}
}

// VMMProcess is the domain's QEMU pid and the guest's memory.
func (i *Instance) VMMProcess() (int, int64) { return int(i.pid.Load()), i.memB }

// Samplers follow the domain's QEMU process.
func (i *Instance) Samplers() []collect.Sampler { return []collect.Sampler{collect.Follow(&i.pid)} }

// Conditions mark every sample with the accelerator, the manager and the
// image (its name and digest).
func (i *Instance) Conditions() map[string]string {
	return map[string]string{
		"accel": i.info["accel"], "manager": options.ManagerLibvirt,
		"image": filepath.Base(i.info["image"]) + "@sha256:" + i.info["image_sha256"][:min(16, len(i.info["image_sha256"]))],
	}
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

// StartupMetrics are the guest's boot phases.
func (i *Instance) StartupMetrics() []result.Metric { return i.boot }

// Close powers the guest off, and removes its overlay, seed, scratch disk
// and NIC. Idempotent.
func (i *Instance) Close(context.Context) error {
	i.closeMu.Lock()
	defer i.closeMu.Unlock()
	if i.closed {
		return nil
	}
	i.closed = true
	i.stopGuest()
	err := i.l.Disconnect()
	if i.tap != nil {
		err = errors.Join(err, i.tap.Close())
	}
	if i.scratch != "" {
		err = errors.Join(err, os.RemoveAll(i.scratch))
	}
	if i.dir != "" {
		err = errors.Join(err, os.RemoveAll(i.dir))
	}
	return err
}

// Connect opens a connection to libvirtd's qemu:///system, or says how to
// start it.
func Connect() (*libvirt.Libvirt, error) {
	l := libvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(Socket), dialers.WithLocalTimeout(5*time.Second)))
	if err := l.ConnectToURI(libvirt.QEMUSystem); err != nil {
		return nil, fmt.Errorf("libvirtd does not answer at %s (%v): start it (systemctl start libvirtd; without systemd: virtlogd -d && libvirtd -d), or install it (apt-get install -y libvirt-daemon-system)", Socket, err)
	}
	return l, nil
}

// Leftovers lists the domains whose names start with prefix: the guests
// of runs killed before they tore down. (A transient domain goes with the
// connection that made it; one whose vmbench still runs, or hangs, stays.)
// A host without libvirtd has none.
func Leftovers(prefix string) ([]string, error) {
	if _, err := os.Stat(Socket); err != nil {
		return nil, nil
	}
	l, err := Connect()
	if err != nil {
		return nil, err
	}
	defer l.Disconnect()
	doms, _, err := l.ConnectListAllDomains(1, 0)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range doms {
		if strings.HasPrefix(d.Name, prefix) {
			names = append(names, d.Name)
		}
	}
	return names, nil
}

// Destroy destroys the domain called name.
func Destroy(name string) error {
	l, err := Connect()
	if err != nil {
		return err
	}
	defer l.Disconnect()
	d, err := l.DomainLookupByName(name)
	if err != nil {
		return err
	}
	return l.DomainDestroy(d)
}
