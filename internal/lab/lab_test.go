package lab

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/testagent"
	"github.com/vmbench/vmbench/internal/workload"
)

var agentBinary string

// The test binary doubles as a fake L1 QEMU for the lifecycle tests: with
// VMBENCH_FAKE_L1 set it behaves as the variable says.
func TestMain(m *testing.M) {
	switch os.Getenv("VMBENCH_FAKE_L1") {
	case "":
		testagent.Main(m.Run, &agentBinary)
	case "die":
		os.Stdout.WriteString("SeaBIOS (version fake)\nqemu-system-x86_64: fake L1 failure\n")
		os.Exit(1)
	case "hang":
		time.Sleep(time.Hour)
	}
}

func TestArgs(t *testing.T) {
	args := Args(Config{Name: "vmbench-x-lab", CPUs: 2, MemoryB: 3 << 30, Kernel: "/k", Initrd: "/i", Root: "/c/root,1.ext4", Work: "/w.ext4"})
	for _, want := range [][]string{
		{"-accel", "tcg,thread=multi"}, {"-cpu", "max"}, {"-smp", "2"}, {"-m", "3072"}, {"-serial", "stdio"},
		{"-drive", "file=/c/root,,1.ext4,if=none,id=root,format=raw,snapshot=on"},
		{"-device", "virtio-blk-pci,drive=work,serial=vmbench-lab-work"},
	} {
		if i := slices.Index(args, want[0]); i < 0 || !slices.Contains(args[i:], want[1]) {
			t.Errorf("argv lacks %v: %v", want, args)
		}
	}
	if i := slices.Index(args, "-append"); i < 0 || !strings.Contains(args[i+1], "vmbench.lab=1") || !strings.Contains(args[i+1], "softlockup_panic=1") {
		t.Errorf("the kernel is not told it is L1: %v", args)
	}
}

// An L1 whose QEMU dies, or that never powers off, fails with what QEMU
// said and its console kept.
func TestL1LifecycleFailures(t *testing.T) {
	self, _ := os.Executable()
	for _, tc := range []struct{ mode, want string }{
		{"die", "exit status 1"},
		{"hang", "did not power off within 1s"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Setenv("VMBENCH_FAKE_L1", tc.mode)
			console := filepath.Join(t.TempDir(), "console.log")
			var log bytes.Buffer
			start := time.Now()
			err := boot(context.Background(), self, Config{Name: "vmbench-test-lab"}, console, Options{Timeout: time.Second, Log: &log})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
			if tc.mode == "die" {
				if b, _ := os.ReadFile(console); !strings.Contains(string(b), "fake L1 failure") {
					t.Errorf("console log holds %q", b)
				}
				if !strings.Contains(log.String(), "L1| qemu-system-x86_64: fake L1 failure") {
					t.Errorf("the console did not reach the log: %q", log.String())
				}
			}
		})
	}
}

// TestLab boots the real lab and runs scenarios/lab.yaml in it: native,
// runc, crun, a vm with accel: kvm (pinned) and one with accel: auto, on
// cpu, memory, disk, net and startup. Inside L1 the KVM path must be the one
// that ran, end to end, and nothing may be left behind, in L1 or here.
func TestLab(t *testing.T) {
	text, err := os.ReadFile("../../scenarios/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	results := t.TempDir()
	var log bytes.Buffer
	start := time.Now()
	o := Options{ScenarioText: text, ResultsDir: results, Binary: agentBinary, Timeout: 15 * time.Minute, Log: &log}
	dir, err := Run(context.Background(), o)
	if errors.Is(err, ErrL1Crashed) {
		// TCG's SVM, not vmbench: once more, and say so.
		t.Logf("L1 crashed, running the lab once more: %v", err)
		log.Reset()
		dir, err = Run(context.Background(), o)
	}
	t.Logf("lab run took %s", time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	info, err := result.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := info.Lab
	if l == nil || l.Kind != "nested" || l.L1.KVM != "kvm_amd" || l.L1.Cgroup != "v2" || !l.L1.Clean || l.L1.ExitCode != 0 {
		t.Fatalf("lab = %+v", l)
	}
	if _, err := os.Stat(filepath.Join(dir, l.Console)); err != nil {
		t.Errorf("L1's console: %v", err)
	}
	for _, p := range info.Platforms {
		if p.Error != "" {
			t.Errorf("platform %s: %s", p.Name, p.Error)
		}
		if p.Type == "vm" {
			if p.Info["accel"] != "kvm" || p.Info["qmp_query_kvm"] != "enabled=true present=true" {
				t.Errorf("vm %s: accel %q (%s), QEMU says %q", p.Name, p.Info["accel"], p.Info["accel_reason"], p.Info["qmp_query_kvm"])
			}
		}
	}
	// crun on a pure cgroup v2 host: without the hybrid-host workaround.
	if note := info.Platforms[2].Info["runtime_note"]; note != "" {
		t.Errorf("crun in L1: %s", note)
	}
	if pinned := info.Platforms[3].Info["pinned"]; !strings.Contains(pinned, `"CPU 0/KVM")→cpu1`) {
		t.Errorf("kvm's vCPU thread was not pinned: %q", pinned)
	}
	samples, err := result.ReadSamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	boots, trials := map[string]int{}, map[string]int{}
	for _, s := range samples {
		if s.Error != "" {
			t.Errorf("%s on %s failed: %s", s.Workload, s.Platform, s.Error)
		}
		if s.Workload == workload.Boot {
			boots[s.Platform]++
			continue
		}
		trials[s.Platform]++
		if s.Platform != "kvm" && s.Platform != "auto" {
			continue
		}
		if s.Conditions["accel"] != "kvm" {
			t.Errorf("%s on %s ran under %q", s.Workload, s.Platform, s.Conditions["accel"])
		}
		if v, ok := metric(s, "kvm_exits"); !ok || v <= 0 {
			t.Errorf("%s on %s: kvm_exits %v (%t)", s.Workload, s.Platform, v, ok)
		}
	}
	if boots["kvm"] == 0 || boots["auto"] == 0 {
		t.Errorf("boot samples: %v", boots)
	}
	for _, p := range []string{"native", "runc", "crun", "kvm", "auto"} {
		if trials[p] != 10 { // 5 workloads × 2 repetitions
			t.Errorf("%d trials on %s, want 10", trials[p], p)
		}
	}
	// The containers' cgroup sampler read cgroup v2 in L1.
	traces, err := result.ReadTraces(dir)
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, tr := range traces {
		for _, s := range tr.Series {
			if s.Sampler == "cgroup" && len(s.Points) > 0 {
				read[tr.Platform] = true
			}
		}
	}
	if !read["runc"] || !read["crun"] {
		t.Errorf("cgroup v2 readings on %v, want runc and crun", read)
	}
	// Nothing of the lab is left on the host.
	if left := kvm.Leftovers("/proc", result.NamePrefix); len(left) > 0 {
		t.Errorf("QEMU left running: %v", left)
	}
	if dirs, _ := filepath.Glob("/var/tmp/" + result.NamePrefix + "*-lab-*"); len(dirs) > 0 {
		t.Errorf("work directories left: %v", dirs)
	}
}

func metric(s result.Sample, name string) (float64, bool) {
	for _, m := range s.Metrics {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}
