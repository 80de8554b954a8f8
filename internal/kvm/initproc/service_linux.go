package initproc

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/platform"
)

// Service is the agent in a guest that booted its own system — a distro
// cloud image under libvirt, where cloud-init started it as a systemd
// unit. The guest's systemd has mounted what containers need, so unlike
// Main it sets nothing up: it opens the virtio-serial port, serves
// requests with the runc installed in the image (the team's runtime, not
// the host's), and powers the guest off when the link ends. The guest's
// disk is a throwaway overlay, so the power-off is immediate.
func Service(self string) error {
	port, err := openPort(30 * time.Second)
	if err != nil {
		return err
	}
	hello := agent.Hello{
		Kernel: kernelRelease(), CPUs: runtime.NumCPU(), MemoryB: memTotal(),
		InitAt: userspaceAt("/proc"),
	}
	h := &handler{self: self, hostNetwork: true, bundle: bundleDir, idPrefix: "vmbench-guest"}
	if rt, err := platform.NewRuntime("runc", self); err != nil {
		hello.Notes = append(hello.Notes, "no container runtime in the image: "+err.Error())
	} else {
		h.rt = rt
		hello.Runc = rt.Version()
	}
	hello.ReadyAt = uptime()
	logf("ready after %.2fs of guest uptime (systemd started at %.2fs)", hello.ReadyAt, hello.InitAt)
	err = agent.Serve(context.Background(), port, hello, h.handle)
	logf("link ended (%v); powering off", err)
	powerOff()
	return nil
}

// userspaceAt is when the kernel started PID 1, in seconds of uptime: the
// end of the kernel's boot and the start of userspace (systemd).
func userspaceAt(proc string) float64 {
	b, err := os.ReadFile(proc + "/1/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces: the fields follow its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	// starttime is field 22 of the line, the 20th after the name.
	if len(f) < 20 {
		return 0
	}
	ticks, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0
	}
	return float64(ticks) / float64(clockTicks)
}

// clockTicks is USER_HZ, the unit of /proc's start times: 100 on Linux
// for every architecture vmbench runs on.
const clockTicks = 100
