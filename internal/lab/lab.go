// Package lab runs a scenario in the nested lab, where vmbench's KVM path
// runs on a host whose own KVM cannot run ordinary guests: a first-level
// guest (L1) boots under TCG with `-cpu max`, which emulates AMD SVM, so
// that L1's kernel loads kvm_amd and has a /dev/kvm; L1's init runs the
// scenario there with the same vmbench, whose vm platforms are second-level
// guests (L2) under KVM; the run directory comes back to the host's results.
//
// L1 is made of a Debian root (QEMU, runc, crun, iproute2, nftables, kmod,
// from the host's own APT sources), the static vmbench binary, and the
// host's guest kernel and its modules, packed as an ext4 disk image and
// kept in the cache under the hash of what it is made of. Its initramfs is
// the vm platform's own guest image: vmbench as /init and the virtio
// modules; the kernel parameter agent.LabParam makes that init L1's.
package lab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/cleanup"
	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/rootfs"
	"github.com/vmbench/vmbench/internal/rundir"
	"github.com/vmbench/vmbench/internal/scenario"
)

// Packages are the Debian packages of L1's root, beside the essential set.
var Packages = []string{"qemu-system-x86", "runc", "crun", "iproute2", "nftables", "kmod", "golang-github-containers-common"}

// Options configure one lab run.
type Options struct {
	ScenarioText []byte // the scenario L1 runs (validated by the caller)
	ResultsDir   string // the run directory comes back to ResultsDir/<run-id>
	Binary       string // the static vmbench binary: L1's init and L1's vmbench
	CacheDir     string // "": kvm.DefaultCacheDir
	CPUs         int    // L1's vCPUs; 0: 2
	Memory       int64  // L1's memory; 0: 3 GiB
	WorkSize     int64  // free room on the work disk (results, guests' scratch disks); 0: 8 GiB
	Timeout      time.Duration
	QEMU         string // "": qemu-system-x86_64
	Log          io.Writer
}

func (o *Options) complete() error {
	if o.CPUs == 0 {
		o.CPUs = 2
	}
	if o.Memory == 0 {
		o.Memory = 3 << 30
	}
	if o.WorkSize == 0 {
		o.WorkSize = 8 << 30
	}
	if o.Timeout == 0 {
		o.Timeout = time.Hour
	}
	if o.QEMU == "" {
		o.QEMU = "qemu-system-x86_64"
	}
	if o.CacheDir == "" {
		o.CacheDir = kvm.DefaultCacheDir
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return platform.CheckStatic(o.Binary)
}

// Image is what L1 boots.
type Image struct {
	Root   string // ext4 image of L1's root
	Initrd string // vmbench as /init and the virtio modules
	Kernel kvm.Kernel
	Key    string // the hash of what it is made of, which names it
	Suite  string
	BuildS float64 // 0: it was in the cache
}

// Build returns L1's image, building it the first time: a Debian root of
// Packages (cached on its own), with the vmbench binary as
// /usr/local/bin/vmbench and the host's newest guest kernel under /boot with
// its modules, packed by mkfs.ext4 with a gigabyte to spare.
func Build(ctx context.Context, o Options) (Image, error) {
	start := time.Now()
	kernel, err := kvm.GuestKernel(ctx, o.CacheDir, "", o.Log)
	if err != nil {
		return Image{}, fmt.Errorf("lab: %w", err)
	}
	if kernel.ModulesDir == "" {
		return Image{}, fmt.Errorf("lab: kernel %s has no modules beside it: L1 loads kvm_amd from them", kernel.Path)
	}
	root, err := rootfs.DebianRootfs(ctx, o.CacheDir, "lab", Packages, o.Log)
	if err != nil {
		return Image{}, fmt.Errorf("lab: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", root, kernel.Path, kernel.ModulesDir)
	for _, f := range []string{o.Binary, kernel.Path} {
		b, err := os.ReadFile(f)
		if err != nil {
			return Image{}, err
		}
		h.Write(b)
	}
	img := Image{Kernel: kernel, Key: hex.EncodeToString(h.Sum(nil))[:16], Suite: rootfs.OSRelease(filepath.Join(root, "etc", "os-release"), "VERSION_CODENAME")}
	img.Root = filepath.Join(o.CacheDir, "lab-"+img.Key+".ext4")
	if img.Initrd, _, err = kvm.BuildImage(kvm.ImageSpec{Agent: o.Binary, Kernel: kernel, Modules: kvm.GuestModules}, o.CacheDir); err != nil {
		return Image{}, fmt.Errorf("lab: L1's initramfs: %w", err)
	}
	if _, err := os.Stat(img.Root); err == nil {
		now := time.Now()
		os.Chtimes(img.Root, now, now) // most recently used: kept by PruneCache
		return img, nil
	}
	// Each vmbench build makes a new image (about 440 MB); keep the last two.
	defer kvm.PruneCache(o.CacheDir, "lab-*.ext4", 2)
	fmt.Fprintf(o.Log, "lab: making L1's root image (vmbench, kernel %s), once; it is kept as %s\n", filepath.Base(kernel.Path), img.Root)
	// The extras are written into the cached rootfs, replacing the last
	// image's: it serves only as the source of these images.
	release := strings.TrimPrefix(filepath.Base(kernel.Path), "vmlinuz-")
	for _, c := range [][2]string{
		{o.Binary, "usr/local/bin/vmbench"},
		{kernel.Path, "boot/" + filepath.Base(kernel.Path)},
		{kernel.ModulesDir, "lib/modules/" + release},
	} {
		dst := filepath.Join(root, c[1])
		os.RemoveAll(dst)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return Image{}, err
		}
		if out, err := exec.CommandContext(ctx, "cp", "-a", c[0], dst).CombinedOutput(); err != nil {
			return Image{}, fmt.Errorf("lab: copy %s into L1's root: %v: %s", c[0], err, out)
		}
	}
	// vmbench in L1 boots L2 with the same kernel: its kernel cache holds
	// L1's own root (boot/vmlinuz-*, lib/modules), as the host's holds an
	// extracted package; L1 has no apt to extract one.
	inCache := filepath.Join(root, strings.TrimPrefix(kvm.DefaultCacheDir, "/"), "kernel", "l1")
	os.RemoveAll(filepath.Dir(inCache))
	if err := os.MkdirAll(filepath.Dir(inCache), 0o755); err != nil {
		return Image{}, err
	}
	if err := os.Symlink("/", inCache); err != nil {
		return Image{}, err
	}
	if err := rootfs.MakeExt4(ctx, root, img.Root, "vmbench-lab", 1<<30); err != nil {
		return Image{}, fmt.Errorf("lab: L1's root image: %w", err)
	}
	img.BuildS = time.Since(start).Seconds()
	return img, nil
}

// Config is L1's QEMU configuration.
type Config struct {
	Name    string // -name, also how vmbench cleanup finds a leftover L1
	CPUs    int
	MemoryB int64
	Kernel  string
	Initrd  string
	Root    string // L1's root image, written through a snapshot
	Work    string // the work disk
}

// Args builds L1's QEMU argument vector. It is pure. TCG with -cpu max
// emulates AMD SVM (and nested paging), which L1's kvm_amd needs; its
// serial console is QEMU's stdout.
func Args(c Config) []string {
	return []string{
		"-name", c.Name,
		"-machine", "q35", "-accel", "tcg,thread=multi", "-cpu", "max",
		"-smp", strconv.Itoa(c.CPUs), "-m", strconv.FormatInt(c.MemoryB>>20, 10),
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-serial", "stdio", "-monitor", "none",
		"-kernel", c.Kernel, "-initrd", c.Initrd,
		// A wedged L1 (a soft lockup in KVM_RUN, TCG's SVM failing)
		// panics at once instead of hanging until the timeout.
		"-append", "console=ttyS0 quiet panic=-1 softlockup_panic=1 " + agent.LabParam + "=1",
		"-drive", "file=" + strings.ReplaceAll(c.Root, ",", ",,") + ",if=none,id=root,format=raw,snapshot=on",
		"-device", "virtio-blk-pci,drive=root,serial=" + agent.LabRootSerial,
		"-drive", "file=" + strings.ReplaceAll(c.Work, ",", ",,") + ",if=none,id=work,format=raw",
		"-device", "virtio-blk-pci,drive=work,serial=" + agent.LabWorkSerial,
	}
}

// Run runs the scenario in the lab and returns the run directory, moved
// into o.ResultsDir, with run.json saying how it was made (result.Lab).
func Run(ctx context.Context, o Options) (dir string, err error) {
	if err := o.complete(); err != nil {
		return "", err
	}
	qemu, err := exec.LookPath(o.QEMU)
	if err != nil {
		return "", fmt.Errorf("%s not found: install it (apt-get install -y qemu-system-x86)", o.QEMU)
	}
	// The lab holds a run lock of its own, so that vmbench cleanup leaves
	// its L1 and its work directory alone while it lives.
	id := rundir.NewRunID(time.Now())
	release, err := rundir.LockRun(id)
	if err != nil {
		return "", fmt.Errorf("lab: %w", err)
	}
	defer release()
	var undo cleanup.Stack
	defer func() {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if cerr := undo.Run(tctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	img, err := Build(ctx, o)
	if err != nil {
		return "", err
	}
	name := result.Name(id, "lab")
	tmp, err := os.MkdirTemp(scenario.DefaultScratchDir, name+"-")
	if err != nil {
		return "", fmt.Errorf("lab: work directory: %w", err)
	}
	undo.Push("lab work directory", func(context.Context) error { return os.RemoveAll(tmp) })
	work, err := makeWork(ctx, tmp, o)
	if err != nil {
		return "", err
	}
	cfg := Config{Name: name, CPUs: o.CPUs, MemoryB: o.Memory, Kernel: img.Kernel.Path, Initrd: img.Initrd, Root: img.Root, Work: work}
	console := filepath.Join(tmp, "console.log")
	fmt.Fprintf(o.Log, "lab: booting L1 (%d vCPUs, %d MiB, TCG with emulated SVM); its console follows\n", cfg.CPUs, cfg.MemoryB>>20)
	start := time.Now()
	if err := boot(ctx, qemu, cfg, console, o); err != nil {
		return "", fmt.Errorf("lab: %w; L1's console log: %s", err, keep(console, o.ResultsDir, id))
	}
	wall := time.Since(start).Seconds()
	var l1 result.LabL1
	status, err := debugfs(ctx, work, "cat /"+agent.LabStatus)
	if err == nil {
		err = json.Unmarshal(status, &l1)
	}
	if err != nil {
		if panic := panicLine(console); panic != "" {
			return "", fmt.Errorf("lab: %w (%s); L1's console log: %s", ErrL1Crashed, panic, keep(console, o.ResultsDir, id))
		}
		return "", fmt.Errorf("lab: L1 left no account of its run (%v); L1's console log: %s", err, keep(console, o.ResultsDir, id))
	}
	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return "", err
	}
	if _, err := debugfs(ctx, work, "rdump /"+agent.LabResults+" "+out); err != nil {
		return "", fmt.Errorf("lab: copy the results out of the work disk: %w", err)
	}
	dir, err = adopt(filepath.Join(out, agent.LabResults), o.ResultsDir)
	if err != nil {
		return "", fmt.Errorf("lab: %w (vmbench run in L1 exited %d); L1's console log: %s", err, l1.ExitCode, keep(console, o.ResultsDir, id))
	}
	if err := platform.CopyFile(console, filepath.Join(dir, "lab-console.log"), 0o644); err != nil {
		return dir, err
	}
	info, err := result.ReadRun(dir)
	if err != nil {
		return dir, err
	}
	info.Lab = &result.Lab{
		Kind: "nested", Image: filepath.Base(img.Root), Suite: img.Suite, Packages: Packages,
		Kernel: filepath.Base(img.Kernel.Path), QEMU: qemu + " " + strings.Join(Args(cfg), " "),
		BuildS: img.BuildS, WallS: wall, Console: "lab-console.log", L1: l1,
	}
	if err := result.WriteRun(dir, info); err != nil {
		return dir, err
	}
	if err := rundir.PointLatest(o.ResultsDir, info.RunID); err != nil {
		fmt.Fprintf(o.Log, "warning: %v\n", err)
	}
	switch {
	case !l1.Clean:
		return dir, fmt.Errorf("lab: vmbench left things behind in L1: %s", l1.Left)
	case l1.ExitCode != 0:
		return dir, fmt.Errorf("lab: vmbench run in L1 exited %d; see %s", l1.ExitCode, filepath.Join(dir, "lab-console.log"))
	}
	return dir, nil
}

// ErrL1Crashed says that L1's kernel panicked before the run ended. TCG's
// emulation of SVM fails now and then under nested KVM (seen here: a
// kernel stack overflow in L1 in the middle of KVM_RUN, and a vCPU thread
// stuck in KVM_RUN, a soft lockup, which softlockup_panic turns into a
// panic): not vmbench's fault, and another lab run usually goes through.
var ErrL1Crashed = errors.New("L1's kernel panicked (TCG's emulated SVM fails now and then under nested KVM: run the lab again)")

// panicLine returns the "Kernel panic" line of L1's console, if any.
func panicLine(console string) string {
	b, _ := os.ReadFile(console)
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.Index(l, "Kernel panic"); i >= 0 {
			return strings.TrimSpace(l[i:])
		}
	}
	return ""
}

// makeWork makes the work disk: the scenario, and room for the results and
// the guests' scratch disks.
func makeWork(ctx context.Context, tmp string, o Options) (string, error) {
	src := filepath.Join(tmp, "work")
	if err := os.Mkdir(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, agent.LabScenario), o.ScenarioText, 0o644); err != nil {
		return "", err
	}
	work := filepath.Join(tmp, "work.ext4")
	if err := rootfs.MakeExt4(ctx, src, work, "vmbench-work", o.WorkSize); err != nil {
		return "", fmt.Errorf("lab: work disk: %w", err)
	}
	return work, nil
}

// boot runs L1 until it powers off, its console going to the console file
// and, line by line, to the log. Cancelling ctx, or the timeout, kills it.
func boot(ctx context.Context, qemu string, cfg Config, console string, o Options) error {
	f, err := os.Create(console)
	if err != nil {
		return err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	cmd := exec.Command(qemu, Args(cfg)...)
	cmd.Stdout, cmd.Stderr = io.MultiWriter(f, pw), io.MultiWriter(f, pw)
	// Its own process group: Ctrl-C reaches vmbench, which kills L1.
	// Pdeathsig: a vmbench killed with SIGKILL takes L1 with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", qemu, err)
	}
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintf(o.Log, "L1| %s\n", strings.TrimRight(sc.Text(), "\r"))
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	timer := time.NewTimer(o.Timeout)
	defer timer.Stop()
	var werr error
	select {
	case werr = <-exited:
	case <-ctx.Done():
		cmd.Process.Kill()
		<-exited
		werr = ctx.Err()
	case <-timer.C:
		cmd.Process.Kill()
		<-exited
		werr = fmt.Errorf("L1 did not power off within %s", o.Timeout)
	}
	pw.Close()
	<-lines
	if werr != nil {
		return fmt.Errorf("L1 (QEMU %s): %w", cfg.Name, werr)
	}
	return nil
}

// debugfs runs a debugfs request on an ext4 image (read-only) and returns
// its output: the host reads the work disk without mounting it.
func debugfs(ctx context.Context, image, request string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "debugfs", "-R", request, image)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("debugfs %q: %v: %s", request, err, strings.TrimSpace(stderr.String()))
	}
	// debugfs says what failed on stderr and still exits 0.
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "File not found") || strings.Contains(l, "not found by ext2_lookup") {
			return nil, fmt.Errorf("debugfs %q: %s", request, strings.TrimSpace(l))
		}
	}
	return stdout.Bytes(), nil
}

// adopt moves the one run directory under from into results.
func adopt(from, results string) (string, error) {
	entries, err := os.ReadDir(from)
	if err != nil {
		return "", fmt.Errorf("no results: %w", err)
	}
	var runs []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != rundir.Latest {
			runs = append(runs, e.Name())
		}
	}
	if len(runs) != 1 {
		return "", fmt.Errorf("L1 made %d run directories, not one", len(runs))
	}
	if err := os.MkdirAll(results, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(results, runs[0])
	if err := os.Rename(filepath.Join(from, runs[0]), dst); err != nil {
		// Another file system: copy.
		if err := os.CopyFS(dst, os.DirFS(filepath.Join(from, runs[0]))); err != nil {
			return "", err
		}
	}
	return dst, nil
}

// keep copies L1's console log into the results, where it outlives the
// work directory, and returns its path.
func keep(console, results, id string) string {
	dst := filepath.Join(results, "lab-"+id+"-console.log")
	if os.MkdirAll(results, 0o755) != nil || platform.CopyFile(console, dst, 0o644) != nil {
		return console
	}
	return dst
}
