package scenario

import (
	"cmp"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"unicode"

	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
	"github.com/vmbench/vmbench/workloads/app"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,30}$`)

// Validate checks what a decoded scenario means: ranges, references between
// fields, workload parameters. It returns every problem, each located. It
// looks at nothing on this host (CheckHost does), so that a stored run's
// scenario loads on any machine, for gate and report.
func Validate(s *Scenario) Errors {
	v := &validator{s: s}
	if s.Version != Version {
		v.fail("version", "must be %d (the scenario format this vmbench reads), got %d", Version, s.Version)
	}
	if strings.TrimSpace(s.Name) == "" {
		v.fail("name", "must not be empty")
	}
	v.plain("name", s.Name)
	if s.Repetitions < 1 {
		v.fail("repetitions", "must be ≥ 1, got %d", s.Repetitions)
	}
	if s.Warmup < 0 {
		v.fail("warmup", "must be ≥ 0, got %d", s.Warmup)
	}
	if s.Timeout <= 0 {
		v.fail("timeout", "must be a positive duration, got %s", s.Timeout)
	}
	if s.MaxDuration <= 0 {
		v.fail("max_duration", "must be a positive duration, got %s", s.MaxDuration)
	}
	if s.Sample != 0 && s.Sample < MinSample {
		v.fail("sample_interval", "must be 0 (no sampling) or at least %s, got %s", MinSample, s.Sample)
	}
	if _, hasList := s.pos["platforms"]; hasList && len(s.Platforms) == 0 {
		v.fail("platforms", "must list at least one platform")
	}
	seen := map[string]bool{}
	for _, p := range s.Platforms {
		v.platform(p.path, p)
		if seen[p.Name] {
			v.fail(p.at("name"), "%q is used by an earlier platform; names must be unique", p.Name)
		}
		seen[p.Name] = true
	}
	for i, w := range s.Workloads {
		for j, name := range w.Platforms {
			if !slices.ContainsFunc(s.Platforms, func(p Platform) bool { return p.Name == name || p.Family == name }) {
				v.fail(fmt.Sprintf("workloads[%d].platforms[%d]", i, j), "%q is not a platform or matrix of this scenario (platforms: %s)", name, strings.Join(v.platformNames(), ", "))
			}
		}
	}
	if s.Baseline == "" && len(s.Platforms) > 0 {
		s.Baseline = s.Platforms[0].Name
	} else if s.Baseline != "" && !seen[s.Baseline] {
		v.fail("baseline", "%q is not a platform of this scenario (platforms: %s)", s.Baseline, strings.Join(v.platformNames(), ", "))
	}
	if _, hasList := s.pos["workloads"]; hasList && len(s.Workloads) == 0 {
		v.fail("workloads", "must list at least one workload")
	}
	seen = map[string]bool{}
	for i, w := range s.Workloads {
		path := fmt.Sprintf("workloads[%d]", i)
		v.workload(path, w)
		if seen[w.Name] {
			v.fail(path+".name", "%q is used by an earlier workload; names must be unique (set name: to tell them apart)", w.Name)
		}
		seen[w.Name] = true
	}
	v.verdicts()
	v.density()
	v.fits()
	for i := range s.Gates {
		v.gate(&s.Gates[i])
	}
	slices.SortStableFunc(v.errs, func(a, b Error) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
	return v.errs
}

// CheckRoot refuses, before a run starts, platforms that need root when
// vmbench does not run as root (validate, which starts nothing, does not
// ask): the fix names the --only that leaves them out.
func CheckRoot(s *Scenario) Errors {
	v := &validator{s: s}
	if names := s.NeedsRoot(); len(names) > 0 && os.Geteuid() != 0 {
		fix := "run it as root (sudo)"
		var others []string
		for _, p := range s.Platforms {
			if !slices.Contains(names, p.Name) {
				others = append(others, p.Name)
			}
		}
		if len(others) > 0 {
			fix += ", or leave them out: --only " + strings.Join(others, ",")
		}
		first := slices.IndexFunc(s.Platforms, func(p Platform) bool { return p.Name == names[0] })
		v.fail(s.Platforms[first].path, "%s need root on this host (containers and their cgroups, guests and their taps), and vmbench runs as uid %d: %s", strings.Join(names, ", "), os.Geteuid(), fix)
	}
	return v.errs
}

// CheckHost checks what a scenario names on this host — the scratch
// directory, a tools image, a seccomp profile (with the probe seccomp;
// nil: not checked), a guest kernel — before a run (or a retry) starts
// here. Every problem is located.
func CheckHost(s *Scenario, seccomp func(path string) error) Errors {
	v := &validator{s: s}
	if st, err := os.Stat(s.ScratchDir); err != nil || !st.IsDir() {
		v.fail("scratch_dir", "%q is not a directory: create it, or name the directory on the filesystem whose disk the disk workload should measure (default %s)", s.ScratchDir, DefaultScratchDir)
	}
	if engine, ref, ok := options.EngineImage(s.ToolsImage); ok {
		if ref == "" {
			v.fail("tools_image", "%q names no image: %s:NAME[:TAG], an image %s has", s.ToolsImage, engine, engine)
		}
	} else if s.ToolsImage != "" {
		if st, err := os.Stat(s.ToolsImage); err != nil || !st.Mode().IsRegular() {
			v.fail("tools_image", "%q is not a file: name an OCI image archive (podman save --format oci-archive, docker save) holding the tools, or remove the key to have vmbench build the tools rootfs", s.ToolsImage)
		}
	}
	for _, p := range s.Platforms {
		profile := p.Container.Seccomp
		switch p.Type {
		case VM:
			profile = p.VM.Seccomp
		case Remote:
			profile = p.Remote.Seccomp
		}
		if path := options.SeccompPath(profile); path != "" && seccomp != nil && (p.Type == Container || p.Type == VM && p.VM.Container || p.Type == Remote && p.Remote.Container) {
			if err := seccomp(path); err != nil {
				v.fail(p.at("seccomp"), "%v", err)
			}
		}
		for _, f := range []struct{ key, path, fix string }{
			{"image", p.VM.Image, "name the qcow2 or raw disk image the guest boots from (scripts/cloud-image.sh builds a Debian 12 one)"},
			{"initrd", p.VM.Initrd, "name the initramfs that goes with kernel:, or remove the key"},
			{"domain_xml", p.VM.DomainXML, "name a libvirt domain XML file (virsh dumpxml NAME > FILE), or remove the key"},
		} {
			if p.Type != VM || f.path == "" {
				continue
			}
			if st, err := os.Stat(f.path); err != nil || !st.Mode().IsRegular() {
				v.fail(p.at(f.key), "%q is not a readable file: %s", f.path, f.fix)
			}
		}
		if p.Type == Remote && p.Remote.SSHConfig != "" {
			if st, err := os.Stat(p.Remote.SSHConfig); err != nil || !st.Mode().IsRegular() {
				v.fail(p.at("ssh_config"), "%q is not a readable file: name an ssh_config file (ssh -F), or remove the key to use ~/.ssh/config", p.Remote.SSHConfig)
			}
		}
		if p.Type == VM && p.VM.Kernel != "" {
			if _, err := os.Stat(p.VM.Kernel); err != nil {
				v.fail(p.at("kernel"), "%v (give the path of a bzImage/vmlinuz, or omit kernel: to boot Debian's cloud kernel, which vmbench extracts into its cache)", err)
			}
		}
		for j, cpu := range p.VM.Pin {
			if n := runtime.NumCPU(); cpu >= n {
				v.fail(fmt.Sprintf("%s[%d]", p.at("pin"), j), "host CPU %d does not exist: this host has %d (0 to %d)", cpu, n, n-1)
			}
		}
	}
	v.hostResources()
	return v.errs
}

type validator struct {
	s    *Scenario
	errs Errors
}

// fail records a problem at the position recorded for path, or at the
// closest enclosing path that has one.
// plain fails a name that holds a control character: names go into
// bench.txt, CSV, Markdown and terminals as they are, where a newline adds
// lines (benchmark results, table rows) and an escape rewrites the screen.
func (v *validator) plain(path, s string) {
	if err := CheckPlain(s); err != nil {
		v.fail(path, "%v", err)
	}
}

// CheckPlain refuses text with a control character (a newline, a tab, an
// escape), which a name or a label must not hold.
func CheckPlain(s string) error {
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return fmt.Errorf("must be one line of text without control characters, got %q", s)
	}
	return nil
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, Error{File: v.s.file, Pos: v.posOf(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) posOf(path string) Pos {
	for p := path; p != ""; {
		if pos, ok := v.s.pos[p]; ok {
			return pos
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return Pos{1, 1}
}

func (v *validator) platformNames() []string {
	var names []string
	for _, p := range v.s.Platforms {
		names = append(names, p.Name)
	}
	return names
}

// The scratch disk's QEMU cache and aio modes.
var (
	DiskCacheModes = []string{"none", "writeback", "writethrough", "directsync", "unsafe"}
	DiskAIOModes   = []string{"native", "threads", "io_uring"}
)

func (v *validator) platform(path string, p Platform) {
	if name := cmp.Or(p.Family, p.Name); !nameRE.MatchString(name) {
		v.fail(p.at("name"), "%q must be 1–31 characters of a-z, 0-9, - and _, starting with a letter or digit (it names files and containers)", name)
	}
	switch p.Type {
	case Native:
	case Container:
		if !slices.Contains([]string{"runc", "crun", "runsc"}, p.Container.Runtime) {
			v.fail(p.at("runtime"), "must be runc, crun or runsc (gVisor), got %q", p.Container.Runtime)
		}
		if e := p.Container.Engine; e != "" && !slices.Contains(options.Engines, e) {
			v.fail(p.at("engine"), "must be docker or podman (or omitted: the runtime on vmbench's own bundle), got %q", e)
		}
		if p.Container.Runtime == "runsc" && p.Container.Engine != "" {
			for _, w := range v.s.Workloads {
				if impl, ok := workloads.Lookup(w.Type); ok {
					if _, client := impl.(workload.Client); client {
						v.fail(p.at("runtime"), "runsc behind engine %s cannot run %s, whose client runs on the host: gVisor's sockets are invisible to the host, so vmbench cannot tell when the server listens behind the engine's port; run it on runsc without an engine (network: host)", p.Container.Engine, w.Name)
					}
				}
			}
		}
		if p.Container.Runtime == "runsc" && p.Container.Engine == "" && (p.Container.Network == "bridge" || p.Container.Network == "nat") {
			v.fail(p.at("network"), "runtime runsc without an engine runs here with network: none or host: gVisor's network stack does not take over vmbench's namespace (its sandbox starts in the host's); got %s (with engine: docker or podman, gVisor has the engine's bridge)", p.Container.Network)
		}
		if !slices.Contains([]string{"bridge", "nat", "host", "none"}, p.Container.Network) {
			v.fail(p.at("network"), "must be bridge (a veth on vmbench's bridge), nat (the same, reached through a DNAT rule, as Docker's -p), host (the host's network namespace) or none (only lo), got %q", p.Container.Network)
		}
		if p.Container.CPUs < 0 {
			v.fail(p.at("cpus"), "must be > 0 (cores; omit it for no limit), got %g", p.Container.CPUs)
		}
		if _, set := v.s.pos[p.at("memory")]; set && p.Container.Memory < 4<<20 {
			v.fail(p.at("memory"), "must be at least 4MiB (omit it for no limit), got %s", units.FormatSize(p.Memory()))
		}
	case VM:
		if p.VM.VCPUs < 1 || p.VM.VCPUs > 256 {
			v.fail(p.at("vcpus"), "must be between 1 and 256, got %d", p.VM.VCPUs)
		}
		if p.VM.Memory < 128<<20 {
			v.fail(p.at("memory"), "must be at least 128MiB for a guest, got %s", units.FormatSize(p.VM.Memory))
		}
		if !slices.Contains([]string{"q35", "microvm"}, p.VM.Machine) {
			v.fail(p.at("machine"), "must be q35 or microvm, got %q", p.VM.Machine)
		}
		v.manager(p)
		if !slices.Contains([]string{"auto", "kvm", "tcg"}, p.VM.Accel) {
			v.fail(p.at("accel"), "must be auto, kvm or tcg, got %q", p.VM.Accel)
		}
		if len(p.VM.Pin) > 0 && len(p.VM.Pin) != p.VM.VCPUs {
			v.fail(p.at("pin"), "gives %d host CPUs for %d vCPUs; give one host CPU per vCPU", len(p.VM.Pin), p.VM.VCPUs)
		}
		for i, cpu := range p.VM.Pin {
			if cpu < 0 {
				v.fail(fmt.Sprintf("%s.pin[%d]", path, i), "must be a host CPU number ≥ 0, got %d", cpu)
			}
		}
		if p.VM.PerGuest < 1 {
			v.fail(p.at("per_guest"), "must be ≥ 1 instances per guest, got %d", p.VM.PerGuest)
		} else if _, set := v.s.pos[p.at("per_guest")]; set && v.s.Density == nil {
			v.fail(p.at("per_guest"), "packs instances into guests in a density sweep; add a density: block, or remove it")
		}
		if p.VM.BootTimeout <= 0 {
			v.fail(p.at("boot_timeout"), "must be a positive duration, got %s", p.VM.BootTimeout)
		}
		if p.VM.ScratchSize < 1<<20 {
			v.fail(p.at("scratch_size"), "must be at least 1MiB, got %s", units.FormatSize(p.VM.ScratchSize))
		}
		if !slices.Contains(DiskCacheModes, p.VM.DiskCache) {
			v.fail(p.at("disk_cache"), "must be one of %s (QEMU's cache modes), got %q", strings.Join(DiskCacheModes, ", "), p.VM.DiskCache)
		}
		if !slices.Contains(DiskAIOModes, p.VM.DiskAIO) {
			v.fail(p.at("disk_aio"), "must be one of %s, got %q", strings.Join(DiskAIOModes, ", "), p.VM.DiskAIO)
		} else if p.VM.DiskAIO == "native" && slices.Contains(DiskCacheModes, p.VM.DiskCache) && p.VM.DiskCache != "none" && p.VM.DiskCache != "directsync" {
			if _, set := v.s.pos[p.at("disk_aio")]; set {
				v.fail(p.at("disk_aio"), "native needs disk_cache none or directsync (QEMU opens the file with O_DIRECT for it), got disk_cache %s; use disk_aio: threads or io_uring", p.VM.DiskCache)
			} else {
				v.fail(p.at("disk_cache"), "%s needs disk_aio: threads or io_uring (the default disk_aio, native, needs disk_cache none or directsync)", p.VM.DiskCache)
			}
		}
	case Remote:
		v.remote(p)
	default:
		v.fail(p.at("type"), "must be one of %s, got %q", strings.Join(PlatformTypes, ", "), p.Type)
	}
}

// remote checks a remote machine's options.
func (v *validator) remote(p Platform) {
	r := p.Remote
	switch {
	case r.Host == "":
		v.fail(p.at("type"), "a remote platform is a machine reached over SSH: add host: [USER@]HOST (or a Host alias of your SSH configuration)")
	case strings.HasPrefix(r.Host, "-") || strings.ContainsFunc(r.Host, func(c rune) bool { return c <= ' ' || c == 0x7f }):
		v.fail(p.at("host"), "%q is not an SSH destination: [USER@]HOST, or a Host alias of your SSH configuration, with no leading '-' or spaces", r.Host)
	}
	if r.Kind != options.KindVM && r.Kind != options.KindMetal {
		v.fail(p.at("kind"), "says what the machine is, for the comparisons: vm (a guest of a hypervisor vmbench cannot see) or metal (bare metal), got %q", r.Kind)
	}
	if !slices.Contains([]string{"runc", "crun"}, r.Runtime) {
		v.fail(p.at("runtime"), "must be runc or crun, the OCI runtime installed on the machine, got %q", r.Runtime)
	}
	if r.Client != options.ClientRemote && r.Client != options.ClientController {
		v.fail(p.at("client"), "must be remote (a network workload's client runs on the machine, against the server in its container) or controller (here, across the network), got %q", r.Client)
	}
	if r.ConnectTimeout <= 0 {
		v.fail(p.at("connect_timeout"), "must be a positive duration, got %s", r.ConnectTimeout)
	}
	for _, w := range v.s.Workloads {
		impl, ok := workloads.Lookup(w.Type)
		if !ok || !w.RunsOn(p, v.s.Baseline) {
			continue
		}
		if _, tool := impl.(workload.Tool); tool || w.App != nil {
			v.fail(p.at("type"), "a remote platform runs built-in workloads only for now; %s runs an external tool: leave this platform out of its platforms:", w.Name)
		}
	}
}

// manager checks the options that depend on who manages a guest.
func (v *validator) manager(p Platform) {
	vm := p.VM
	switch vm.Manager {
	case options.ManagerQEMU:
		for _, o := range []struct {
			key string
			set bool
		}{{"image", vm.Image != ""}, {"initrd", vm.Initrd != ""}, {"kernel_args", vm.KernelArgs != ""}, {"domain_xml", vm.DomainXML != ""}} {
			if o.set {
				v.fail(p.at(o.key), "applies to guests with manager: libvirt (this platform's guest is vmbench's own, manager: qemu)")
			}
		}
	case options.ManagerLibvirt:
		if vm.Image == "" {
			v.fail(p.at("manager"), "a libvirt guest boots from a disk image: add image: PATH (a qcow2 or raw image with cloud-init, such as Debian's genericcloud image; scripts/cloud-image.sh builds one offline)")
		}
		if vm.Machine != "q35" {
			v.fail(p.at("machine"), "a libvirt guest is a q35 machine (libvirt's default), got %q", vm.Machine)
		}
		if vm.Hugepages {
			v.fail(p.at("hugepages"), "is not supported with manager: libvirt yet; remove it")
		}
		if vm.Kernel == "" && (vm.Initrd != "" || vm.KernelArgs != "") {
			v.fail(p.at("kernel"), "initrd: and kernel_args: boot the guest directly from a kernel: add kernel: PATH, or remove them to boot the image's own bootloader")
		}
		if vm.DomainXML != "" {
			for _, key := range []string{"vcpus", "memory", "machine"} {
				if _, set := v.s.pos[p.at(key)]; set {
					v.fail(p.at(key), "comes from domain_xml: %s with manager: libvirt; change it there, or remove domain_xml: to have vmbench write the domain", vm.DomainXML)
				}
			}
		}
		if vm.Kernel != "" && vm.KernelArgs == "" {
			v.fail(p.at("kernel_args"), "a libvirt guest booted directly from kernel: needs its command line, at least the root device (kernel_args: root=/dev/vda)")
		}
	default:
		v.fail(p.at("manager"), "must be qemu (vmbench's own guest) or libvirt (a libvirt domain booted from image:), got %q", vm.Manager)
	}
}

func (v *validator) workload(path string, w Workload) {
	if !nameRE.MatchString(w.Name) {
		v.fail(path+".name", "%q must be 1–31 characters of a-z, 0-9, - and _", w.Name)
	}
	impl, ok := workloads.Lookup(w.Type)
	if !ok {
		v.fail(path+".type", "unknown workload type %q (types: %s; `vmbench list` describes them)", w.Type, strings.Join(workloads.Names(), ", "))
		return
	}
	switch {
	case w.Type == "app" && w.App == nil:
		v.fail(path, "an app workload needs an app: block: command (a list), metrics or parser, and for a server port and client")
		return
	case w.Type != "app" && w.App != nil:
		v.fail(path+".app", "applies to workloads of type app only (this one is %s)", w.Type)
		return
	case w.App != nil:
		for _, e := range w.App.Check() {
			v.fail(path+".app."+e[0], "%s", e[1])
		}
		if v.s.ToolsImage == "" {
			v.fail(path+".app", "an app runs in your image: set tools_image: to its OCI image archive or docker-save archive (a path from the scenario's directory), or docker:IMAGE or podman:IMAGE for an image the engine has")
		}
		if slices.ContainsFunc(w.Params, func(p Param) bool { return p.Key == app.ParamName }) {
			v.fail(path+".params."+app.ParamName, "is set by the app: block; remove it from params")
		}
		if len(w.App.Check()) > 0 {
			return
		}
	}
	variants := 1
	for _, p := range w.Params {
		variants *= max(len(p.Values), 1)
		if variants > MaxVariants {
			v.fail(path+".params", "the parameter lists multiply into more than %d variants; split the workload, or give fewer values", MaxVariants)
			return
		}
	}
	bad := false
	for _, p := range w.Params {
		ppath := path + ".params." + p.Key
		i := slices.IndexFunc(impl.Params(), func(d workload.Param) bool { return d.Name == p.Key })
		if i < 0 {
			v.fail(ppath, "not a parameter of workload %s (parameters: %s)", w.Type, strings.Join(workload.Names(impl), ", "))
			bad = true
			continue
		}
		for j, val := range p.Values {
			if err := impl.Params()[i].Check(val); err != nil {
				v.fail(fmt.Sprintf("%s[%d]", ppath, j), "%v", err)
				bad = true
			}
		}
	}
	if bad {
		return
	}
	for _, variant := range Variants(w) {
		params, errs := workload.Complete(impl, variant.Given)
		for _, err := range errs {
			v.fail(path+".params", "%s: %v", variant.Label, err)
		}
		if su, ok := impl.(workload.ScratchUser); ok && len(errs) == 0 {
			v.scratch(path, w, variant.Label, su.Scratch(params))
		}
	}
}

// scratch refuses a workload variant that needs more scratch area than a
// guest it runs on has: every trial of it would fail.
func (v *validator) scratch(path string, w Workload, label string, need int64) {
	for _, p := range v.s.Platforms {
		if p.Type != VM || !w.RunsOn(p, v.s.Baseline) || need <= p.VM.ScratchSize {
			continue
		}
		at := path + ".params"
		if _, set := v.s.pos[at+".size"]; set {
			at += ".size"
		}
		v.fail(at, "%s needs %s of scratch disk, more than platform %s's scratch_size %s: raise %s.scratch_size, or lower size",
			cmp.Or(label, "the default size"), units.FormatSize(need), p.Name, units.FormatSize(p.VM.ScratchSize), p.Name)
	}
}
