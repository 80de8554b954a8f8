package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/capacity"
	"github.com/vmbench/vmbench/internal/result"
)

// The memory per instance that vmbench capacity prints agrees with a count
// made by hand: the same work started the way a person would start it,
// without vmbench — `runc spec` bundles sharing one binary (as containers
// share an image layer) run with `runc run`, and guests booted with a
// plain qemu-system-x86_64 command line from the same kernel and
// initramfs — and the proportional set size of their processes read from
// /proc/<pid>/smaps_rollup, at 1 and at 3 instances. The per-instance
// figure is the difference over the 2 instances added, as vmbench's slope
// is: what one more instance costs.
//
// The hand's containers run the sweep's very workload; its guests idle
// after boot (a person's guest runs nothing yet), so vmbench's figure for
// a guest, which ran the workload, may be larger, not smaller. MemAvailable
// is logged, not checked: the other test packages' guests come and go
// meanwhile. docs/capacity.md has the figures of a quiet run.
func TestMemoryPerInstanceAgreesWithAHandCount(t *testing.T) {
	needGuest(t)
	const work = `{"type":"cpu","params":{"duration":"1500ms","threads":"1"}}`
	s := load(t, `version: 1
name: hand-count
timeout: 2m
sample_interval: 100ms
density:
  levels: [1, 3]
  repetitions: 2
platforms:
  - {name: box, type: container, network: none}
  - {name: guest, type: vm, accel: tcg, vcpus: 1, memory: 256MiB}
workloads:
  - {type: cpu, params: {duration: 1500ms, threads: 1}}
`)
	dir, samples, err := run(t, context.Background(), s)
	defer consoles(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := result.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	pss := map[string]capacity.Fit{}
	for _, sw := range capacity.Sweeps(info, samples) {
		pss[sw.Name] = capacity.Compute(sw, nil, capacity.Host{Cores: info.Host.Cores, Memory: 8 << 30}).PSSPerInstance
	}
	var kernel, image string
	for _, p := range info.Platforms {
		if p.Name == "guest" {
			kernel, image = p.Info["kernel"], p.Info["image"]
		}
	}
	if kernel == "" || image == "" {
		t.Fatalf("run.json records no kernel or image of the guest: %+v", info.Platforms)
	}

	// The containers are counted over their whole run, as vmbench counts
	// a trial's; the guests for a second after their agents said hello.
	containers := handSlope(t, "runc containers", 1400*time.Millisecond, func(n int) []int { return startContainers(t, n, work) })
	guests := handSlope(t, "guests", time.Second, func(n int) []int { return startGuests(t, n, kernel, image) })
	for _, c := range []struct {
		platform string
		hand     float64
		lo, hi   float64 // the ratio vmbench / hand allowed
	}{
		// Like for like: the same agent, workload and runtime process.
		{"box", containers, 0.67, 1.5},
		// vmbench's guests ran the workload (a container in the guest,
		// its code translated by TCG) that the hand's idle guests did not.
		{"guest", guests, 0.8, 1.8},
	} {
		f := pss[c.platform]
		ratio := f.PerInstance / c.hand
		t.Logf("%s: vmbench %.1f MB [%.1f, %.1f] per instance (run %s), by hand %.1f MB: ×%.2f", c.platform, f.PerInstance/1e6, f.Lo/1e6, f.Hi/1e6, info.RunID, c.hand/1e6, ratio)
		if !(ratio >= c.lo && ratio <= c.hi) {
			t.Errorf("%s: vmbench's PSS per instance %.1f MB against %.1f MB counted by hand (×%.2f, allowed ×%.2f–×%.2f)", c.platform, f.PerInstance/1e6, c.hand/1e6, ratio, c.lo, c.hi)
		}
	}
	nothingLeft(t, "runc", runID(t, dir))
}

// handSlope starts 1 and then 3 instances with start (which returns the
// processes to count), reads their summed PSS every 50 ms for window,
// stops them, and returns the cost of one more instance: (peak at 3 − peak
// at 1) / 2.
func handSlope(t *testing.T, what string, window time.Duration, start func(n int) []int) float64 {
	t.Helper()
	peak := map[int]float64{}
	for _, n := range []int{1, 3} {
		before := memAvailable(t)
		pids := start(n)
		low := before
		for end := time.Now().Add(window); time.Now().Before(end); {
			time.Sleep(50 * time.Millisecond)
			var sum float64
			for _, pid := range pids {
				for _, p := range tree(pid) {
					sum += smapsPSS(p)
				}
			}
			peak[n] = max(peak[n], sum)
			low = min(low, memAvailable(t))
		}
		stopAll(pids)
		t.Logf("%s by hand, %d: PSS %.1f MB, MemAvailable's drop %.1f MB", what, n, peak[n]/1e6, (before-low)/1e6)
		if peak[n] <= 0 {
			t.Fatalf("%s: no PSS read at %d", what, n)
		}
	}
	return (peak[3] - peak[1]) / 2
}

var handIDs atomic.Int64

// startContainers runs n containers of work with runc, as a person would:
// `runc spec` for each bundle, the process set to the vmbench agent, whose
// binary every rootfs shares (a hard link, as containers of one image share
// its layer), and `runc run` in the foreground. It returns at once, with
// the pids of the `runc run` processes: counting begins with runc's own
// start, as vmbench's does.
func startContainers(t *testing.T, n int, work string) []int {
	t.Helper()
	var pids []int
	for range n {
		bundle := t.TempDir()
		root := filepath.Join(bundle, "rootfs")
		for _, d := range []string{"proc", "dev", "sys", "tmp"} {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Link(agentBinary, filepath.Join(root, "vmbench")); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("runc", "spec", "--bundle", bundle).CombinedOutput(); err != nil {
			t.Fatalf("runc spec: %v: %s", err, out)
		}
		var spec map[string]any
		path := filepath.Join(bundle, "config.json")
		b, err := os.ReadFile(path)
		if err == nil {
			err = json.Unmarshal(b, &spec)
		}
		if err != nil {
			t.Fatal(err)
		}
		proc := spec["process"].(map[string]any)
		proc["terminal"] = false
		proc["args"] = []string{"/vmbench", "agent", "run", work}
		if b, err = json.Marshal(spec); err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("hand-count-%d-%d", os.Getpid(), handIDs.Add(1))
		cmd := exec.Command("runc", "run", "--bundle", bundle, id)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			exec.Command("runc", "delete", "--force", id).Run()
			cmd.Process.Kill()
			cmd.Wait()
		})
		pids = append(pids, cmd.Process.Pid)
	}
	return pids
}

// startGuests boots n guests from the kernel and initramfs vmbench used,
// with a plain QEMU command line — TCG, 1 vCPU, 256 MiB, the virtio-serial
// port the agent looks for — and returns once each guest's agent has said
// hello on it, with the QEMU pids.
func startGuests(t *testing.T, n int, kernel, image string) []int {
	t.Helper()
	var pids []int
	var socks []string
	for range n {
		d := t.TempDir()
		sock := filepath.Join(d, "agent.sock")
		cmd := exec.Command("qemu-system-x86_64", "-machine", "q35,accel=tcg", "-cpu", "max", "-smp", "1", "-m", "256",
			"-nodefaults", "-nographic", "-kernel", kernel, "-initrd", image, "-append", "console=ttyS0 panic=-1 quiet",
			"-chardev", "file,id=console,path="+filepath.Join(d, "console.log"), "-serial", "chardev:console",
			"-device", "virtio-serial-pci,id=vser0",
			"-chardev", "socket,id=agent,path="+sock+",server=on,wait=off",
			"-device", "virtserialport,bus=vser0.0,chardev=agent,name="+agent.PortName)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		pids, socks = append(pids, cmd.Process.Pid), append(socks, sock)
	}
	for i, sock := range socks {
		// The connection stays open while the guest is counted: its
		// agent shuts the guest down when the host hangs up.
		c, err := hello(sock, 90*time.Second)
		if err != nil {
			b, _ := os.ReadFile(filepath.Join(filepath.Dir(sock), "console.log"))
			t.Fatalf("guest %d: %v; console:\n%s", i, err, b)
		}
		t.Cleanup(func() { c.Close() })
	}
	return pids
}

// hello waits for a guest's agent to greet on its port's socket, and
// returns the connection.
func hello(sock string, timeout time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.SetReadDeadline(deadline)
			line, err := bufio.NewReader(c).ReadString('\n')
			c.SetReadDeadline(time.Time{})
			if err == nil && !strings.Contains(line, agent.OpHello) {
				err = fmt.Errorf("the agent's first line is not a hello: %q", line)
			}
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("no hello from the agent: %w", err)
			}
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopAll kills the processes and waits until they are gone.
func stopAll(pids []int) {
	for _, pid := range pids {
		for _, p := range tree(pid) {
			if proc, err := os.FindProcess(p); err == nil {
				proc.Kill()
			}
		}
	}
	for _, pid := range pids {
		for range 200 {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err != nil || strings.Contains(string(b), ") Z ") {
				break
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
}

// tree is pid and its descendants, from /proc's children lists.
func tree(pid int) []int {
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", out[i]))
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			for _, c := range strings.Fields(string(b)) {
				if p, err := strconv.Atoi(c); err == nil {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// smapsPSS is a process's proportional set size in bytes; 0 when it is
// gone.
func smapsPSS(pid int) float64 {
	return kbField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
}

func memAvailable(t *testing.T) float64 {
	v := kbField("/proc/meminfo", "MemAvailable:")
	if v <= 0 {
		t.Fatal("no MemAvailable in /proc/meminfo")
	}
	return v
}

// kbField reads a "Name: N kB" line of a /proc file, in bytes.
func kbField(path, name string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}
