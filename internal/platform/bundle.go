package platform

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmbench/vmbench/internal/rootfs"
	"github.com/vmbench/vmbench/internal/workload"
)

// ociVersion is the runtime-spec version written into config.json: the
// oldest that has every field used here, because runtimes refuse versions
// newer than they know (crun 1.8 refuses the module's 1.3.0).
const ociVersion = "1.0.2"

// SpecOptions are what differs between the containers vmbench starts.
type SpecOptions struct {
	ID     string   // container id, also the cgroup leaf
	Args   []string // process argv, Args[0] inside the rootfs
	CPUs   float64  // CPU limit in cores; 0: none
	Memory int64    // memory limit in bytes; 0: none
	// Scratch is a host directory bind-mounted read-write at
	// rootfs.ScratchMount, named in the agent's $VMBENCH_SCRATCH; "": none.
	Scratch string
	// ScratchDevice is a block device (a guest's scratch disk) made
	// available at the same path in the container and named in
	// $VMBENCH_SCRATCH; nil: none.
	ScratchDevice *specs.LinuxDevice
	// NetNS is the path of the network namespace to join (a veth on the
	// run's bridge); HostNetwork shares the network namespace the runtime
	// runs in. Neither: a new namespace with only lo.
	NetNS       string
	HostNetwork bool
	// Rootfs, when set, is the absolute path of the root filesystem (the
	// tools rootfs), into which Agent, the host path of the agent binary,
	// is bind-mounted at rootfs.AgentPath. "": the bundle's own rootfs.
	Rootfs, Agent string
	// Seccomp is the container's seccomp filter; nil: none.
	Seccomp *specs.LinuxSeccomp
	// Env is added to the process's environment (NAME=value).
	Env []string
}

// BundleCaps are the capabilities of vmbench's containers: Docker's default
// set, which its seccomp profile is written for.
var BundleCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// Spec builds the OCI config of a vmbench container: the agent alone in a
// read-only rootfs, in its own namespaces, with the default capabilities of
// a container engine and the limits asked for. It is pure, so its output is
// golden-tested.
func Spec(o SpecOptions) *specs.Spec {
	caps := slices.Clone(BundleCaps)
	s := &specs.Spec{
		Version: ociVersion,
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{
			Args: o.Args,
			Env:  []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp"},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			NoNewPrivileges: true,
		},
		Hostname: "vmbench",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}},
		},
		Linux: &specs.Linux{
			CgroupsPath: "/" + o.ID,
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
				"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
			},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
		},
	}
	if o.Rootfs != "" {
		s.Root.Path = o.Rootfs
		s.Mounts = append(s.Mounts, specs.Mount{Destination: rootfs.AgentPath, Type: "bind", Source: o.Agent, Options: []string{"bind", "ro"}})
	}
	switch {
	case o.HostNetwork:
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(ns specs.LinuxNamespace) bool { return ns.Type == specs.NetworkNamespace })
	case o.NetNS != "":
		for i := range s.Linux.Namespaces {
			if s.Linux.Namespaces[i].Type == specs.NetworkNamespace {
				s.Linux.Namespaces[i].Path = o.NetNS
			}
		}
	}
	if o.Scratch != "" {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: rootfs.ScratchMount, Type: "bind", Source: o.Scratch, Options: []string{"rbind", "rw"}})
		s.Process.Env = append(s.Process.Env, workload.ScratchEnv+"="+rootfs.ScratchMount)
	}
	if d := o.ScratchDevice; d != nil {
		s.Linux.Devices = append(s.Linux.Devices, *d)
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices,
			specs.LinuxDeviceCgroup{Allow: true, Type: d.Type, Major: &d.Major, Minor: &d.Minor, Access: "rw"})
		s.Process.Env = append(s.Process.Env, workload.ScratchEnv+"="+d.Path)
	}
	s.Process.Env = append(s.Process.Env, o.Env...)
	s.Linux.Seccomp = o.Seccomp
	if o.CPUs > 0 {
		period := uint64(100000)
		quota := int64(o.CPUs * float64(period))
		s.Linux.Resources.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
	}
	if o.Memory > 0 {
		limit := o.Memory
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
	}
	return s
}

// WriteRootfs lays out dir/rootfs for a bundle: the agent binary and the
// mount points the spec needs. It does not write config.json, which changes
// with every trial.
//
// The agent is a hard link to the binary where the two share a file
// system, so that every container of a run maps one file and shares its
// pages, as containers of one image share its layers through the page
// cache: a copy per bundle cost each instance of a density sweep the
// binary's whole size in PSS. The rootfs is mounted read-only (Spec), so
// no container can write through the link. Across file systems it is a
// copy.
func WriteRootfs(dir, binary string) error {
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	dst := filepath.Join(root, rootfs.AgentPath)
	if st, err := os.Stat(binary); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 == 0o111 {
		if os.Link(binary, dst) == nil {
			return nil
		}
	}
	return CopyFile(binary, dst, 0o755)
}

// WriteSpec writes dir/config.json.
func WriteSpec(dir string, s *specs.Spec) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode config.json: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

// CopyFile copies src to dst, made with mode.
func CopyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
