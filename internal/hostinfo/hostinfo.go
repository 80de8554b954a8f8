// Package hostinfo takes the host fingerprint written into run.json: what a
// reader needs to judge whether two runs are comparable, and what makes
// numbers on this host less reproducible than they could be.
package hostinfo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/mem"

	"github.com/vmbench/vmbench/internal/result"
)

// Take reads the fingerprint of the host vmbench runs on.
func Take() result.Host {
	h := result.Host{Cores: runtime.NumCPU()}
	if info, err := host.Info(); err == nil {
		h.Hostname = info.Hostname
		h.Kernel = info.KernelVersion
		h.OS = strings.TrimSpace(info.Platform + " " + info.PlatformVersion)
	}
	if cpus, err := cpu.Info(); err == nil && len(cpus) > 0 {
		h.CPUModel = cpus[0].ModelName
	}
	if vm, err := mem.VirtualMemory(); err == nil {
		h.MemoryB = vm.Total
	}
	h.Governor = read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
	switch read("/sys/devices/system/cpu/intel_pstate/no_turbo") {
	case "0":
		h.Turbo = "on"
	case "1":
		h.Turbo = "off"
	default:
		switch read("/sys/devices/system/cpu/cpufreq/boost") {
		case "1":
			h.Turbo = "on"
		case "0":
			h.Turbo = "off"
		}
	}
	h.SMT = read("/sys/devices/system/cpu/smt/control")
	h.THP = bracketed(read("/sys/kernel/mm/transparent_hugepage/enabled"))
	h.CgroupMode = CgroupMode("/")
	h.KVM = "absent"
	if _, err := os.Stat("/dev/kvm"); err == nil {
		h.KVM = "present"
	}
	return h
}

// Warnings lists what makes this host's numbers less reproducible.
func Warnings(h result.Host) []string {
	var w []string
	if h.Governor != "" && h.Governor != "performance" {
		w = append(w, "CPU frequency governor is "+h.Governor+", not performance: clock speed varies with load")
	}
	if h.Turbo == "on" {
		w = append(w, "turbo boost is on: clock speed depends on temperature and on how many cores are busy")
	}
	return w
}

// CgroupMode tells "v2", "v1" or "hybrid" from root/sys/fs/cgroup.
func CgroupMode(root string) string {
	var st syscall.Statfs_t
	if syscall.Statfs(filepath.Join(root, "sys/fs/cgroup"), &st) != nil {
		return ""
	}
	if st.Type == 0x63677270 {
		return "v2"
	}
	if syscall.Statfs(filepath.Join(root, "sys/fs/cgroup/unified"), &st) == nil && st.Type == 0x63677270 {
		return "hybrid"
	}
	return "v1"
}

func read(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// bracketed returns the [selected] word of a sysfs choice list.
func bracketed(s string) string {
	if i := strings.Index(s, "["); i >= 0 {
		if j := strings.Index(s[i:], "]"); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return s
}

// ToolVersion runs path with args (such as --version) and returns the first
// line of its output; "" when it fails or takes more than 5 s.
func ToolVersion(path string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// ToolVersions records the versions of the system tools platforms use that
// this host has: part of a run's fingerprint.
func ToolVersions() map[string]string {
	out := map[string]string{}
	for name, args := range map[string][]string{
		"runc": {"--version"}, "crun": {"--version"}, "qemu-system-x86_64": {"--version"},
	} {
		if path, err := exec.LookPath(name); err == nil {
			if v := ToolVersion(path, args...); v != "" {
				out[name] = v
			}
		}
	}
	return out
}

// Machine describes the machine this process runs on, as a remote
// machine's agent reports it for run.json: its fingerprint, and what
// hypervisor it runs under as systemd-detect-virt, the DMI tables and the
// CPU's hypervisor flag say (each may be absent; none of them is proof).
func Machine() map[string]string {
	h := Take()
	m := map[string]string{
		"hostname": h.Hostname, "cpu_model": h.CPUModel, "cores": strconv.Itoa(h.Cores),
		"memory_bytes": strconv.FormatUint(h.MemoryB, 10), "kernel": h.Kernel, "os": h.OS,
		"arch": runtime.GOARCH, "cgroup_mode": h.CgroupMode,
	}
	if out, err := exec.Command("systemd-detect-virt").Output(); len(out) > 0 || err == nil {
		m["virt_systemd"] = strings.TrimSpace(string(out))
	}
	if v := strings.TrimSpace(read("/sys/class/dmi/id/sys_vendor") + " " + read("/sys/class/dmi/id/product_name")); v != "" {
		m["virt_dmi"] = v
	}
	m["virt_cpuid"] = "no hypervisor flag"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "flags" {
				if slices.Contains(strings.Fields(v), "hypervisor") {
					m["virt_cpuid"] = "hypervisor flag set"
				}
				break
			}
		}
	}
	return m
}
