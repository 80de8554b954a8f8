// Package doctor checks what this host can run: each platform type's
// requirements, and whether KVM really runs a guest (not just whether
// /dev/kvm exists). It boots real guests, so its verdict is the one a run
// would reach.
package doctor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/hostinfo"
	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/remote"
	"github.com/vmbench/vmbench/internal/virt"
)

// Status of a check.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "FAIL"
)

// Check is one finding.
type Check struct {
	Name   string
	Status Status
	Detail string
}

// Report is every finding and, per platform type, whether it can run.
type Report struct {
	Checks    []Check
	Platforms map[string]error // nil: can run
}

// Options say what to check with.
type Options struct {
	Binary   string // the static vmbench binary
	CacheDir string
	Log      io.Writer // progress while guests boot
	// Types are the platform types to check (a scenario's); nil: every
	// type, as the default scenario has them. Without vm, no guest boots.
	Types []string
	// Remotes are the scenario's remote machines, each checked over SSH
	// as its platform would find it (reachable, authenticated, root or
	// passwordless sudo, x86-64, the runtime, room for the placement).
	Remotes []*remote.Platform
}

// Run performs every check. It takes as long as a KVM probe and a TCG boot.
//
// Native platforms need neither root nor a static binary: without them the
// checks warn, and the other platform types cannot run.
func Run(ctx context.Context, o Options) (r Report) {
	r = Report{Platforms: map[string]error{}}
	add := func(name string, st Status, format string, args ...any) {
		r.Checks = append(r.Checks, Check{name, st, fmt.Sprintf(format, args...)})
	}
	staticErr := platform.CheckStatic(o.Binary)
	if staticErr != nil {
		add("vmbench binary", Warn, "%v", staticErr)
	} else {
		add("vmbench binary", OK, "%s is static", o.Binary)
	}
	var rootErr error
	if os.Geteuid() == 0 {
		add("root", OK, "running as root")
	} else {
		rootErr = errors.New("not root: container and vm platforms need root (run vmbench with sudo)")
		add("root", Warn, "%v", rootErr)
	}
	defer func() {
		for _, t := range []string{"container", "vm", "remote"} {
			if rootErr != nil && t != "remote" {
				r.Platforms[t] = cmp.Or(r.Platforms[t], rootErr)
			}
			if staticErr != nil {
				r.Platforms[t] = cmp.Or(r.Platforms[t], staticErr)
			}
		}
	}()
	mode := hostinfo.CgroupMode("/")
	add("cgroups", OK, "%s", mode)
	for _, name := range []string{"runc", "crun"} {
		rt, err := platform.NewRuntime(name, o.Binary)
		switch {
		case err != nil && name == "runc":
			add(name, Fail, "%v", err)
		case err != nil:
			add(name, Warn, "%v (only needed for runtime: crun)", err)
		case name == "crun" && mode == "hybrid":
			add(name, OK, "%s; this host's hybrid cgroups make crun refuse to run, so vmbench runs it in a mount namespace without /sys/fs/cgroup/unified", rt.Version())
		default:
			add(name, OK, "%s", rt.Version())
		}
		if name == "runc" {
			r.Platforms["container"] = err
		}
	}

	var remoteErrs []error
	for _, rp := range o.Remotes {
		found, err := rp.Check(ctx)
		name := "remote " + rp.PlatformName
		if err != nil {
			add(name, Fail, "%v", err)
			remoteErrs = append(remoteErrs, err)
			continue
		}
		add(name, OK, "%s: %s, uid %s%s, %s at %s, %s MiB free for the placement", rp.Host, found["arch"], found["uid"],
			map[bool]string{true: " (passwordless sudo)"}[found["sudo"] != ""], rp.Runtime, found["runtime_path"], mib(found["free_bytes"]))
	}
	if len(o.Remotes) > 0 {
		r.Platforms["remote"] = errors.Join(remoteErrs...)
	}
	if o.Types != nil && !slices.Contains(o.Types, "vm") || staticErr != nil {
		return r // no guest boots: none is asked for, or its /init would not run
	}
	checkLibvirt(add)
	vmErr := checkVMTools(ctx, o.CacheDir, add)
	if vmErr == nil {
		vmErr = r.Platforms["container"] // the guest runs workloads in the host's runc
	}
	if vmErr != nil {
		r.Platforms["vm"] = vmErr
		return r
	}
	kvmErr := kvm.KVMUsable()
	if kvmErr != nil {
		add("/dev/kvm", Warn, "%v: guests will run under TCG (emulation)", kvmErr)
	} else {
		add("/dev/kvm", OK, "present, KVM API version 12")
		t, err := bootGuest(ctx, o, "kvm", kvm.ProbeTimeout, false)
		if err != nil {
			add("KVM probe", Warn, "KVM is present but its probe failed: %v.\n"+
				"                      vm platforms with accel: auto run under TCG here, which measures emulation, not virtualization.", err)
		} else {
			add("KVM probe", OK, "a KVM guest reached its agent in %.2fs", t.Seconds())
		}
	}
	t, err := bootGuest(ctx, o, "tcg", 2*time.Minute, true)
	if err != nil {
		add("TCG guest", Fail, "%v", err)
		r.Platforms["vm"] = err
	} else {
		add("TCG guest", OK, "booted to agent in %.2fs and ran cpu in runc inside the guest", t.Seconds())
	}
	return r
}

// checkLibvirt says whether libvirtd answers and the tools libvirt guests
// need are here: a warning only, for vm platforms with manager: libvirt.
func checkLibvirt(add func(string, Status, string, ...any)) {
	l, err := virt.Connect()
	if err != nil {
		add("libvirt", Warn, "%v (only needed for manager: libvirt)", err)
		return
	}
	v, verr := l.ConnectGetLibVersion()
	l.Disconnect()
	var missing []string
	for _, tool := range []string{"qemu-img", "genisoimage"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	switch {
	case len(missing) > 0:
		add("libvirt", Warn, "libvirtd answers, but libvirt guests also need %s (apt-get install -y qemu-utils genisoimage)", strings.Join(missing, " and "))
	case verr != nil:
		add("libvirt", OK, "libvirtd answers on qemu:///system")
	default:
		add("libvirt", OK, "libvirtd %d.%d.%d answers on qemu:///system", v/1000000, v/1000%1000, v%1000)
	}
}

func checkVMTools(ctx context.Context, cacheDir string, add func(string, Status, string, ...any)) error {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		err = fmt.Errorf("qemu-system-x86_64 not found: apt-get install -y qemu-system-x86")
		add("qemu", Fail, "%v", err)
		return err
	}
	add("qemu", OK, "%s", hostinfo.ToolVersion(qemu, "--version"))
	k, err := kvm.GuestKernel(ctx, cacheDir, "", io.Discard)
	if err != nil {
		add("guest kernel", Fail, "%v", err)
		return err
	}
	if k.ModulesDir == "" {
		add("guest kernel", Warn, "%s, but no modules for %s: the guest has only the drivers built into the kernel", k.Path, k.Version)
	} else {
		add("guest kernel", OK, "%s with modules from %s", k.Path, k.ModulesDir)
	}
	return nil
}

// bootGuest boots a guest under accel, runs a short trial when run is set,
// shuts it down, and returns the launch-to-ready time. The console logs stay
// in <cache>/doctor, overwritten by the next doctor, for a look afterwards.
func bootGuest(ctx context.Context, o Options, accel string, timeout time.Duration, run bool) (time.Duration, error) {
	cache := o.CacheDir
	if cache == "" {
		cache = kvm.DefaultCacheDir
	}
	dir := filepath.Join(cache, "doctor")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	if o.Log != nil {
		fmt.Fprintf(o.Log, "booting a guest under %s ...\n", accel)
	}
	opts := options.DefaultVMOptions()
	opts.VCPUs, opts.Memory, opts.Accel, opts.BootTimeout = 1, 512<<20, accel, timeout
	vm := &kvm.VM{PlatformName: accel, RunID: "doctor", RunDir: dir, Binary: o.Binary, VMOptions: opts, CacheDir: o.CacheDir}
	inst, err := vm.Start(ctx)
	if inst != nil {
		defer inst.Close(context.WithoutCancel(ctx))
	}
	if err != nil {
		return 0, err
	}
	var ready time.Duration
	if sr, ok := inst.(platform.StartupReporter); ok && len(sr.StartupMetrics()) > 0 {
		ready = time.Duration(sr.StartupMetrics()[0].Value * float64(time.Second))
	}
	if run {
		if _, err := inst.Run(ctx, agent.Request{Type: "cpu", Params: map[string]string{"duration": "50ms"}}); err != nil {
			return ready, fmt.Errorf("the guest booted, but running cpu in runc inside it failed: %w", err)
		}
	}
	return ready, nil
}

// Print writes the report; it returns whether every platform of types
// (nil: the default scenario's) can run.
func Print(w io.Writer, r Report, types []string) bool {
	what := "the default scenario"
	if types != nil {
		what = "the scenario"
	}
	for _, c := range r.Checks {
		fmt.Fprintf(w, "%-5s %-15s %s\n", c.Status, c.Name, c.Detail)
	}
	fmt.Fprintln(w)
	ok := true
	var parts []string
	for _, p := range r.verdicts(types) {
		ok = ok && p.CanRun
		if p.CanRun {
			parts = append(parts, p.Type+": can run")
		} else {
			parts = append(parts, p.Type+": cannot run ("+p.Reason+")")
		}
	}
	fmt.Fprintf(w, "platforms of %s: %s\n", what, strings.Join(parts, "; "))
	return ok
}

// Schema names the layout of vmbench doctor --json.
const Schema = "vmbench.doctor/v1"

// PlatformVerdict says whether a platform type can run here, and why not.
type PlatformVerdict struct {
	Type   string `json:"type"`
	CanRun bool   `json:"can_run"`
	Reason string `json:"reason,omitempty"`
}

// verdicts is whether each platform type of types (nil: the default
// scenario's) can run.
func (r Report) verdicts(types []string) []PlatformVerdict {
	if types == nil {
		types = []string{"native", "container", "vm"}
	}
	var out []PlatformVerdict
	for _, p := range types {
		v := PlatformVerdict{Type: p, CanRun: true}
		if err := r.Platforms[p]; err != nil {
			v.CanRun, v.Reason = false, firstLine(err.Error())
		}
		out = append(out, v)
	}
	return out
}

// JSON writes the report as vmbench doctor --json prints it, and reports
// whether every platform can run, as Print does.
func JSON(w io.Writer, r Report, types []string) (bool, error) {
	type check struct {
		Name   string `json:"name"`
		Status string `json:"status"` // ok, warn or fail
		Detail string `json:"detail"`
	}
	doc := struct {
		Schema    string            `json:"schema"`
		OK        bool              `json:"ok"`
		Checks    []check           `json:"checks"`
		Platforms []PlatformVerdict `json:"platforms"`
	}{Schema: Schema, OK: true, Checks: []check{}, Platforms: r.verdicts(types)}
	for _, c := range r.Checks {
		doc.Checks = append(doc.Checks, check{c.Name, strings.ToLower(string(c.Status)), c.Detail})
	}
	for _, p := range doc.Platforms {
		doc.OK = doc.OK && p.CanRun
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return doc.OK, enc.Encode(doc)
}

func mib(bytes string) string {
	n, _ := strconv.ParseInt(bytes, 10, 64)
	return strconv.FormatInt(n>>20, 10)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
