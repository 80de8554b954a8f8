package agent

// The contract between the host that assembles and boots a guest (package
// kvm) and the agent that is the guest's PID 1 (package kvm/initproc): the
// names by which each finds what the other set up. Both sides import these;
// neither imports the other.
const (
	// PortName is the name of the virtio-serial port the agent listens on.
	PortName = "vmbench.agent"
	// IPParam is the kernel command line parameter that tells the guest's
	// init its NIC's address (an IPv4 address/prefix).
	IPParam = "vmbench.ip"
	// ScratchSerial is the serial number by which the guest finds its
	// scratch disk.
	ScratchSerial = "vmbench-scratch"
	// ToolsSerial is the serial number of the read-only disk holding the
	// tools rootfs.
	ToolsSerial = "vmbench-tools"
	// ModulesList is where the initramfs lists the kernel modules for init
	// to load, in dependency order, one path per line.
	ModulesList = "/etc/vmbench/modules"
)
