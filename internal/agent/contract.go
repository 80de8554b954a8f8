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

// The nested lab: a first-level guest (L1) booted under TCG with emulated
// SVM, whose PID 1 runs vmbench on a scenario and powers off. The host and
// L1's init meet on these names.
const (
	// LabParam on L1's kernel command line makes its init the lab's: mount
	// the root disk, run the scenario, power off.
	LabParam = "vmbench.lab"
	// LabRootSerial is L1's root disk (ext4, the lab image, read-write
	// through a QEMU snapshot), LabWorkSerial its work disk (ext4, made by
	// the host with the scenario in it; L1 writes the results there).
	LabRootSerial = "vmbench-lab-root"
	LabWorkSerial = "vmbench-lab-work"
	// On the work disk: the scenario to run, the results directory L1's
	// vmbench writes, and L1's account of itself (a result.LabL1).
	LabScenario = "scenario.yaml"
	LabResults  = "results"
	LabStatus   = "lab-status.json"
)
