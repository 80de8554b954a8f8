// Package options declares the options of the container, vm and remote platforms
// as a scenario writes them and the platforms use them, with their
// defaults and the names they take (engines, network modes, seccomp): the
// scenario's schema reads them without compiling the platforms.
package options

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/units"
)

// The options of the container and vm platforms, as a scenario writes them
// (the `opt` tag is the YAML key), held by the scenario and embedded in the
// platform that uses them, so that each option is declared, documented and
// defaulted once. Options whose kind is int64 are sizes ("512MiB").

// ContainerOptions are a container platform's options.
type ContainerOptions struct {
	Engine  string  `opt:"engine" help:"docker or podman: run through the engine's command line; none: the runtime on vmbench's own bundle"`
	Runtime string  `opt:"runtime" help:"runc, crun or runsc (gVisor)"`
	CPUs    float64 `opt:"cpus" help:"CPU limit in cores (CFS quota); 0: none"`
	Memory  int64   `opt:"memory" help:"memory limit (512MiB); 0: none"`
	Network string  `opt:"network" help:"bridge, nat (through DNAT, as Docker's -p), host or none"`
	Seccomp string  `opt:"seccomp" help:"default (the engines' profile), unconfined, or a profile's path"`
}

// DefaultContainerOptions are the options of a container platform that
// sets none.
func DefaultContainerOptions() ContainerOptions {
	return ContainerOptions{Runtime: "runc", Network: "bridge", Seccomp: "default"}
}

// VMOptions are a vm platform's options.
type VMOptions struct {
	Container   bool          `opt:"container" help:"run the workload in runc inside the guest, else as a guest process"`
	VCPUs       int           `opt:"vcpus" help:"the guest's vCPUs"`
	Memory      int64         `opt:"memory" help:"the guest's memory (at least 128MiB)"`
	Machine     string        `opt:"machine" help:"q35 or microvm"`
	Accel       string        `opt:"accel" help:"auto, kvm or tcg"`
	Kernel      string        `opt:"kernel" help:"a kernel's path (its modules from /lib/modules/VERSION, or from lib/modules/VERSION beside its boot/ directory, as an unpacked kernel package has them); none: Debian's cloud kernel, extracted into vmbench's cache"`
	Pin         []int         `opt:"pin" help:"host CPU for each vCPU; none: not pinned"`
	Hugepages   bool          `opt:"hugepages" help:"back guest memory with /dev/hugepages"`
	BootTimeout time.Duration `opt:"boot_timeout" help:"QEMU's launch to the agent's hello"`
	ScratchSize int64         `opt:"scratch_size" help:"the guest's scratch disk (a sparse file in scratch_dir)"`
	DiskCache   string        `opt:"disk_cache" help:"QEMU cache mode of the scratch disk: none, writeback, writethrough, directsync, unsafe"`
	DiskAIO     string        `opt:"disk_aio" help:"QEMU aio mode of the scratch disk: native, threads, io_uring"`
	// PerGuest, in a density sweep, packs this many instances into each
	// guest (worker VMs whose cost k instances share); 1: a guest each.
	PerGuest int `opt:"per_guest" help:"density sweeps: instances per guest (1: a guest each)"`
	// Seccomp is the profile of the containers in the guest (container:
	// true), as for a container platform.
	Seccomp string `opt:"seccomp" help:"the guest's containers' profile, as for a container platform"`
	// Manager is who defines and boots the guest: qemu (vmbench's own
	// QEMU command line and initramfs guest) or libvirt (a transient
	// libvirt domain booted from Image, the agent brought in by
	// cloud-init).
	Manager string `opt:"manager" help:"qemu (vmbench's own guest) or libvirt (a transient domain booted from image:)"`
	// Image is the disk image a libvirt guest boots from (qcow2 or raw);
	// it is never written: each guest boots from an overlay of its own.
	Image string `opt:"image" help:"libvirt: the qcow2 or raw image the guest boots from, never written"`
	// Initrd and KernelArgs boot a libvirt guest directly from a kernel
	// (kernel:) instead of the image's own bootloader.
	Initrd     string `opt:"initrd" help:"libvirt: the initramfs that goes with kernel:"`
	KernelArgs string `opt:"kernel_args" help:"libvirt: the kernel command line with kernel: (root=/dev/vda1)"`
	// DomainXML is a team's own libvirt domain XML (virsh dumpxml) that a
	// libvirt guest starts from; "": vmbench's own, as virt-install's.
	DomainXML string `opt:"domain_xml" help:"libvirt: your own domain XML (virsh dumpxml) to start from"`
}

// RemoteOptions are a remote platform's options: an existing machine,
// which vmbench does not manage, reached over SSH.
type RemoteOptions struct {
	// Host is the SSH destination, [user@]host, or a Host alias of the
	// user's SSH configuration (ProxyJump, port, key and known_hosts
	// come from there).
	Host string `opt:"host" help:"[user@]host or a Host alias of your SSH configuration"`
	// Kind is what the machine is: vm (a guest of a hypervisor vmbench
	// cannot see) or metal (bare metal: its own CPU is the host's).
	Kind string `opt:"kind" help:"vm (a guest of a hypervisor vmbench cannot see) or metal"`
	// Container runs the workload in the machine's OCI runtime, else as a
	// plain process there.
	Container bool   `opt:"container" help:"run the workload in the machine's OCI runtime, else as a plain process"`
	Runtime   string `opt:"runtime" help:"the machine's OCI runtime: runc or crun"`
	// Client is where the client of a network workload runs: remote (on
	// the machine, against the server in its container) or controller
	// (here, across the physical network).
	Client string `opt:"client" help:"where a network workload's client runs: remote (on the machine) or controller (here)"`
	// SSHConfig is an ssh_config file used instead of ~/.ssh/config
	// (ssh -F); "": OpenSSH's own.
	SSHConfig      string        `opt:"ssh_config" help:"an ssh_config file instead of ~/.ssh/config (ssh -F)"`
	ConnectTimeout time.Duration `opt:"connect_timeout" help:"the SSH connection and the agent's placement"`
	Seccomp        string        `opt:"seccomp" help:"the containers' profile, as for a container platform"`
}

// Remote machine kinds.
const (
	KindVM    = "vm"
	KindMetal = "metal"
)

// Where a remote platform's network clients run.
const (
	ClientRemote     = "remote"
	ClientController = "controller"
)

// DefaultRemoteOptions are the options of a remote platform that sets none.
func DefaultRemoteOptions() RemoteOptions {
	return RemoteOptions{Container: true, Runtime: "runc", Client: ClientRemote, ConnectTimeout: 30 * time.Second, Seccomp: "default"}
}

// Guest managers.
const (
	ManagerQEMU    = "qemu"
	ManagerLibvirt = "libvirt"
)

// DefaultVMOptions are the options of a vm platform that sets none.
func DefaultVMOptions() VMOptions {
	return VMOptions{
		Container: true, VCPUs: 2, Memory: 1 << 30, Machine: "q35", Accel: "auto",
		BootTimeout: 60 * time.Second, ScratchSize: 1 << 30, DiskCache: "none", DiskAIO: "native", PerGuest: 1,
		Seccomp: "default", Manager: ManagerQEMU,
	}
}

// Keys lists the keys of an options struct (a ContainerOptions or a
// VMOptions, or a pointer to one), in declaration order.
func Keys(opts any) []string {
	t := reflect.TypeOf(opts)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for f := range t.Fields() {
		keys = append(keys, optionKey(f))
	}
	return keys
}

// Fields calls fn with the key and the address of each field of the
// options struct *opts points to (a *string, *bool, *int, *int64, *float64,
// *time.Duration or *[]int), in declaration order.
func Fields(opts any, fn func(key string, field any)) {
	v := reflect.ValueOf(opts).Elem()
	for i := range v.NumField() {
		fn(optionKey(v.Type().Field(i)), v.Field(i).Addr().Interface())
	}
}

// Option is one option as vmbench list and the JSON Schema describe it.
type Option struct {
	Key     string `json:"key"`
	Kind    string `json:"kind"`
	Default string `json:"default"` // as a scenario would write it; "" when none
	Help    string `json:"help"`
}

// Describe lists the options of an options struct holding its defaults
// (DefaultVMOptions(), …), in declaration order. Kind is string, bool,
// int, size, number, duration or list.
func Describe(defaults any) []Option {
	v := reflect.ValueOf(defaults)
	var out []Option
	for i := range v.NumField() {
		f, val := v.Type().Field(i), v.Field(i)
		o := Option{Key: optionKey(f), Help: f.Tag.Get("help")}
		switch x := val.Interface().(type) {
		case string:
			o.Kind, o.Default = "string", x
		case bool:
			o.Kind, o.Default = "bool", fmt.Sprint(x)
		case int:
			o.Kind, o.Default = "int", fmt.Sprint(x)
		case int64:
			o.Kind = "size"
			if x != 0 {
				o.Default = units.FormatSize(x)
			}
		case float64:
			o.Kind = "number"
			if x != 0 {
				o.Default = fmt.Sprint(x)
			}
		case time.Duration:
			o.Kind = "duration"
			if x != 0 {
				o.Default = x.String()
			}
		case []int:
			o.Kind = "list"
		}
		out = append(out, o)
	}
	return out
}

func optionKey(f reflect.StructField) string {
	key, _, _ := strings.Cut(f.Tag.Get("opt"), ",")
	return key
}

// Container engines: a container platform with an engine runs its
// containers through the engine's command line (docker run, podman run), as
// ops teams do, instead of an OCI runtime on vmbench's own bundle.
const (
	EngineDocker = "docker"
	EnginePodman = "podman"
)

// Engines are the engines a container platform can use.
var Engines = []string{EngineDocker, EnginePodman}

// EngineImage splits a tools_image of the form ENGINE:IMAGE (an image the
// engine has); ok is false for an archive's path.
func EngineImage(toolsImage string) (engine, ref string, ok bool) {
	for _, e := range Engines {
		if r, found := strings.CutPrefix(toolsImage, e+":"); found {
			return e, r, true
		}
	}
	return "", "", false
}

// Container network modes.
const (
	NetBridge = "bridge" // a namespace with a veth on the run's bridge
	NetNAT    = "nat"    // the same, reached through a DNAT rule, as Docker's -p
	NetHost   = "host"   // the host's network namespace
	NetNone   = "none"   // a namespace with only lo
)

// DefaultSeccompProfile is where Debian's containers-common package keeps
// the engines' default profile.
const DefaultSeccompProfile = "/usr/share/containers/seccomp.json"

// SeccompPath is the file a seccomp option reads; "" for unconfined.
func SeccompPath(option string) string {
	switch option {
	case "", "unconfined":
		return ""
	case "default":
		return DefaultSeccompProfile
	}
	return option
}
