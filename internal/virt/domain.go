// Package virt is the vm platform with manager: libvirt: a transient
// libvirt domain booted from a team's own disk image (a distro cloud image
// with systemd and cloud-init), through libvirtd's socket in pure Go. Each
// guest boots from a qcow2 overlay of its own, so the image is never
// written; cloud-init brings the agent in from a NoCloud seed disk vmbench
// makes, and the agent talks to the host over the same virtio-serial port
// as in vmbench's own guests (internal/kvm). Containers in the guest run
// with the runc installed in the image.
package virt

import (
	"encoding/xml"
	"strconv"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/kvm"
)

// Domain is everything the domain XML depends on.
type Domain struct {
	Name    string
	Accel   string // kvm or tcg
	VCPUs   int
	MemoryB int64
	Pin     []int // host CPU of each vCPU; empty: not pinned
	// Overlay is the guest's root disk (qcow2, backed by the image) and
	// Seed its cloud-init NoCloud disk (iso9660, label cidata).
	Overlay, Seed string
	// Kernel, Initrd and KernelArgs boot the guest directly from a kernel;
	// Kernel "": the image's own bootloader.
	Kernel, Initrd, KernelArgs string
	// Scratch is the scratch disk's file (raw, sparse; serial
	// agent.ScratchSerial), with QEMU's cache and aio modes; "": none.
	Scratch, DiskCache, DiskAIO string
	// Tools is the tools image, attached read-only; "": none.
	Tools string
	// Tap is a tap device on vmbench's bridge for the guest's NIC, and
	// GuestIP the address (CIDR) cloud-init gives it; "": no NIC.
	Tap, GuestIP string
	// ConsoleLog receives the serial console.
	ConsoleLog string
	// Base is a team's own domain XML to start from (domain_xml:); nil:
	// vmbench's own, as virt-install would write it.
	Base []byte
}

// XML is the domain's libvirt XML, as virt-install would write it by
// default (q35, virtio disks and NIC, the host's CPU under KVM), plus
// what vmbench needs: its overlay, seed and scratch disks and the agent's
// virtio-serial channel (its socket made by libvirt, found in the live
// XML). The domain's QEMU runs as root without relabelling (a static DAC
// label), as vmbench's own QEMU does: libvirt then changes the owner of no
// file, the team's image included. It is pure: the same Domain gives the
// same XML. With a Base, the team's XML is augmented instead (Augment).
func (d Domain) XML() ([]byte, error) {
	if d.Base != nil {
		a, err := Augment(d.Base, d)
		return a.XML, err
	}
	return d.ownXML()
}

func (d Domain) ownXML() ([]byte, error) {
	x := xDomain{
		Type: "qemu", Name: d.Name,
		Memory:   xSize{Unit: "KiB", Value: d.MemoryB >> 10},
		VCPU:     d.VCPUs,
		SecLabel: &xSecLabel{Type: "static", Model: "dac", Relabel: "no", Label: "+0:+0"},
		OS: xOS{Type: xOSType{Arch: "x86_64", Machine: "q35", Value: "hvm"},
			Kernel: d.Kernel, Initrd: d.Initrd, Cmdline: d.KernelArgs},
		Features:   &xFeatures{},
		OnPoweroff: "destroy", OnReboot: "destroy", OnCrash: "destroy",
	}
	if d.Kernel == "" {
		x.OS.Boot = &xBoot{Dev: "hd"}
	}
	if d.Accel == "kvm" {
		x.Type = "kvm"
		x.CPU = &xCPU{Mode: "host-passthrough"}
	} else {
		x.CPU = &xCPU{Mode: "maximum"} // QEMU's -cpu max, as vmbench's own TCG guests
	}
	if len(d.Pin) > 0 {
		x.CPUTune = &xCPUTune{}
		for i, c := range d.Pin {
			x.CPUTune.Pins = append(x.CPUTune.Pins, xPin{VCPU: i, CPUSet: strconv.Itoa(c)})
		}
	}
	dev := &x.Devices
	dev.Disks = append(dev.Disks,
		xDisk{Type: "file", Device: "disk", Driver: xDriver{Name: "qemu", Type: "qcow2"}, Source: xSource{File: d.Overlay}, Target: xTarget{Dev: "vda", Bus: "virtio"}},
		xDisk{Type: "file", Device: "disk", Driver: xDriver{Name: "qemu", Type: "raw"}, Source: xSource{File: d.Seed}, Target: xTarget{Dev: "vdb", Bus: "virtio"}, ReadOnly: &struct{}{}},
	)
	if d.Scratch != "" {
		dev.Disks = append(dev.Disks, xDisk{Type: "file", Device: "disk", Driver: xDriver{Name: "qemu", Type: "raw", Cache: d.DiskCache, IO: d.DiskAIO},
			Source: xSource{File: d.Scratch}, Target: xTarget{Dev: "vdc", Bus: "virtio"}, Serial: agent.ScratchSerial})
	}
	if d.Tools != "" {
		dev.Disks = append(dev.Disks, xDisk{Type: "file", Device: "disk", Driver: xDriver{Name: "qemu", Type: "raw"},
			Source: xSource{File: d.Tools}, Target: xTarget{Dev: "vdd", Bus: "virtio"}, Serial: agent.ToolsSerial, ReadOnly: &struct{}{}})
	}
	if d.Tap != "" {
		dev.Interfaces = append(dev.Interfaces, xInterface{Type: "ethernet", MAC: &xMAC{Address: kvm.MAC(d.GuestIP)},
			Target: &xIfTarget{Dev: d.Tap, Managed: "no"}, Model: xModel{Type: "virtio"}})
	}
	dev.Serials = append(dev.Serials, xSerial{Type: "file", Source: &xSource{Path: d.ConsoleLog, Append: "on"}})
	dev.Channels = append(dev.Channels, xChannel{Type: "unix", Source: xChanSource{Mode: "bind"}, Target: xChanTarget{Type: "virtio", Name: agent.PortName}})
	return xml.MarshalIndent(x, "", "  ")
}

// AgentSocket is the path of the agent channel's socket in a running
// domain's live XML; "" when it has none.
func AgentSocket(liveXML string) string {
	var x xDomain
	if xml.Unmarshal([]byte(liveXML), &x) != nil {
		return ""
	}
	for _, c := range x.Devices.Channels {
		if c.Target.Name == agent.PortName {
			return c.Source.Path
		}
	}
	return ""
}

type xDomain struct {
	XMLName    xml.Name   `xml:"domain"`
	Type       string     `xml:"type,attr"`
	Name       string     `xml:"name"`
	Memory     xSize      `xml:"memory"`
	VCPU       int        `xml:"vcpu"`
	CPUTune    *xCPUTune  `xml:"cputune"`
	SecLabel   *xSecLabel `xml:"seclabel"`
	OS         xOS        `xml:"os"`
	Features   *xFeatures `xml:"features"`
	CPU        *xCPU      `xml:"cpu"`
	OnPoweroff string     `xml:"on_poweroff,omitempty"`
	OnReboot   string     `xml:"on_reboot,omitempty"`
	OnCrash    string     `xml:"on_crash,omitempty"`
	Devices    xDevices   `xml:"devices"`
}

type xSize struct {
	Unit  string `xml:"unit,attr"`
	Value int64  `xml:",chardata"`
}

type xCPUTune struct {
	Pins []xPin `xml:"vcpupin"`
}

type xPin struct {
	VCPU   int    `xml:"vcpu,attr"`
	CPUSet string `xml:"cpuset,attr"`
}

type xSecLabel struct {
	Type    string `xml:"type,attr"`
	Model   string `xml:"model,attr"`
	Relabel string `xml:"relabel,attr"`
	Label   string `xml:"label"`
}

type xOS struct {
	Type    xOSType `xml:"type"`
	Kernel  string  `xml:"kernel,omitempty"`
	Initrd  string  `xml:"initrd,omitempty"`
	Cmdline string  `xml:"cmdline,omitempty"`
	Boot    *xBoot  `xml:"boot"`
}

type xOSType struct {
	Arch    string `xml:"arch,attr"`
	Machine string `xml:"machine,attr"`
	Value   string `xml:",chardata"`
}

type xBoot struct {
	Dev string `xml:"dev,attr"`
}

type xFeatures struct {
	ACPI struct{} `xml:"acpi"`
	APIC struct{} `xml:"apic"`
}

type xCPU struct {
	Mode string `xml:"mode,attr"`
}

type xDevices struct {
	Disks      []xDisk      `xml:"disk"`
	Interfaces []xInterface `xml:"interface"`
	Serials    []xSerial    `xml:"serial"`
	Channels   []xChannel   `xml:"channel"`
}

type xDisk struct {
	Type     string    `xml:"type,attr"`
	Device   string    `xml:"device,attr"`
	Driver   xDriver   `xml:"driver"`
	Source   xSource   `xml:"source"`
	Target   xTarget   `xml:"target"`
	Serial   string    `xml:"serial,omitempty"`
	ReadOnly *struct{} `xml:"readonly"`
}

type xDriver struct {
	Name  string `xml:"name,attr"`
	Type  string `xml:"type,attr"`
	Cache string `xml:"cache,attr,omitempty"`
	IO    string `xml:"io,attr,omitempty"`
}

type xSource struct {
	File   string `xml:"file,attr,omitempty"`
	Path   string `xml:"path,attr,omitempty"`
	Append string `xml:"append,attr,omitempty"`
}

type xTarget struct {
	Dev string `xml:"dev,attr"`
	Bus string `xml:"bus,attr"`
}

type xInterface struct {
	Type   string     `xml:"type,attr"`
	MAC    *xMAC      `xml:"mac"`
	Target *xIfTarget `xml:"target"`
	Model  xModel     `xml:"model"`
}

type xMAC struct {
	Address string `xml:"address,attr"`
}

type xIfTarget struct {
	Dev     string `xml:"dev,attr"`
	Managed string `xml:"managed,attr,omitempty"`
}

type xModel struct {
	Type string `xml:"type,attr"`
}

type xSerial struct {
	Type   string   `xml:"type,attr"`
	Source *xSource `xml:"source"`
}

type xChannel struct {
	Type   string      `xml:"type,attr"`
	Source xChanSource `xml:"source"`
	Target xChanTarget `xml:"target"`
}

type xChanSource struct {
	Mode string `xml:"mode,attr"`
	Path string `xml:"path,attr,omitempty"`
}

type xChanTarget struct {
	Type string `xml:"type,attr"`
	Name string `xml:"name,attr"`
}
