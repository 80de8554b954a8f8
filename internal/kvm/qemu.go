// Package kvm is the vm platform: it assembles a guest image (kernel,
// initramfs with the vmbench agent as /init, runc and the virtio modules),
// boots it with QEMU under KVM or, when KVM is unusable, TCG, talks to the
// agent over virtio-serial, and shuts the guest down through the agent, QMP
// and finally SIGKILL.
package kvm

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vmbench/vmbench/internal/agent"
)

// Config is everything the QEMU command line depends on.
type Config struct {
	Name       string // -name, also how `vmbench cleanup` finds a leftover QEMU
	Accel      string // kvm or tcg
	Machine    string // q35 or microvm
	VCPUs      int
	MemoryB    int64
	Kernel     string
	Initrd     string
	Append     []string // kernel command line beyond the defaults
	AgentSock  string   // unix socket the host listens on; QEMU connects to it
	QMPSock    string   // unix socket QEMU listens on for QMP
	ConsoleLog string   // file that receives the serial console
	QEMULog    string   // not part of argv: the file that keeps QEMU's stdout and stderr; "": kept in memory only
	Hugepages  bool     // back guest memory with /dev/hugepages
	TSCkHz     int      // microvm under TCG: tsc_early_khz, so that TSC calibration cannot hang
	Bios       string   // microvm: qboot.rom
	// ScratchDisk is the file backing the guest's scratch disk (virtio-blk,
	// serial agent.ScratchSerial); "": none. DiskCache and DiskAIO are QEMU's
	// cache and aio modes for it.
	ScratchDisk, DiskCache, DiskAIO string
	// ToolsDisk is the tools image (ext4), attached read-only with serial
	// agent.ToolsSerial; "": none.
	ToolsDisk string
	// Tap is the host tap device of the guest's virtio-net NIC, and
	// GuestIP the address (CIDR) the guest's init gives it; "": no NIC.
	Tap, GuestIP string
}

// MAC is the NIC's address, made from its IP address: QEMU gives every
// NIC the same one otherwise, and two guests on one bridge would share it.
func MAC(cidr string) string {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return "52:54:00:12:34:56"
	}
	a := p.Addr().As4()
	return fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3])
}

// QbootROM is Debian's qboot, the firmware microvm boots fastest with.
const QbootROM = "/usr/share/qemu/qboot.rom"

// Args builds the QEMU argument vector (without the binary). It is pure:
// the same Config always gives the same argv.
func Args(c Config) []string {
	mem := strconv.FormatInt(c.MemoryB>>20, 10)
	machine := c.Machine + ",accel=" + c.Accel
	var a []string
	add := func(s ...string) { a = append(a, s...) }
	add("-name", c.Name+",debug-threads=on")
	if c.Hugepages {
		machine += ",memory-backend=mem0"
		add("-object", "memory-backend-file,id=mem0,size="+mem+"M,mem-path=/dev/hugepages,share=on,prealloc=on")
	}
	add("-machine", machine)
	if c.Accel == "kvm" {
		add("-cpu", "host")
	} else {
		add("-cpu", "max")
	}
	add("-smp", strconv.Itoa(c.VCPUs), "-m", mem)
	add("-nodefaults", "-no-user-config", "-nographic", "-no-reboot")
	if c.Machine == "microvm" && c.Bios != "" {
		add("-bios", c.Bios)
	}
	add("-kernel", c.Kernel, "-initrd", c.Initrd, "-append", KernelCmdline(c))
	// append=on: a restarted guest adds to the log of the one it replaces.
	add("-chardev", "file,id=console,path="+optValue(c.ConsoleLog)+",append=on", "-serial", "chardev:console")
	add("-device", virtio(c, "virtio-serial")+",id=vser0",
		"-chardev", "socket,id=agent,path="+optValue(c.AgentSock),
		"-device", "virtserialport,bus=vser0.0,chardev=agent,name="+agent.PortName)
	if c.ScratchDisk != "" {
		add("-drive", "file="+optValue(c.ScratchDisk)+",if=none,id=scratch,format=raw,cache="+c.DiskCache+",aio="+c.DiskAIO,
			"-device", virtio(c, "virtio-blk")+",drive=scratch,serial="+agent.ScratchSerial)
	}
	if c.ToolsDisk != "" {
		add("-drive", "file="+optValue(c.ToolsDisk)+",if=none,id=tools,format=raw,readonly=on",
			"-device", virtio(c, "virtio-blk")+",drive=tools,serial="+agent.ToolsSerial)
	}
	if c.Tap != "" {
		add("-netdev", "tap,id=net0,ifname="+c.Tap+",script=no,downscript=no", "-device", virtio(c, "virtio-net")+",netdev=net0,mac="+MAC(c.GuestIP))
	}
	add("-chardev", "socket,id=qmp,path="+optValue(c.QMPSock)+",server=on,wait=off", "-mon", "chardev=qmp,mode=control")
	return a
}

// optValue is a path as the value of a QEMU option list, where a comma
// ends the value unless doubled: --results or $TMPDIR may hold one.
func optValue(path string) string { return strings.ReplaceAll(path, ",", ",,") }

// virtio names a virtio device for the machine: on PCI for q35, on MMIO
// (no PCI bus) for microvm.
func virtio(c Config, device string) string {
	if c.Machine == "microvm" {
		return device + "-device"
	}
	return device + "-pci"
}

// KernelCmdline is the guest kernel's command line.
func KernelCmdline(c Config) string {
	args := []string{"console=ttyS0", "panic=-1", "quiet", "loglevel=4"}
	if c.Machine == "microvm" && c.Accel == "tcg" && c.TSCkHz > 0 {
		args = append(args, fmt.Sprintf("tsc_early_khz=%d", c.TSCkHz))
	}
	if c.GuestIP != "" {
		args = append(args, agent.IPParam+"="+c.GuestIP)
	}
	return strings.Join(append(args, c.Append...), " ")
}
