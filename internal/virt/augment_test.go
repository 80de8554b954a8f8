package virt

import (
	"strings"
	"testing"
)

// A production domain as virsh dumpxml writes it: UEFI with the team's
// NVRAM, a host CPU model, its root volume on virtio, a data volume, a
// cdrom, a NIC on a libvirt network, a pty console, the guest agent's
// channel, a passed-through device.
const production = `<domain type='kvm' id='7'>
  <name>web-01</name>
  <uuid>5b1c6a0e-3c1e-4d5a-9a35-2b8f0f3c7d11</uuid>
  <metadata><app xmlns="http://example.com/ops">keep me</app></metadata>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
    <nvram>/var/lib/libvirt/qemu/nvram/web-01_VARS.fd</nvram>
    <boot dev='hd'/>
  </os>
  <features><acpi/><apic/><vmport state='off'/></features>
  <cpu mode='host-model' check='partial'/>
  <seclabel type='dynamic' model='apparmor' relabel='yes'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='/var/lib/libvirt/images/web-01.qcow2'/>
      <backingStore/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw'/>
      <source dev='/dev/vg0/web-01-data'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/srv/iso/tools.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <source network='prod'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x3b' slot='0x00' function='0x1'/></source></hostdev>
    <memballoon model='virtio'/>
  </devices>
</domain>`

func TestAugmentKeepsTheTeamsDomainAndWritesNothingOfTheirs(t *testing.T) {
	d := Domain{
		Name: "vmbench-r-ours-1", Accel: "tcg", VCPUs: 9, MemoryB: 1 << 30,
		Overlay: "/tmp/i/overlay.qcow2", Seed: "/tmp/i/seed.iso", Scratch: "/scratch/disk.img", DiskCache: "none", DiskAIO: "native",
		Tap: "vmbench-t1", GuestIP: "10.200.3.2/24", ConsoleLog: "/runs/r/ours-console.log",
	}
	a, err := Augment([]byte(production), d)
	if err != nil {
		t.Fatal(err)
	}
	x := string(a.XML)
	if a.VCPUs != 2 || a.MemoryB != 2<<30 {
		t.Errorf("vcpus %d, memory %d: want the domain's own, 2 and 2 GiB", a.VCPUs, a.MemoryB)
	}
	for _, want := range []string{
		`<domain type="qemu"`, `<name>vmbench-r-ours-1</name>`, `keep me`, `machine="pc-q35-7.2"`, `OVMF_CODE_4M.fd`,
		`<vmport state="off"></vmport>`, `<cpu mode="maximum"></cpu>`, `<seclabel type="static" model="dac" relabel="no">`,
		`<on_reboot>destroy</on_reboot>`, `<source file="/tmp/i/overlay.qcow2"></source>`, `<target dev="vda" bus="virtio"></target>`,
		`<source file="/tmp/i/seed.iso"></source>`, `vmbench-scratch`, `<target dev="vmbench-t1" managed="no"></target>`,
		`<source path="/runs/r/ours-console.log" append="on"></source>`, `name="vmbench.agent"`, `org.qemu.guest_agent.0`,
		`<memballoon model="virtio"></memballoon>`,
	} {
		if !strings.Contains(x, want) {
			t.Errorf("augmented XML lacks %s:\n%s", want, x)
		}
	}
	for _, gone := range []string{"5b1c6a0e", "web-01", "/dev/vg0", "tools.iso", `network="prod"`, "nvram", "host-model", "apparmor", "hostdev", `type="pty"`, "backingStore", `on_reboot>restart`} {
		if strings.Contains(x, gone) {
			t.Errorf("augmented XML still has %s:\n%s", gone, x)
		}
	}
	// The seed and scratch disks get free targets: vdb is free again once
	// the data volume is gone, and no target is used twice.
	for _, dev := range []string{`dev="vda"`, `dev="vdb"`, `dev="vdc"`} {
		if strings.Count(x, dev) != 1 {
			t.Errorf("%s appears %d times:\n%s", dev, strings.Count(x, dev), x)
		}
	}
	changes := strings.Join(a.Changes, "; ")
	for _, want := range []string{"uuid dropped", "cpu mode host-model replaced by maximum (TCG)", "disk vda: the overlay of the image in place of /var/lib/libvirt/images/web-01.qcow2",
		"disk vdb (/dev/vg0/web-01-data) removed", "cdrom sda (/srv/iso/tools.iso) removed", "interface network prod removed", "hostdev removed", "nvram"} {
		if !strings.Contains(changes, want) {
			t.Errorf("changes lack %q: %s", want, changes)
		}
	}

	// Under KVM the team's CPU model stays.
	d.Accel = "kvm"
	if a, err = Augment([]byte(production), d); err != nil || !strings.Contains(string(a.XML), `<cpu mode="host-model" check="partial">`) || !strings.Contains(string(a.XML), `<domain type="kvm"`) {
		t.Errorf("under KVM: %v\n%s", err, a.XML)
	}
}

func TestAugmentRefusesWhatIsNotADomain(t *testing.T) {
	for text, want := range map[string]string{
		"<network><name>default</name></network>":                         "not a libvirt domain: its root element is <network>",
		"<domain><name>x</name>":                                          "not XML",
		"<domain><name>x</name><memory>1</memory><devices/></domain>":     "has no <vcpu> count",
		"<domain><vcpu>1</vcpu><memory unit='parsec'>1</memory></domain>": `unknown unit`,
	} {
		_, err := Augment([]byte(text), Domain{Name: "n", Overlay: "/o", Seed: "/s"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", text, err, want)
		}
	}
}
