package scenario

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/platform"
)

const good = `version: 1
name: demo
repetitions: 3
warmup: 1
baseline: native
timeout: 30s
platforms:
  - name: native
    type: native
  - name: box
    type: container
    runtime: runc
    cpus: 1.5
    memory: 512MiB
  - name: guest
    type: vm
    vcpus: 2
    memory: 1GiB
    accel: tcg
workloads:
  - type: cpu
    params:
      kernel: hash
      threads: [1, 2]
  - name: mem
    type: memory
    params:
      op: [copy, triad]
      size: 8MiB
`

func TestLoadGood(t *testing.T) {
	s, err := Load("good.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if s.Repetitions != 3 || s.Timeout != 30*time.Second || len(s.Platforms) != 3 {
		t.Fatalf("decoded %+v", s)
	}
	box := s.Platforms[1]
	if box.Container.CPUs != 1.5 || box.Container.Memory != 512<<20 || box.Container.Runtime != "runc" {
		t.Errorf("container options %+v", box)
	}
	guest := s.Platforms[2]
	if !guest.VM.Container || guest.VM.Machine != "q35" || guest.VM.BootTimeout != 60*time.Second || guest.VM.Memory != 1<<30 {
		t.Errorf("vm defaults not applied: %+v", guest)
	}
	if s.Workloads[0].Name != "cpu" {
		t.Errorf("workload name defaults to its type, got %q", s.Workloads[0].Name)
	}
	if s.Sample != 100*time.Millisecond || !s.Profile {
		t.Errorf("sampling defaults: interval %s, profile %v", s.Sample, s.Profile)
	}
	off, err := Load("off.yaml", []byte(good+"sample_interval: 0s\nprofile: false\n"))
	if err != nil || off.Sample != 0 || off.Profile {
		t.Errorf("sample_interval: 0s, profile: false gave %v, %v (%v)", off.Sample, off.Profile, err)
	}
}

func TestPlanInterleavesAndRotates(t *testing.T) {
	s, err := Load("good.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	trials := Plan(s)
	// 3 platforms × 4 variants × (1 + 3) rounds.
	if len(trials) != 48 {
		t.Fatalf("got %d trials, want 48", len(trials))
	}
	if got := Describe(s); len(trials) != 48 || got != "3 platforms × 4 variants × (1 warmup + 3 repetitions) = 48 trials" {
		t.Errorf("Describe = %q", got)
	}
	// Round 0 is the warmup, starting with the first platform; round 1
	// starts with the second platform.
	if !trials[0].Warmup || trials[0].Platform != "native" {
		t.Errorf("first trial %+v", trials[0])
	}
	r1 := trials[12]
	if r1.Warmup || r1.Rep != 0 || r1.Platform != "box" {
		t.Errorf("first trial of round 1 = %+v, want box rep 0", r1)
	}
	// Every variant gets complete params, defaults included.
	if trials[0].Params["duration"] != "1s" || trials[0].Params["threads"] != "1" || trials[0].Label != "kernel=hash threads=1" {
		t.Errorf("params %v label %q", trials[0].Params, trials[0].Label)
	}
	counts := map[string]int{}
	for _, tr := range trials {
		if !tr.Warmup {
			counts[tr.Platform+"/"+tr.Workload+"/"+tr.Label]++
		}
	}
	for k, n := range counts {
		if n != 3 {
			t.Errorf("%s measured %d times, want 3", k, n)
		}
	}
}

func TestVariantsMatrix(t *testing.T) {
	w := Workload{Params: []Param{{Key: "a", Values: []string{"1", "2"}}, {Key: "b", Values: []string{"x", "y", "z"}}}}
	vs := Variants(w)
	if len(vs) != 6 {
		t.Fatalf("got %d variants", len(vs))
	}
	if vs[0].Label != "a=1 b=x" || vs[5].Label != "a=2 b=z" {
		t.Errorf("order: %q ... %q", vs[0].Label, vs[5].Label)
	}
}

// Every error message of Decode and Validate, each triggered once, with its
// position.
func TestErrors(t *testing.T) {
	base := func(platforms, workloads string) string {
		return "version: 1\nname: x\nplatforms:\n" + platforms + "workloads:\n" + workloads
	}
	native := "  - {name: native, type: native}\n"
	cpu := "  - {type: cpu}\n"
	for _, tc := range []struct {
		name string
		yaml string
		want string
	}{
		{"syntax", "name: [", "x.yaml:1: did not find expected node content"},
		{"empty", "", "x.yaml:1:1: the file is empty"},
		{"top not mapping", "- a\n", "x.yaml:1:1: must be a mapping (key: value lines), got a list"},
		{"unknown top key", base(native, cpu) + "colour: red\n", `x.yaml:7:1: colour: unknown field for scenario (fields: version,`},
		{"missing field", "version: 1\nname: x\nplatforms: []\n", `x.yaml:1:1: scenario: missing required field "workloads"`},
		{"twice", base(native, cpu) + "name: y\n", "x.yaml:7:1: name: given twice"},
		{"version", "version: 2\nname: x\nplatforms:\n" + native + "workloads:\n" + cpu, "x.yaml:1:10: version: must be 1"},
		{"not int", base(native, cpu) + "repetitions: many\n", `x.yaml:7:14: repetitions: must be a whole number, got "many"`},
		{"repetitions", base(native, cpu) + "repetitions: 0\n", "x.yaml:7:14: repetitions: must be ≥ 1, got 0"},
		{"warmup", base(native, cpu) + "warmup: -1\n", "x.yaml:7:9: warmup: must be ≥ 0, got -1"},
		{"timeout", base(native, cpu) + "timeout: soon\n", `timeout: must be a duration such as 90s or 5m, got "soon"`},
		{"timeout zero", base(native, cpu) + "timeout: 0s\n", "timeout: must be a positive duration, got 0s"},
		{"sample interval", base(native, cpu) + "sample_interval: 1ms\n", "x.yaml:7:18: sample_interval: must be 0 (no sampling) or at least 10ms, got 1ms"},
		{"profile", base(native, cpu) + "profile: yes\n", `x.yaml:7:10: profile: must be true or false, got "yes"`},
		{"empty name", "version: 1\nname: ' '\nplatforms:\n" + native + "workloads:\n" + cpu, "x.yaml:2:7: name: must not be empty"},
		// A newline in a name forged lines of bench.txt.
		{"name with a newline", "version: 1\nname: \"x\\nBenchmarkForged 1 1 ns/op\"\nplatforms:\n" + native + "workloads:\n" + cpu, `x.yaml:2:7: name: must be one line of text without control characters, got "x\nBenchmarkForged 1 1 ns/op"`},
		{"gate name with an escape", base(native, cpu) + "gates: [{name: \"a\\e[2Jb\", metric: cpu.throughput, min: 1}]\n", `gates[0].name: must be one line of text without control characters, got "a\x1b[2Jb"`},
		{"no platforms", "version: 1\nname: x\nplatforms: []\nworkloads:\n" + cpu, "x.yaml:3:12: platforms: must list at least one platform"},
		{"no workloads", "version: 1\nname: x\nplatforms:\n" + native + "workloads: []\n", "workloads: must list at least one workload"},
		{"platforms not list", "version: 1\nname: x\nplatforms: native\nworkloads:\n" + cpu, `x.yaml:3:12: platforms: must be a list (lines starting with -), got "native"`},
		{"platform not mapping", base("  - native\n", cpu), "x.yaml:4:5: platforms[0]: must be a mapping with name and type"},
		{"platform type", base("  - {name: a, type: lxc}\n", cpu), `x.yaml:4:21: platforms[0].type: must be one of native, container, vm, remote, got "lxc"`},
		{"remote without host", base(native+"  - {name: r, type: remote, kind: vm}\n", cpu), "platforms[1].type: a remote platform is a machine reached over SSH: add host: [USER@]HOST"},
		// A host that reads as an option would steer ssh (-oProxyCommand=…).
		{"remote host as an option", base(native+"  - {name: r, type: remote, kind: vm, host: -oProxyCommand=touch}\n", cpu), `platforms[1].host: "-oProxyCommand=touch" is not an SSH destination`},
		{"remote kind", base(native+"  - {name: r, type: remote, host: h}\n", cpu), `platforms[1].kind: says what the machine is, for the comparisons: vm (a guest of a hypervisor vmbench cannot see) or metal (bare metal), got ""`},
		{"remote runtime", base(native+"  - {name: r, type: remote, host: h, kind: metal, runtime: runsc}\n", cpu), `platforms[1].runtime: must be runc or crun, the OCI runtime installed on the machine, got "runsc"`},
		{"remote client", base(native+"  - {name: r, type: remote, host: h, kind: metal, client: both}\n", cpu), `platforms[1].client: must be remote (a network workload's client runs on the machine`},
		{"remote density", base(native+"  - {name: r, type: remote, host: h, kind: metal}\n", cpu) + "density: {levels: [1, 2]}\n", "platforms[1].type: a density sweep watches this host's memory and CPU"},
		{"remote tool", base(native+"  - {name: r, type: remote, host: h, kind: metal}\n", "  - {type: fio}\n"), "platforms[1].type: a remote platform runs built-in workloads only for now; fio runs an external tool"},
		{"remote vm option", base(native+"  - {name: r, type: remote, host: h, kind: metal, vcpus: 2}\n", cpu), "platforms[1].vcpus: unknown field for platform type remote"},
		{"platform option of other type", base("  - {name: a, type: native, vcpus: 2}\n", cpu), "x.yaml:4:29: platforms[0].vcpus: unknown field for platform type native (fields: name, type)"},
		{"platform name", base("  - {name: Big Box, type: native}\n", cpu), `platforms[0].name: "Big Box" must be 1–31 characters`},
		{"platform dup", base(native+native, cpu), `x.yaml:5:12: platforms[1].name: "native" is used by an earlier platform`},
		{"runtime", base("  - {name: a, type: container, runtime: docker}\n", cpu), `platforms[0].runtime: must be runc, crun or runsc (gVisor), got "docker"`},
		{"tools image", base(native, cpu) + "tools_image: /nonexistent/tools.tar\n", `x.yaml:7:14: tools_image: "/nonexistent/tools.tar" is not a file: name an OCI image archive`},
		{"network", base("  - {name: a, type: container, network: docker0}\n", cpu), `x.yaml:4:41: platforms[0].network: must be bridge (a veth on vmbench's bridge), nat (`},
		{"cpus", base("  - {name: a, type: container, cpus: -1}\n", cpu), "platforms[0].cpus: must be > 0"},
		{"cpus type", base("  - {name: a, type: container, cpus: lots}\n", cpu), `platforms[0].cpus: must be a number, got "lots"`},
		{"container memory", base("  - {name: a, type: container, memory: 1MiB}\n", cpu), "platforms[0].memory: must be at least 4MiB"},
		{"memory unit", base("  - {name: a, type: container, memory: much}\n", cpu), `platforms[0].memory: "much" is not a size`},
		{"vcpus", base("  - {name: a, type: vm, vcpus: 0}\n", cpu), "x.yaml:4:32: platforms[0].vcpus: must be between 1 and 256, got 0"},
		{"vm memory", base("  - {name: a, type: vm, memory: 64MiB}\n", cpu), "platforms[0].memory: must be at least 128MiB for a guest, got 64MiB"},
		{"machine", base("  - {name: a, type: vm, machine: pc}\n", cpu), `platforms[0].machine: must be q35 or microvm, got "pc"`},
		{"accel", base("  - {name: a, type: vm, accel: hvf}\n", cpu), `platforms[0].accel: must be auto, kvm or tcg, got "hvf"`},
		{"kernel", base("  - {name: a, type: vm, kernel: /nonexistent/vmlinuz}\n", cpu), "platforms[0].kernel: stat /nonexistent/vmlinuz: no such file or directory"},
		{"manager", base("  - {name: a, type: vm, manager: virsh}\n", cpu), `x.yaml:4:34: platforms[0].manager: must be qemu (vmbench's own guest) or libvirt (a libvirt domain booted from image:), got "virsh"`},
		{"libvirt without image", base("  - {name: a, type: vm, manager: libvirt}\n", cpu), "platforms[0].manager: a libvirt guest boots from a disk image: add image: PATH"},
		{"image without libvirt", base("  - {name: a, type: vm, image: /x.qcow2}\n", cpu), "x.yaml:4:32: platforms[0].image: applies to guests with manager: libvirt"},
		{"libvirt microvm", base("  - {name: a, type: vm, manager: libvirt, image: /x.qcow2, machine: microvm}\n", cpu), `platforms[0].machine: a libvirt guest is a q35 machine (libvirt's default), got "microvm"`},
		{"libvirt initrd without kernel", base("  - {name: a, type: vm, manager: libvirt, image: /x.qcow2, initrd: /i}\n", cpu), "platforms[0].kernel: initrd: and kernel_args: boot the guest directly from a kernel: add kernel: PATH"},
		{"domain_xml with vcpus", base("  - {name: a, type: vm, manager: libvirt, image: /x.qcow2, domain_xml: /d.xml, vcpus: 4}\n", cpu), "platforms[0].vcpus: comes from domain_xml: /d.xml with manager: libvirt; change it there"},
		{"pin count", base("  - {name: a, type: vm, vcpus: 2, pin: [0]}\n", cpu), "platforms[0].pin: gives 1 host CPUs for 2 vCPUs"},
		{"pin negative", base("  - {name: a, type: vm, vcpus: 1, pin: [-1]}\n", cpu), "platforms[0].pin[0]: must be a host CPU number ≥ 0, got -1"},
		{"bool", base("  - {name: a, type: vm, container: maybe}\n", cpu), `platforms[0].container: must be true or false, got "maybe"`},
		{"boot timeout", base("  - {name: a, type: vm, boot_timeout: 0s}\n", cpu), "platforms[0].boot_timeout: must be a positive duration"},
		{"scratch size", base("  - {name: a, type: vm, scratch_size: 1KiB}\n", cpu), "platforms[0].scratch_size: must be at least 1MiB, got 1KiB"},
		// Every trial would fail: "the scratch disk holds 64MiB, less than size 256MiB".
		{"disk beyond the guest's scratch disk", base("  - {name: a, type: vm, scratch_size: 64MiB}\n", "  - {type: disk, params: {size: [8MiB, 256MiB]}}\n"),
			"x.yaml:6:27: workloads[0].params.size: size=256MiB needs 256MiB of scratch disk, more than platform a's scratch_size 64MiB: raise a.scratch_size, or lower size"},
		{"fio's default size beyond the guest's scratch disk", base("  - {name: a, type: vm, scratch_size: 64MiB}\n", "  - {type: fio}\n"),
			"workloads[0].params: the default size needs 256MiB of scratch disk, more than platform a's scratch_size 64MiB"},
		{"disk cache", base("  - {name: a, type: vm, disk_cache: fast}\n", cpu), `platforms[0].disk_cache: must be one of none, writeback, writethrough, directsync, unsafe (QEMU's cache modes), got "fast"`},
		{"disk aio", base("  - {name: a, type: vm, disk_aio: posix}\n", cpu), `platforms[0].disk_aio: must be one of native, threads, io_uring, got "posix"`},
		{"native aio needs direct", base("  - {name: a, type: vm, disk_cache: writeback}\n", cpu), "x.yaml:4:37: platforms[0].disk_cache: writeback needs disk_aio: threads or io_uring"},
		{"native aio set", base("  - {name: a, type: vm, disk_cache: unsafe, disk_aio: native}\n", cpu), "x.yaml:4:55: platforms[0].disk_aio: native needs disk_cache none or directsync"},
		{"scratch dir", base(native, cpu) + "scratch_dir: /nonexistent\n", `x.yaml:7:14: scratch_dir: "/nonexistent" is not a directory`},
		{"disk block size 0", base(native, "  - {type: disk, params: {bs: 0}}\n"), "x.yaml:6:31: workloads[0].params.bs[0]: must be ≥ 512B, got 0B"},
		{"disk unknown op", base(native, "  - {type: disk, params: {op: trim}}\n"), `x.yaml:6:31: workloads[0].params.op[0]: must be one of read, write, mixed, got "trim"`},
		{"disk queue depth with sync", base(native, "  - {type: disk, params: {engine: sync, iodepth: [1, 16]}}\n"), "x.yaml:6:26: workloads[0].params: engine=sync iodepth=16: iodepth: 16 needs engine: libaio; engine sync has one I/O in flight at a time"},
		{"baseline", base(native, cpu) + "baseline: vm\n", `x.yaml:7:11: baseline: "vm" is not a platform of this scenario (platforms: native)`},
		{"null value", base(native, cpu) + "description:\n", "x.yaml:7:13: description: must be a value, got nothing"},
		{"workload type", base(native, "  - {type: gpu}\n"), `x.yaml:6:12: workloads[0].type: unknown workload type "gpu" (types: cpu, memory`},
		{"workload dup", base(native, cpu+cpu), `workloads[1].name: "cpu" is used by an earlier workload`},
		{"workload name", base(native, "  - {type: cpu, name: CPU!}\n"), `workloads[0].name: "CPU!" must be 1–31 characters`},
		{"unknown param", base(native, "  - {type: cpu, params: {cores: 2}}\n"), "x.yaml:6:26: workloads[0].params.cores: not a parameter of workload cpu (parameters: kernel, threads, duration)"},
		{"bad enum", base(native, "  - {type: cpu, params: {kernel: [hash, aes]}}\n"), `x.yaml:6:41: workloads[0].params.kernel[1]: must be one of hash, compress, got "aes"`},
		{"int range", base(native, "  - {type: cpu, params: {threads: 0}}\n"), "x.yaml:6:35: workloads[0].params.threads[0]: must be ≥ 1, got 0"},
		{"int parse", base(native, "  - {type: cpu, params: {threads: two}}\n"), `workloads[0].params.threads[0]: must be a whole number, got "two"`},
		{"size", base(native, "  - {type: memory, params: {size: 0}}\n"), "workloads[0].params.size[0]: must be ≥ 1MiB, got 0B"},
		{"duration", base(native, "  - {type: cpu, params: {duration: 1ms}}\n"), "workloads[0].params.duration[0]: must be ≥ 10ms, got 1ms"},
		{"empty list", base(native, "  - {type: cpu, params: {threads: []}}\n"), "workloads[0].params.threads: an empty list gives no variant"},
		{"params not mapping", base(native, "  - {type: cpu, params: [1]}\n"), "workloads[0].params: must be a mapping of parameter names"},
		{"negligible", base(native, cpu) + "negligible: small\n", `x.yaml:7:13: negligible: the equivalence margin must be a percentage such as 10%, got "small"`},
		{"negligible range", base(native, cpu) + "negligible: 120%\n", "x.yaml:7:13: negligible: must be from 0% to below 100%, got 120%"},
		{"negligible mapping at top", base(native, cpu) + "negligible: {throughput: 1%}\n", "x.yaml:7:13: negligible: must be a percentage such as 2% (per-metric margins go under a workload's negligible:)"},
		{"workload negligible metric", base(native, "  - {type: cpu, negligible: {speed: 1%}}\n"), `x.yaml:6:30: workloads[0].negligible.speed: workload cpu has no metric "speed" (metrics: throughput, host_cpu, host_cpu_per_GB, footprint)`},
		{"workload negligible", base(native, "  - {type: cpu, negligible: -1%}\n"), "x.yaml:6:29: workloads[0].negligible: must be from 0% to below 100%, got -1%"},
		{"compare form", base(native, cpu) + "compare: [vm-container]\n", `x.yaml:7:11: compare[0]: must read "PLATFORM vs REFERENCE", such as "vm vs container", got "vm-container"`},
		{"compare platform", base(native, cpu) + "compare: [vm vs native]\n", `x.yaml:7:11: compare[0]: "vm" is not a platform of this scenario (platforms: native)`},
		{"compare itself", base(native, cpu) + "compare: [native vs native]\n", "x.yaml:7:11: compare[0]: compares native with itself"},
		{"max repetitions", base(native, cpu) + "repetitions: 6\nmax_repetitions: 3\n", "x.yaml:8:18: max_repetitions: must be ≥ repetitions (6): it is the most rounds an undecided cell gets, got 3"},
		{"precision", base(native, cpu) + "max_repetitions: 12\nprecision: 0%\n", "x.yaml:8:12: precision: must be above 0% and below 100%, got 0%"},
		{"precision form", base(native, cpu) + "max_repetitions: 12\nprecision: tight\n", `x.yaml:8:12: precision: the interval half-width wanted, must be a percentage such as 10%, got "tight"`},
		{"precision without adaptivity", base(native, cpu) + "precision: 1%\n", "x.yaml:7:12: precision: only applies when rounds can be added: set max_repetitions above repetitions (6)"},
		{"too few rounds for the looks", base(native, cpu) + "max_repetitions: 48\n", "x.yaml:1:1: repetitions: 6 rounds cannot carry a 98.75% interval, the level of each of the 4 looks at [6 12 24 48] rounds that max_repetitions 48 makes (5% split over them): give at least 8 repetitions"},
		{"time budget", base(native, cpu) + "max_repetitions: 20\ntime_budget: 0s\n", "x.yaml:8:14: time_budget: must be a positive duration, got 0s"},
		{"density levels", base(native, cpu) + "density: {levels: [2, 1]}\n", "x.yaml:7:23: density.levels[1]: levels must rise: 1 follows 2"},
		{"density level range", base(native, cpu) + "density: {levels: [0]}\n", "x.yaml:7:20: density.levels[0]: must be from 1 to 1024 instances, got 0"},
		{"density levels empty", base(native, cpu) + "density: {levels: []}\n", "x.yaml:7:19: density.levels: must list at least one level"},
		{"density levels missing", base(native, cpu) + "density: {repetitions: 2}\n", `x.yaml:7:10: density: missing required field "levels"`},
		{"density step", base(native, cpu) + "density: {levels: {from: 1, to: 8, step: x2}}\n", `x.yaml:7:42: density.levels.step: must be log2 (double each level) or a whole number ≥ 1 to add, got "x2"`},
		{"density from to", base(native, cpu) + "density: {levels: {from: 4, to: 2}}\n", "x.yaml:7:19: density.levels: from 4 to 2: levels run from 1 or more up to at most 1024, and to must be ≥ from"},
		{"density repetitions", base(native, cpu) + "density: {levels: [1], repetitions: 0}\n", "x.yaml:7:37: density.repetitions: must be ≥ 1, got 0"},
		{"density psi", base(native, cpu) + "density: {levels: [1], guards: {psi_memory_full: 0%}}\n", "x.yaml:7:50: density.guards.psi_memory_full: must be above 0% and at most 100%, got 0%"},
		{"density psi form", base(native, cpu) + "density: {levels: [1], guards: {psi_memory_full: much}}\n", `x.yaml:7:50: density.guards.psi_memory_full: the share of time all tasks stalled on memory, must be a percentage such as 10%, got "much"`},
		{"density guard key", base(native, cpu) + "density: {levels: [1], guards: {swap: 1}}\n", "x.yaml:7:33: density.guards.swap: unknown field for guards (fields: mem_available, psi_memory_full, start_timeout, oom)"},
		{"density guard size", base(native, cpu) + "density: {levels: [1], guards: {mem_available: lots}}\n", `density.guards.mem_available: "lots" is not a size`},
		{"density slo kind", base(native, cpu) + "density: {levels: [1], slo: [{metric: cpu.throughput, max_overhead: 5%}]}\n", "x.yaml:7:69: density.slo[0].max_overhead: an SLO is judged on one platform's instances: give max or min (absolute) or max_loss (versus the same platform at level 1)"},
		{"density slo loss", base(native, cpu) + "density: {levels: [1], slo: [{metric: cpu.throughput, max_loss: 100%}]}\n", "x.yaml:7:65: density.slo[0].max_loss: is the per-instance loss allowed versus level 1 and must be from 0% to below 100%, got 100%"},
		{"density slo aggregate", base(native, cpu) + "density: {levels: [1], slo: [{metric: cpu.throughput, min: 1GB/s, aggregate: p99}]}\n", "density.slo[0].aggregate: an SLO is judged on the median of the instances' values and its interval"},
		{"density slo boot", base(native, cpu) + "density: {levels: [1], slo: [{metric: boot.kernel, max: 1s}]}\n", "density.slo[0].metric: boot metrics are not per instance"},
		{"per host without density", base(native, cpu) + "gates: [{min_instances_per_host: 4, platform: native}]\n", "x.yaml:7:9: gates[0]: min_instances_per_host gates a density sweep's capacity: add a density: block, or gate a metric"},
		{"per host platform", base(native, cpu) + "density: {levels: [1]}\ngates: [{min_instances_per_host: 4}]\n", "x.yaml:8:9: gates[0]: name the platform whose capacity is gated (platform: vm)"},
		{"per host bound", base(native, cpu) + "density: {levels: [1]}\ngates: [{min_instances_per_host: 0, platform: native}]\n", "x.yaml:8:34: gates[0].min_instances_per_host: must be ≥ 1 instances, got 0"},
		{"per host unknown platform", base(native, cpu) + "density: {levels: [1]}\ngates: [{min_instances_per_host: 2, platform: vm}]\n", `gates[0].platform: "vm" is not a platform of this scenario (platforms: native)`},
		{"per host versus", base(native, cpu) + "density: {levels: [1]}\ngates: [{min_instances_per_host: 2, platform: native, versus: native}]\n", "gates[0].versus: applies to max_density_loss only"},
		{"density loss bound", base(native, cpu) + "density: {levels: [1]}\ngates: [{max_density_loss: lots, platform: native, versus: native}]\n", `gates[0].max_density_loss: must be a percentage from 0% to below 100% (the share of instances per host lost versus the other platform), got "lots"`},
		{"density loss versus", base(native, cpu) + "density: {levels: [1]}\ngates: [{max_density_loss: 20%, platform: native}]\n", "gates[0].versus: name the platform the density is compared with (versus: container)"},
		{"density loss itself", base(native, cpu) + "density: {levels: [1]}\ngates: [{max_density_loss: 20%, platform: native, versus: native}]\n", "gates[0].versus: is the platform gated; name another"},
		{"capacity gate two bounds", base(native, cpu) + "density: {levels: [1]}\ngates: [{max_density_loss: 20%, min_instances_per_host: 2, platform: native}]\n", "gates[0]: give one bound: min_instances_per_host or max_density_loss"},
		{"capacity gate key", base(native, cpu) + "density: {levels: [1]}\ngates: [{min_instances_per_host: 2, platform: native, metric: cpu.throughput}]\n", "gates[0].metric: unknown field for capacity gate (fields: name, platform, versus, min_instances_per_host, max_density_loss)"},
		{"per guest range", base("  - {name: a, type: vm, per_guest: 0}\n", cpu) + "density: {levels: [1]}\n", "x.yaml:4:36: platforms[0].per_guest: must be ≥ 1 instances per guest, got 0"},
		{"per guest without density", base("  - {name: a, type: vm, per_guest: 2}\n", cpu), "x.yaml:4:36: platforms[0].per_guest: packs instances into guests in a density sweep; add a density: block, or remove it"},
		{"memory in a small guest", base("  - {name: g, type: vm, memory: 512MiB}\n", "  - {type: memory, params: {size: [8MiB, 10GiB]}}\n"), "x.yaml:6:42: workloads[0].params.size[1]: memory with size 10GiB needs 30GiB (3 array(s)), but platform g (platforms[0]) has memory 512MiB, about 320MiB of it usable: give it more memory, or a smaller size"},
		{"memlat in a limited container", base("  - {name: c, type: container, memory: 64MiB}\n", "  - {type: memlat, params: {size: 128MiB}}\n"), "workloads[0].params.size[0]: memlat with size 128MiB needs 128MiB (1 array(s)), but platform c (platforms[0]) has memory 64MiB"},
		{"max duration", base(native, cpu) + "max_duration: 0s\n", "x.yaml:7:15: max_duration: must be a positive duration, got 0s"},
		{"too many variants", base(native, "  - {type: cpu, params: {threads: [1,2,3,4,5,6,7,8,9,10], kernel: [hash, compress], duration: [1s,2s,3s,4s,5s,6s,7s,8s,9s,10s,11s,12s,13s,14s,15s,16s,17s,18s,19s,20s,21s,22s,23s,24s,25s,26s,27s,28s,29s,30s,31s,32s,33s,34s,35s,36s,37s,38s,39s,40s,41s,42s,43s,44s,45s,46s,47s,48s,49s,50s,51s,52s,53s,54s,55s,56s,57s,58s,59s,60s,61s,62s,63s,64s,65s,66s,67s,68s,69s,70s,71s,72s,73s,74s,75s,76s,77s,78s,79s,80s,81s,82s,83s,84s,85s,86s,87s,88s,89s,90s,91s,92s,93s,94s,95s,96s,97s,98s,99s,100s,101s,102s,103s,104s,105s,106s,107s,108s,109s,110s,111s,112s,113s,114s,115s,116s,117s,118s,119s,120s,121s,122s,123s,124s,125s,126s,127s,128s,129s,130s,131s,132s,133s,134s,135s,136s,137s,138s,139s,140s,141s,142s,143s,144s,145s,146s,147s,148s,149s,150s,151s,152s,153s,154s,155s,156s,157s,158s,159s,160s,161s,162s,163s,164s,165s,166s,167s,168s,169s,170s,171s,172s,173s,174s,175s,176s,177s,178s,179s,180s,181s,182s,183s,184s,185s,186s,187s,188s,189s,190s,191s,192s,193s,194s,195s,196s,197s,198s,199s,200s,201s,202s,203s,204s,205s,206s,207s,208s,209s,210s,211s,212s,213s,214s,215s,216s,217s,218s,219s,220s,221s,222s,223s,224s,225s,226s,227s,228s,229s,230s,231s,232s,233s,234s,235s,236s,237s,238s,239s,240s,241s,242s,243s,244s,245s,246s,247s,248s,249s,250s,251s,252s,253s,254s,255s,256s,257s,258s,259s,260s,261s,262s,263s,264s,265s,266s,267s,268s,269s,270s,271s,272s,273s,274s,275s,276s,277s,278s,279s,280s,281s,282s,283s,284s,285s,286s,287s,288s,289s,290s,291s,292s,293s,294s,295s,296s,297s,298s,299s,300s,301s,302s,303s,304s,305s,306s,307s,308s,309s,310s,311s,312s,313s,314s,315s,316s,317s,318s,319s,320s,321s,322s,323s,324s,325s,326s,327s,328s,329s,330s,331s,332s,333s,334s,335s,336s,337s,338s,339s,340s,341s,342s,343s,344s,345s,346s,347s,348s,349s,350s,351s,352s,353s,354s,355s,356s,357s,358s,359s,360s,361s,362s,363s,364s,365s,366s,367s,368s,369s,370s,371s,372s,373s,374s,375s,376s,377s,378s,379s,380s,381s,382s,383s,384s,385s,386s,387s,388s,389s,390s,391s,392s,393s,394s,395s,396s,397s,398s,399s,400s,401s,402s,403s,404s,405s,406s,407s,408s,409s,410s,411s,412s,413s,414s,415s,416s,417s,418s,419s,420s,421s,422s,423s,424s,425s,426s,427s,428s,429s,430s,431s,432s,433s,434s,435s,436s,437s,438s,439s,440s,441s,442s,443s,444s,445s,446s,447s,448s,449s,450s,451s,452s,453s,454s,455s,456s,457s,458s,459s,460s,461s,462s,463s,464s,465s,466s,467s,468s,469s,470s,471s,472s,473s,474s,475s,476s,477s,478s,479s,480s,481s,482s,483s,484s,485s,486s,487s,488s,489s,490s,491s,492s,493s,494s,495s,496s,497s,498s,499s,500s,501s]}}\n"), "workloads[0].params: the parameter lists multiply into more than 10000 variants"},
		{"pin beyond the host", base("  - {name: a, type: vm, vcpus: 1, pin: [4096]}\n", cpu), "x.yaml:4:41: platforms[0].pin[0]: host CPU 4096 does not exist: this host has"},
		{"guests beyond memory", base("  - {name: a, type: vm, memory: 64TiB}\n", cpu), "x.yaml:4:3: platforms: the guests need 64TiB of memory together, and this host has"},
		{"arrays beyond memory", base(native, "  - {type: memory, params: {size: 16GiB}}\n") + "max_duration: 1000h\n", "workloads[0].params.size: memory with size 16GiB needs 48GiB, and this host has"},
		{"scratch beyond disk", base("  - {name: a, type: vm, scratch_size: 1000TiB}\n", cpu), "scratch_dir: the disk workload's files and the guests' scratch disks may take 1000TiB, and /var/tmp has"},
		{"loss outside density", base(native, cpu) + "gates: [{metric: cpu.throughput, max_loss: 5%}]\n", "x.yaml:7:44: gates[0].max_loss: applies to a density sweep's slo: only (the loss versus the same platform at level 1)"},
		{"density with gates", base(native, cpu) + "density: {levels: [1]}\ngates: [{metric: cpu.throughput, max: 1}]\n", "x.yaml:8:9: gates[0]: a density sweep has no trials to gate: judge its levels with density.slo, and gate its capacity with min_instances_per_host or max_density_loss"},
		{"density adaptive", base(native, cpu) + "density: {levels: [1]}\nrepetitions: 7\nmax_repetitions: 14\n", "x.yaml:9:18: max_repetitions: a density sweep runs density.repetitions rounds per level; adaptive repetitions apply to ordinary runs"},
		{"param nested", base(native, "  - {type: cpu, params: {threads: {a: 1}}}\n"), "workloads[0].params.threads: must be a value or a list of values"},
		// 600 bytes that expanded into 10⁸ platforms, 4 GB in 30 s, before
		// the count was checked.
		{"platform matrix beyond the cap", base("  - {name: m, type: vm, vcpus: [1,2,3,4,5,6,7,8,9,10], memory: [1GiB,2GiB,3GiB,4GiB,5GiB,6GiB,7GiB,8GiB,9GiB,10GiB], machine: [q35,microvm,q35,microvm,q35,microvm,q35,microvm,q35,microvm], disk_cache: [none,writeback,none,writeback,none,writeback,none,writeback,none,writeback], per_guest: [1,2,3,4,5,6,7,8,9,10], boot_timeout: [1m,2m,3m,4m,5m,6m,7m,8m,9m,10m], scratch_size: [1MiB,2MiB,3MiB,4MiB,5MiB,6MiB,7MiB,8MiB,9MiB,10MiB], disk_aio: [native,threads,native,threads,native,threads,native,threads,native,threads]}\n", cpu),
			"x.yaml:4:5: platforms[0]: the matrix's lists (vcpus: 10, memory: 10, machine: 10, disk_cache: 10, per_guest: 10, boot_timeout: 10, scratch_size: 10, disk_aio: 10) multiply into more than 256 platforms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load("x.yaml", []byte(tc.yaml))
			if err == nil {
				if errs := CheckHost(s, platform.CheckSeccomp); len(errs) > 0 {
					err = errs
				}
			}
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
		})
	}
}

func TestVerdictKeys(t *testing.T) {
	y := good + `negligible: 3%
compare: ["guest vs box"]
max_repetitions: 28
precision: 1%
time_budget: 5m
`
	y = strings.Replace(y, "repetitions: 3\n", "repetitions: 7\n", 1)
	y = strings.Replace(y, "  - name: mem\n", "  - name: mem\n    negligible: {bandwidth: 5%, footprint: 10%}\n", 1)
	s, err := Load("good.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	a := s.Analysis()
	if a.Margin("cpu", "throughput") != 0.03 || a.Margin("mem", "bandwidth") != 0.05 || a.Margin("mem", "host_cpu") != 0.03 {
		t.Errorf("margins: cpu %g, mem bandwidth %g, mem host_cpu %g", a.Margin("cpu", "throughput"), a.Margin("mem", "bandwidth"), a.Margin("mem", "host_cpu"))
	}
	if c := s.Comparisons(); len(c) != 1 || c[0] != [2]string{"guest", "box"} {
		t.Errorf("comparisons %v", c)
	}
	if got := s.Looks(); len(got) != 3 || got[2] != 28 || s.Precision != 0.01 || s.TimeBudget != 5*time.Minute {
		t.Errorf("looks %v precision %g budget %s", got, s.Precision, s.TimeBudget)
	}
	plain, _ := Load("good.yaml", []byte(good))
	want := [][2]string{{"guest", "box"}, {"box", "native"}, {"guest", "native"}}
	if c := plain.Comparisons(); len(c) != 3 || c[0] != want[0] || c[1] != want[1] || c[2] != want[2] {
		t.Errorf("default comparisons %v, want %v", c, want)
	}
	if plain.Negligible != 0.02 || len(plain.Looks()) != 1 {
		t.Errorf("defaults: margin %g, looks %v", plain.Negligible, plain.Looks())
	}
}

func TestDensityLevels(t *testing.T) {
	for text, want := range map[string]string{
		"{from: 1, to: 16, step: log2}": "[1 2 4 8 16]",
		"{from: 1, to: 12}":             "[1 2 4 8 12]",
		"{from: 2, to: 10, step: 4}":    "[2 6 10]",
		"[1, 3, 5]":                     "[1 3 5]",
	} {
		y := "version: 1\nname: x\nplatforms:\n  - {name: native, type: native}\nworkloads:\n  - {type: cpu}\ndensity: {levels: " + text + ", slo: [{metric: cpu.throughput, max_loss: 10%}]}\n"
		s, err := Load("x.yaml", []byte(y))
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if got := fmt.Sprint(s.Density.Levels); got != want {
			t.Errorf("%s: levels %s, want %s", text, got, want)
		}
		if g := s.Density.SLO[0]; g.Kind != Loss || g.Bound != 0.10 || len(g.Platforms) != 1 {
			t.Errorf("slo %+v", g)
		}
	}
}

// Loading checks the scenario alone: a stored run's scenario naming paths
// of another machine loads anywhere; CheckHost is what looks at this host.
func TestLoadIsPure(t *testing.T) {
	y := "version: 1\nname: x\nscratch_dir: /nonexistent\ntools_image: /nonexistent.tar\nplatforms:\n  - {name: g, type: vm, kernel: /nonexistent/vmlinuz}\nworkloads:\n  - {type: cpu}\n"
	s, err := Load("x.yaml", []byte(y))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if errs := CheckHost(s, platform.CheckSeccomp); len(errs) != 3 {
		t.Errorf("host checks: %v, want 3 problems", errs)
	}
}

// A plan that would take longer than max_duration is refused at its
// located place, with the estimate and how to shrink it, unless accepted.
func TestCheckPlan(t *testing.T) {
	y := "version: 1\nname: x\nrepetitions: 1000\nmax_duration: 1h\nplatforms:\n  - {name: a, type: native}\n  - {name: b, type: native}\nworkloads:\n  - {type: cpu, params: {threads: [1, 2, 3, 4], duration: 1s}}\n"
	s, err := Load("x.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	errs := CheckPlan(s, false)
	if len(errs) != 1 || !strings.Contains(errs.Error(), "x.yaml:4:15: max_duration: the plan would take about 2h27m0s (8008 trials), above max_duration 1h0m0s: shrink it (fewer repetitions (1000)") {
		t.Errorf("check: %v", errs)
	}
	if errs := CheckPlan(s, true); errs != nil {
		t.Errorf("accepted: %v", errs)
	}
	// Without max_duration the error stands at the workloads, under the 2h default.
	s, _ = Load("x.yaml", []byte(strings.Replace(y, "max_duration: 1h\n", "", 1)))
	if errs := CheckPlan(s, false); len(errs) != 1 || !strings.Contains(errs.Error(), "x.yaml:8:3: workloads: the plan would take about") {
		t.Errorf("default: %v", errs)
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	y := "version: 1\nname: x\nrepetitions: 0\nplatforms:\n  - {name: a, type: vm, vcpus: 0, accel: hvf}\nworkloads:\n  - {type: cpu, params: {threads: 0}}\n"
	_, err := Load("x.yaml", []byte(y))
	errs, ok := err.(Errors)
	if !ok || len(errs) != 4 {
		t.Fatalf("want 4 errors, got %v", err)
	}
	for i := 1; i < len(errs); i++ {
		if errs[i].Pos.Line < errs[i-1].Pos.Line {
			t.Errorf("errors not in file order: %v", err)
		}
	}
}
