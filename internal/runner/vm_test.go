package runner

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/hostnet"
	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/testagent"
)

// needGuest skips unless a guest can boot here; CI installs QEMU, runc and
// a cloud kernel, so these tests run there.
func needGuest(t *testing.T) {
	t.Helper()
	needRuntime(t, "runc")
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 is not installed")
	}
	// Extracted into the cache the first time (apt-get download): a
	// failure fails the test, it does not skip it.
	if _, err := kvm.GuestKernel(context.Background(), "", "", io.Discard); err != nil {
		t.Fatal(err)
	}
}

// consoles logs the guests' consoles of a failed test.
func consoles(t *testing.T, dir string) {
	if !t.Failed() {
		return
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*console.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		t.Logf("%s:\n%s", filepath.Base(l), b)
	}
}

// A real guest under TCG: cpu runs in runc inside it and as a bare guest
// process, every sample says accel=tcg, the boot is measured. The host's
// /boot and package set are as they were.
func TestRunVMUnderTCG(t *testing.T) {
	needGuest(t)
	bootChain, berr := testagent.BootChain()
	if berr != nil {
		t.Fatal(berr)
	}
	t.Cleanup(func() {
		if after, err := testagent.BootChain(); err != nil || after != bootChain {
			t.Errorf("vmbench run changed the host's /boot or its packages (%v)", err)
		}
	})
	dir, samples, err := run(t, context.Background(), load(t, `version: 1
name: it
repetitions: 1
warmup: 0
timeout: 60s
platforms:
  - {name: native, type: native}
  - {name: guest, type: vm, accel: tcg, vcpus: 2, memory: 512MiB}
  - {name: bare, type: vm, accel: tcg, vcpus: 1, memory: 256MiB, container: false}
workloads:
  - {type: cpu, params: {duration: 100ms}}
  - {type: syscall, params: {duration: 100ms, kind: pipe}}
`))
	if err != nil {
		t.Fatal(err)
	}
	var boots, guestRuns, pipes int
	for _, s := range samples {
		if s.Error != "" {
			t.Errorf("%s on %s failed: %s", s.Workload, s.Platform, s.Error)
			continue
		}
		if s.Platform == "native" {
			continue
		}
		if s.Conditions["accel"] != "tcg" {
			t.Errorf("%s on %s: conditions %v, want accel=tcg", s.Workload, s.Platform, s.Conditions)
		}
		switch s.Workload {
		case "syscall":
			// The echo process ran beside the agent in the guest.
			if h := s.Histograms["latency"]; h == nil || h.Count() < 10 {
				t.Errorf("syscall on %s: histogram %v", s.Platform, h)
			}
			pipes++
		case "boot":
			boots++
			if s.Metrics[0].Name != "launch_to_ready" || s.Metrics[0].Value <= 0 {
				t.Errorf("boot metrics %+v", s.Metrics)
			}
		case "cpu":
			guestRuns++
			if s.Metrics[0].Value <= 0 {
				t.Errorf("cpu on %s: %+v", s.Platform, s.Metrics)
			}
			// QEMU's threads used at least the 100ms the workload ran.
			if len(s.Metrics) != 4 || s.Metrics[1].Name != "host_cpu" || s.Metrics[1].Value < 0.09 {
				t.Errorf("cpu on %s: host CPU %+v", s.Platform, s.Metrics)
			}
			// QEMU holds at least the guest kernel and the initramfs it
			// unpacked, and at most the guest's memory plus QEMU's own
			// (TCG's translation cache among it).
			if fp := s.Metrics[3]; fp.Name != "footprint" || fp.Value < 32<<20 || fp.Value > 2<<30 {
				t.Errorf("cpu on %s: footprint %+v", s.Platform, fp)
			}
		}
	}
	if boots != 2 || guestRuns != 2 || pipes != 2 {
		t.Errorf("got %d boot, %d cpu and %d syscall samples, want 2, 2 and 2", boots, guestRuns, pipes)
	}
	defer consoles(t, dir)
	checkTraces(t, dir, 0.1, map[string][]string{
		"native": {"host", "process"},
		"guest":  {"host", "process", "guest"},
		"bare":   {"host", "process", "guest"},
	})
	checkProfiles(t, dir, samples)
	info, _ := result.ReadRun(dir)
	for _, p := range info.Platforms[1:] {
		if p.Info["accel"] != "tcg" || p.Info["guest_kernel"] == "" || p.Info["qemu"] == "" {
			t.Errorf("platform info %+v", p)
		}
	}
	if info.Platforms[1].Info["guest_runc"] == "" {
		t.Error("the container guest reports no runc")
	}
	if _, err := os.Stat(filepath.Join(dir, "guest-console.log")); err != nil {
		t.Errorf("console log: %v", err)
	}
	nothingLeft(t, "runc", info.RunID)
}

// The disk workload runs on the host filesystem (native, container) and on
// the guest's virtio-blk scratch disk (in runc and as a guest process); the
// net workload's client on the host reaches its server over loopback, a
// veth or the host's namespace (container), and a tap (vm). The scratch
// area, the bridge, the veths and the taps are removed after the run.
// startup times a start-to-exit everywhere, and a fresh boot on vm.
func TestDiskNetAndStartupOnEveryPlatform(t *testing.T) {
	needGuest(t)
	needRuntime(t, "runc")
	dir, samples, err := run(t, context.Background(), load(t, `version: 1
name: disk
repetitions: 1
warmup: 0
timeout: 60s
sample_interval: 0s
platforms:
  - {name: native, type: native}
  - {name: box, type: container}
  - {name: hostnet, type: container, network: host}
  - {name: guest, type: vm, accel: tcg, vcpus: 1, memory: 256MiB, scratch_size: 16MiB, disk_cache: writeback, disk_aio: threads}
  - {name: bare, type: vm, accel: tcg, vcpus: 1, memory: 256MiB, container: false, scratch_size: 16MiB}
  - {name: nat, type: container, network: nat}
workloads:
  - {type: disk, params: {op: [read, write], engine: libaio, iodepth: 4, size: 8MiB, duration: 100ms}}
  - {type: net, params: {mode: [stream, rr], duration: 100ms}}
  - {type: startup}
`))
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, s := range samples {
		if s.Error != "" {
			t.Errorf("%s %s on %s failed: %s", s.Workload, s.Label, s.Platform, s.Error)
			continue
		}
		m := map[string]float64{}
		for _, x := range s.Metrics {
			m[x.Name] = x.Value
		}
		switch {
		case s.Workload == "net" && s.Params["mode"] == "stream":
			per[s.Platform+"/net"]++
			if m["bandwidth"] <= 0 || m["host_cpu"] <= 0 {
				t.Errorf("net stream on %s: %v", s.Platform, m)
			}
			continue
		case s.Workload == "net":
			per[s.Platform+"/net"]++
			// How many round trips fit in 100 ms depends on the machine's
			// load: a loaded CI runner's TCG guest made one, of 197 ms
			// (it asked for 10). What must hold is a histogram of them.
			if h := s.Histograms["latency"]; m["rate"] <= 0 || h == nil || h.Count() < 1 || m["p99"] < m["p50"] {
				t.Errorf("net rr on %s: %v, histogram %v", s.Platform, m, h)
			}
			continue
		case s.Workload == "startup":
			per[s.Platform+"/startup"]++
			_, vm := m["boot_to_agent"]
			if m["start_to_exit"] <= 0 || vm != (s.Platform == "guest" || s.Platform == "bare") {
				t.Errorf("startup on %s: %v", s.Platform, m)
			}
			continue
		case s.Workload != "disk":
			continue
		}
		per[s.Platform]++
		if m["iops"] <= 0 || m["bandwidth"] != m["iops"]*4096 || m["p50"] <= 0 || m["p99_9"] < m["p50"] {
			t.Errorf("disk %s on %s: metrics %v", s.Params["op"], s.Platform, m)
		}
		// Every I/O is in the histogram, whose mean is the latency metric.
		// (How many I/Os fit in 100 ms is the host's business: under TCG on a
		// loaded CI host one write took 486 ms, and a trial held 4.)
		if h := s.Histograms["latency"]; h == nil || h.Count() < 1 || math.Abs(h.Mean()/m["latency"]-1) > 1e-9 {
			t.Errorf("disk %s on %s: histogram %v, want every I/O, its mean the latency %v", s.Params["op"], s.Platform, h, m["latency"])
		}
	}
	for _, p := range []string{"native", "box", "hostnet", "guest", "bare", "nat"} {
		if per[p] != 2 || per[p+"/net"] != 2 || per[p+"/startup"] != 1 {
			t.Errorf("%s: %d disk, %d net and %d startup samples, want 2, 2 and 1", p, per[p], per[p+"/net"], per[p+"/startup"])
		}
	}
	info, _ := result.ReadRun(dir)
	if !strings.Contains(info.Platforms[3].Info["scratch_disk"], "cache=writeback, aio=threads") {
		t.Errorf("guest scratch disk: %q", info.Platforms[3].Info["scratch_disk"])
	}
	if !strings.Contains(info.Platforms[3].Info["network"], "tap vmbench-") {
		t.Errorf("guest network: %q", info.Platforms[3].Info["network"])
	}
	if !strings.Contains(info.Platforms[5].Info["network"], "by DNAT (nftables table vmbench-") {
		t.Errorf("nat network: %q", info.Platforms[5].Info["network"])
	}
	tag := result.NamePrefix + info.RunID[len(info.RunID)-4:]
	links, namespaces := hostnet.Links(context.Background(), tag)
	if tables := hostnet.Tables(context.Background(), tag); len(links)+len(namespaces)+len(tables) > 0 {
		t.Errorf("left behind: links %v, network namespaces %v, nftables tables %v", links, namespaces, tables)
	}
	nothingLeft(t, "runc", info.RunID)
}

// accel: auto decides by a probe and records why; on this project's build
// host KVM opens but hangs guests, so the answer there is tcg.
func TestRunVMAccelAuto(t *testing.T) {
	needGuest(t)
	dir, samples, err := run(t, context.Background(), load(t, `version: 1
name: it
repetitions: 1
warmup: 0
platforms:
  - {name: vm, type: vm, accel: auto, vcpus: 1, memory: 512MiB}
workloads:
  - {type: cpu, params: {duration: 100ms}}
`))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := result.ReadRun(dir)
	p := info.Platforms[0]
	if (p.Info["accel"] != "kvm" && p.Info["accel"] != "tcg") || p.Info["accel_reason"] == "" {
		t.Errorf("accel %q, reason %q", p.Info["accel"], p.Info["accel_reason"])
	}
	t.Logf("accel %s: %s", p.Info["accel"], p.Info["accel_reason"])
	last := samples[len(samples)-1]
	if last.Error != "" || last.Conditions["accel"] != p.Info["accel"] {
		t.Errorf("sample %+v", last)
	}
	nothingLeft(t, "runc", info.RunID)
}

// Interrupting a run while a guest works tears the guest down.
func TestInterruptTearsDownGuest(t *testing.T) {
	needGuest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Cancel once the guest is up and working on its first trial.
		for range 600 {
			if len(kvm.Leftovers("/proc", result.NamePrefix)) > 0 {
				time.Sleep(6 * time.Second)
				cancel()
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	dir, _, err := run(t, ctx, load(t, `version: 1
name: it
repetitions: 50
warmup: 0
platforms:
  - {name: vm, type: vm, accel: tcg, vcpus: 1, memory: 512MiB}
workloads:
  - {type: cpu, params: {duration: 2s}}
`))
	if err != ErrInterrupted {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	info, _ := result.ReadRun(dir)
	if !info.Interrupted {
		t.Error("run.json not marked interrupted")
	}
	nothingLeft(t, "runc", info.RunID)
}

// Extend boots the guest again for the cells it retries, appends their
// trials and the new boot as round 1, and leaves nothing behind.
func TestExtendRetriesAGuestCell(t *testing.T) {
	needGuest(t)
	s := load(t, `version: 1
name: it
repetitions: 2
warmup: 0
timeout: 60s
platforms:
  - {name: native, type: native}
  - {name: bare, type: vm, accel: tcg, vcpus: 1, memory: 256MiB, container: false}
workloads:
  - {type: cpu, params: {duration: 100ms, threads: [1, 2]}}
`)
	dir, _, err := run(t, context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	defer consoles(t, dir)
	var log strings.Builder
	cell := result.Cell{Workload: "cpu", Label: "duration=100ms threads=2", Platform: "bare"}
	if err := Extend(context.Background(), Options{Scenario: s, Binary: agentBinary, Log: &log}, dir, []result.Cell{cell}, 1); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	samples, _ := result.ReadSamples(dir)
	var got []string
	for _, x := range samples {
		if x.Round == 1 {
			got = append(got, fmt.Sprintf("%s %s %s #%d err=%q", x.Workload, x.Label, x.Platform, x.Trial, x.Error))
		}
	}
	want := []string{
		`boot  bare #0 err=""`,
		`cpu duration=100ms threads=2 bare #2 err=""`,
		`cpu duration=100ms threads=2 bare #3 err=""`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("round 1 samples:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	info, _ := result.ReadRun(dir)
	if len(info.Retries) != 1 || info.Retries[0].Cells[0] != cell.String() || info.Retries[0].End.IsZero() {
		t.Errorf("retries %+v", info.Retries)
	}
	nothingLeft(t, "runc", info.RunID)
}

// A platform matrix runs as the platforms it makes: containers of two
// runtimes on two network paths and guests of two machine types, their
// names (with brackets, commas and =) kept readable in samples and files
// named safely, and nothing left behind.
func TestPlatformMatrixRuns(t *testing.T) {
	needGuest(t)
	needRuntime(t, "crun")
	dir, samples, err := run(t, context.Background(), load(t, `version: 1
name: matrix
repetitions: 1
warmup: 0
timeout: 60s
sample_interval: 0s
platforms:
  - {name: native, type: native}
  - {name: box, type: container, runtime: [runc, crun], network: [bridge, nat]}
  - {name: vm, type: vm, accel: tcg, vcpus: 1, memory: 256MiB, machine: [q35, microvm]}
workloads:
  - {type: net, params: {mode: rr, duration: 100ms}}
`))
	if err != nil {
		t.Fatal(err)
	}
	ran := map[string]bool{}
	for _, s := range samples {
		if s.Error != "" {
			t.Errorf("%s on %s failed: %s", s.Workload, s.Platform, s.Error)
		}
		if s.Workload == "net" {
			ran[s.Platform] = true
		}
	}
	for _, p := range []string{"native", "box[runtime=runc,network=bridge]", "box[runtime=runc,network=nat]", "box[runtime=crun,network=bridge]",
		"box[runtime=crun,network=nat]", "vm[machine=q35]", "vm[machine=microvm]"} {
		if !ran[p] {
			t.Errorf("no net trial on %s (ran on %v)", p, ran)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "vm_machine_microvm_-console.log")); err != nil {
		t.Errorf("console log of vm[machine=microvm]: %v", err)
	}
	// This run's: go test runs other packages' guests meanwhile.
	info, _ := result.ReadRun(dir)
	if left := kvm.Leftovers("/proc", result.NamePrefix+info.RunID); len(left) > 0 {
		t.Errorf("QEMU left running: %v", left)
	}
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), result.NamePrefix+info.RunID) {
		t.Errorf("network namespaces left: %s", out)
	}
}
