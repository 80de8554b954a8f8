package initproc

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/result"
)

// The lab's L1: a guest booted under TCG with emulated SVM whose root is an
// ext4 disk holding Debian, QEMU, runc, crun and vmbench. Its init moves
// the root from the initramfs onto that disk (runc cannot pivot_root out of
// an initramfs), mounts a pure cgroup v2 hierarchy as Debian 12 hosts have,
// loads KVM, runs the scenario on the work disk with the same vmbench, checks
// that nothing was left behind, and powers off.

// labBinary is where the lab image holds vmbench.
const labBinary = "/usr/local/bin/vmbench"

// labMain runs L1, /proc mounted; it never returns.
func labMain() {
	var st result.LabL1
	note := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		logf("lab: %s", msg)
		st.Notes = append(st.Notes, msg)
	}
	fail := func(format string, args ...any) {
		logf("lab: "+format+"; powering off", args...)
		powerOff()
	}
	// /proc: Main did.
	mountAll([]mount{{"sysfs", "/sys", "sysfs", ""}, {"devtmpfs", "/dev", "devtmpfs", ""}}, fail)
	loadModules(note)
	root := waitDisk(agent.LabRootSerial, 10*time.Second)
	if root == "" {
		fail("no root disk (serial %s)", agent.LabRootSerial)
	}
	if err := switchRoot(root); err != nil {
		fail("switch to the root disk: %v", err)
	}
	os.Setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	os.Setenv("HOME", "/root")
	mountAll([]mount{
		{"tmpfs", "/run", "tmpfs", "mode=755"},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777"},
		{"devpts", "/dev/pts", "devpts", ""},
		{"tmpfs", "/dev/shm", "tmpfs", "mode=1777"},
		{"cgroup2", "/sys/fs/cgroup", "cgroup2", ""},
	}, note)
	st.Cgroup = "v2"
	// Let runc and crun use every controller below the root, as systemd does.
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		var plus []string
		for _, c := range strings.Fields(string(b)) {
			plus = append(plus, "+"+c)
		}
		if err := os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte(strings.Join(plus, " ")), 0o644); err != nil {
			note("cgroup controllers: %v", err)
		}
	}
	unix.Sethostname([]byte("vmbench-lab"))
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		note("lo: %v %s", err, out)
	}
	st.KVM = loadKVM()
	// Guests' NICs are taps: /dev/net/tun appears with the module, which
	// nothing else loads (bridges, veths and nftables load on demand).
	if out, err := exec.Command("modprobe", "tun").CombinedOutput(); err != nil {
		note("modprobe tun: %v %s", err, out)
	}
	work := waitDisk(agent.LabWorkSerial, 5*time.Second)
	if work == "" {
		fail("no work disk (serial %s)", agent.LabWorkSerial)
	}
	os.MkdirAll("/lab", 0o755)
	if err := unix.Mount(work, "/lab", "ext4", 0, ""); err != nil {
		fail("mount the work disk: %v", err)
	}
	// The run's scratch files (a guest's disk) on ext4, with room: QEMU's
	// cache=none needs O_DIRECT, which tmpfs has not.
	os.MkdirAll("/lab/tmp", 0o1777)
	if err := unix.Mount("/lab/tmp", "/var/tmp", "", unix.MS_BIND, ""); err != nil {
		note("scratch on the work disk: %v", err)
	}
	st.ExitCode = runLogged(labBinary, "run", filepath.Join("/lab", agent.LabScenario), "--results", filepath.Join("/lab", agent.LabResults), "--yes")
	out, err := exec.Command(labBinary, "cleanup", "--dry-run").CombinedOutput()
	st.Left = strings.TrimSpace(string(out))
	st.Clean = err == nil && st.Left == "nothing to clean up"
	if st.Clean {
		st.Left = ""
	} else {
		logf("lab: left behind in L1: %s", st.Left)
	}
	st.Kernel, st.CPUs, st.MemoryB, st.UptimeS = kernelRelease(), runtime.NumCPU(), memTotal(), uptime()
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(filepath.Join("/lab", agent.LabStatus), b, 0o644); err != nil {
		logf("lab: status: %v", err)
	}
	unix.Unmount("/var/tmp", 0)
	unix.Sync()
	if err := unix.Unmount("/lab", 0); err != nil {
		logf("lab: unmount the work disk: %v", err)
	}
	logf("lab: done (vmbench run exited %d); powering off", st.ExitCode)
	powerOff()
}

// waitDisk waits for the disk with this serial number and returns its
// device path; "" when it did not appear in time.
func waitDisk(serial string, timeout time.Duration) string {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if d := diskBySerial(serial); d != nil {
			return d.Path
		}
	}
	return ""
}

// switchRoot mounts dev (ext4) and makes it the root, moving /dev, /proc
// and /sys along, as switch_root does; the initramfs stays in memory,
// unreachable.
func switchRoot(dev string) error {
	if err := os.MkdirAll("/newroot", 0o755); err != nil {
		return err
	}
	if err := unix.Mount(dev, "/newroot", "ext4", 0, ""); err != nil {
		return err
	}
	for _, d := range []string{"/dev", "/proc", "/sys"} {
		os.MkdirAll("/newroot"+d, 0o755)
		if err := unix.Mount(d, "/newroot"+d, "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("move %s: %w", d, err)
		}
	}
	if err := unix.Chdir("/newroot"); err != nil {
		return err
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return err
	}
	if err := unix.Chroot("."); err != nil {
		return err
	}
	return unix.Chdir("/")
}

// loadKVM loads kvm_amd (SVM, which TCG's -cpu max emulates) or kvm_intel,
// and says which one gave /dev/kvm, or why none did.
func loadKVM() string {
	var why []string
	for _, m := range []string{"kvm_amd", "kvm_intel"} {
		out, err := exec.Command("modprobe", m).CombinedOutput()
		if _, serr := os.Stat("/dev/kvm"); err == nil && serr == nil {
			return m
		}
		why = append(why, fmt.Sprintf("%s: %v %s", m, err, strings.TrimSpace(string(out))))
	}
	return "none (" + strings.Join(why, "; ") + ")"
}

// runLogged runs a command with its stderr on the console and returns its
// exit code (-1 when it could not start). Its stdout (the report, which the
// host renders again) is dropped, and its stderr goes through a pipe: on
// the console itself vmbench would draw a progress bar.
func runLogged(name string, args ...string) int {
	cmd := exec.Command(name, args...)
	r, w, err := os.Pipe()
	if err != nil {
		logf("lab: %v", err)
		return -1
	}
	cmd.Stderr = w
	copied := make(chan struct{})
	go func() { io.Copy(os.Stderr, r); close(copied) }()
	err = cmd.Run()
	w.Close()
	<-copied
	r.Close()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		logf("lab: %s: %v", name, err)
		return -1
	}
	return 0
}
