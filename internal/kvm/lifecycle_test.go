package kvm

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
)

// The test binary doubles as a fake QEMU: with VMBENCH_FAKE_QEMU set it
// reads the agent socket from its argv, as QEMU would, and behaves as the
// variable says. This exercises the real launch, link and stop code without
// a kernel.
func TestMain(m *testing.M) {
	if mode := os.Getenv("VMBENCH_FAKE_QEMU"); mode != "" {
		fakeQEMU(mode, os.Args[1:])
		return
	}
	os.Exit(m.Run())
}

func fakeQEMU(mode string, args []string) {
	if len(args) == 1 && args[0] == "--version" {
		os.Stdout.WriteString("QEMU emulator version 0.0 (fake)\n")
		return
	}
	var sock, console string
	kvm := false
	for _, a := range args {
		if rest, ok := strings.CutPrefix(a, "socket,id=agent,path="); ok {
			sock = rest
		}
		if rest, ok := strings.CutPrefix(a, "file,id=console,path="); ok {
			console = strings.TrimSuffix(rest, ",append=on")
		}
		kvm = kvm || strings.Contains(a, "accel=kvm")
	}
	os.WriteFile(console, []byte("fake kernel booting\nfake: last words\n"), 0o644)
	switch mode {
	case "exit":
		os.Stderr.WriteString("qemu-system-x86_64: -machine q35: fake failure\n")
		os.Exit(1)
	case "hang": // a guest whose kernel never reaches init
		time.Sleep(time.Hour)
	case "hang-under-kvm": // this build host: KVM opens, but guests hang
		if kvm {
			time.Sleep(time.Hour)
		}
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		os.Exit(3)
	}
	if mode == "abort-after-connect" { // QEMU on this build host under accel=kvm
		conn.Close()
		time.Sleep(100 * time.Millisecond)
		os.Stderr.WriteString("qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\n" +
			"qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3164: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n")
		os.Exit(134)
	}
	hello := agent.Hello{Kernel: "fake", CPUs: 1, InitAt: 0.5, ReadyAt: 0.7}
	agent.Serve(context.Background(), conn, hello, func(ctx context.Context, req agent.Request, container bool) agent.Response {
		switch mode {
		case "die-on-run":
			os.Exit(9)
		case "slow":
			<-ctx.Done()
			return agent.Response{Error: "cancelled"}
		case "wedge": // a guest kernel that locked up mid-trial
			select {}
		}
		return agent.Response{Result: workload.Result{Metrics: []result.Metric{{Name: "throughput", Unit: "B/s", Value: 1}}}}
	})
	os.Exit(0) // "power off" when asked to shut down
}

func fakeVM(t *testing.T, mode string) (*VM, string) {
	t.Helper()
	t.Setenv("VMBENCH_FAKE_QEMU", mode)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	runDir := t.TempDir()
	kdir := t.TempDir()
	kernel := filepath.Join(kdir, "vmlinuz-fake")
	os.WriteFile(kernel, []byte("not a kernel"), 0o644)
	opts := options.VMOptions{VCPUs: 1, Memory: 256 << 20, Machine: "q35", Accel: "tcg", Kernel: kernel, BootTimeout: 2 * time.Second}
	return &VM{
		PlatformName: "vm", RunID: "test" + strings.ReplaceAll(mode, "-", ""), RunDir: runDir, Binary: self,
		VMOptions: opts, QEMU: self, CacheDir: t.TempDir(),
	}, runDir
}

// running reports whether a process with a -name of prefix still runs.
func running(prefix string) bool { return len(Leftovers("/proc", prefix)) > 0 }

func TestFakeGuestRunsAndShutsDown(t *testing.T) {
	v, runDir := fakeVM(t, "ok")
	inst, err := v.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	vi := inst.(*Instance)
	res, err := inst.Run(context.Background(), agent.Request{Type: "cpu"})
	if err != nil || len(res.Metrics) != 1 {
		t.Fatalf("run: %v %+v", err, res)
	}
	if got := vi.Conditions()["accel"]; got != "tcg" {
		t.Errorf("accel condition %q", got)
	}
	boot := vi.StartupMetrics()
	if len(boot) != 4 || boot[0].Name != "launch_to_ready" || boot[0].Value <= 0 || boot[2].Value != 0.5 {
		t.Errorf("boot metrics %+v", boot)
	}
	if err := inst.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := inst.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if running("vmbench-" + v.RunID) {
		t.Error("fake QEMU still running after Close")
	}
	if _, err := os.Stat(vi.dir); !os.IsNotExist(err) {
		t.Errorf("socket dir %s left behind", vi.dir)
	}
	if _, err := os.Stat(filepath.Join(runDir, "vm-console.log")); err != nil {
		t.Errorf("console log: %v", err)
	}
}

func TestQEMUThatExitsFailsWithItsMessage(t *testing.T) {
	v, _ := fakeVM(t, "exit")
	start := time.Now()
	inst, err := v.Start(context.Background())
	if inst != nil {
		defer inst.Close(context.Background())
	}
	if err == nil || !strings.Contains(err.Error(), "QEMU exited") || !strings.Contains(err.Error(), "fake failure") || !strings.Contains(err.Error(), "vm-console.log") {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > time.Second+v.BootTimeout/2 {
		t.Errorf("a QEMU that exits at once took %s to report", time.Since(start))
	}
}

// A QEMU that connects to the agent socket and then dies (KVM that cannot
// run the guest) closes the link before its exit is seen: the error still
// quotes QEMU's own words, and they are kept in <platform>-qemu.log.
func TestQEMUDyingAfterConnectingIsQuoted(t *testing.T) {
	v, runDir := fakeVM(t, "abort-after-connect")
	inst, err := v.Start(context.Background())
	if inst != nil {
		defer inst.Close(context.Background())
	}
	if err == nil || !strings.Contains(err.Error(), "QEMU exited") || !strings.Contains(err.Error(), "failed to set MSR 0x10a") || !strings.Contains(err.Error(), "Assertion") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(runDir, "vm-qemu.log")); !strings.Contains(string(b), "failed to set MSR") {
		t.Errorf("vm-qemu.log holds %q", b)
	}
}

func TestHungGuestTimesOutAndIsKilled(t *testing.T) {
	v, _ := fakeVM(t, "hang")
	v.BootTimeout = 500 * time.Millisecond
	old := QuitGrace
	QuitGrace = 500 * time.Millisecond
	defer func() { QuitGrace = old }()
	inst, err := v.Start(context.Background())
	if inst != nil {
		inst.Close(context.Background())
	}
	if err == nil || !strings.Contains(err.Error(), "did not say hello within 500ms") || !strings.Contains(err.Error(), "last words") {
		t.Fatalf("err = %v", err)
	}
	if running("vmbench-" + v.RunID) {
		t.Error("hung QEMU still running")
	}
}

func TestCancelDuringBootIsPrompt(t *testing.T) {
	v, _ := fakeVM(t, "hang")
	v.BootTimeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	inst, err := v.Start(ctx)
	if inst != nil {
		inst.Close(context.Background())
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's error", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("cancel took %s", took)
	}
	if running("vmbench-" + v.RunID) {
		t.Error("QEMU still running after cancel")
	}
}

func TestGuestDyingMidTrialPointsAtConsole(t *testing.T) {
	v, _ := fakeVM(t, "die-on-run")
	inst, err := v.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(context.Background())
	_, err = inst.Run(context.Background(), agent.Request{Type: "cpu"})
	if err == nil || !strings.Contains(err.Error(), "guest died") || !strings.Contains(err.Error(), "vm-console.log") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "restarted") || inst.Info()["restarts"] != "1" {
		t.Errorf("the dead guest was not restarted: %v, info %v", err, inst.Info())
	}
}

// A guest that neither finishes nor cancels a trial is wedged: it is killed
// and booted again, and the next trial runs on the new guest.
func TestWedgedGuestIsRestarted(t *testing.T) {
	v, _ := fakeVM(t, "wedge")
	defer func(g time.Duration) { agent.CancelGrace = g }(agent.CancelGrace)
	agent.CancelGrace = 200 * time.Millisecond
	inst, err := v.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(context.Background())
	first := inst.(*Instance).g.cmd.Process.Pid
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = inst.Run(ctx, agent.Request{Type: "cpu"})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "restarted") {
		t.Fatalf("err = %v", err)
	}
	g := inst.(*Instance).g
	if g == nil || g.cmd.Process.Pid == first {
		t.Fatal("no new guest")
	}
	if syscall.Kill(first, 0) == nil {
		t.Error("the wedged QEMU still runs")
	}
}

func TestTrialCancelReachesTheGuest(t *testing.T) {
	v, _ := fakeVM(t, "slow")
	inst, err := v.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = inst.Run(ctx, agent.Request{Type: "cpu"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("cancel took %s; the guest should stop the trial at once", took)
	}
}

func TestAccelKVMFailsClearlyWithoutKVM(t *testing.T) {
	v, _ := fakeVM(t, "ok")
	v.Accel = "kvm"
	defer func(old string) { KVMDevice = old }(KVMDevice)
	KVMDevice = filepath.Join(t.TempDir(), "no-kvm")
	inst, err := v.Start(context.Background())
	if inst != nil {
		inst.Close(context.Background())
	}
	if err == nil || !strings.Contains(err.Error(), "KVM is unusable") || !strings.Contains(err.Error(), "use accel: auto or tcg") {
		t.Fatalf("err = %v", err)
	}
}

func TestAccelAutoWithoutKVMUsesTCG(t *testing.T) {
	v, _ := fakeVM(t, "ok")
	v.Accel = "auto"
	defer func(old string) { KVMDevice = old }(KVMDevice)
	KVMDevice = filepath.Join(t.TempDir(), "no-kvm")
	inst, err := v.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(context.Background())
	info := inst.Info()
	if info["accel"] != "tcg" || !strings.Contains(info["accel_reason"], "KVM is unusable") {
		t.Errorf("info %v", info)
	}
}

// The case of this build host: /dev/kvm opens, but a guest hangs under KVM.
// auto probes, gives up after ProbeTimeout, boots under TCG and says why;
// a second vm platform of the same run reuses the decision without probing.
func TestAccelAutoProbeFallsBackToTCG(t *testing.T) {
	v, runDir := fakeVM(t, "hang-under-kvm")
	v.Accel = "auto"
	v.Decision = &Decision{}
	defer func(probe time.Duration) { ProbeTimeout = probe }(ProbeTimeout)
	kvmUsable = func() error { return nil } // /dev/kvm opens...
	defer func() { kvmUsable = KVMUsable }()
	ProbeTimeout = 300 * time.Millisecond // ...but the guest hangs under KVM
	inst, err := v.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(context.Background())
	info := inst.Info()
	if info["accel"] != "tcg" || !strings.Contains(info["accel_reason"], "did not reach its agent within 300ms") {
		t.Errorf("info %v", info)
	}
	if _, err := os.Stat(filepath.Join(runDir, "vm-kvm-probe-console.log")); err != nil {
		t.Errorf("probe console log: %v", err)
	}
	start := time.Now()
	v2 := *v
	v2.PlatformName = "vm2"
	inst2, err := v2.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer inst2.Close(context.Background())
	if inst2.Info()["accel"] != "tcg" || time.Since(start) > 5*time.Second {
		t.Errorf("second platform: accel %s after %s", inst2.Info()["accel"], time.Since(start))
	}
	if running("vmbench-" + v.RunID + "-vm,") {
		t.Error("the probe guest is still running")
	}
}
