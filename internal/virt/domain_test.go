package virt

import (
	"encoding/xml"
	"strings"
	"testing"
)

// The generated XML is what libvirt will be given: a q35 domain with the
// overlay, the read-only seed, the scratch disk with its serial, the NIC
// on vmbench's tap with the MAC the seed's network-config names, the agent
// channel, QEMU as root without relabelling, and no path that escapes its
// attribute.
func TestDomainXML(t *testing.T) {
	d := Domain{
		Name: "vmbench-r-ours-1", Accel: "tcg", VCPUs: 2, MemoryB: 1 << 30, Pin: []int{1, 0},
		Overlay: "/tmp/a'b\"<c>/overlay.qcow2", Seed: "/tmp/x/seed.iso",
		Scratch: "/scratch/disk.img", DiskCache: "none", DiskAIO: "native",
		Tap: "vmbench-t1", GuestIP: "10.200.3.2/24", ConsoleLog: "/runs/r/ours-console.log",
	}
	b, err := d.XML()
	if err != nil {
		t.Fatal(err)
	}
	x := string(b)
	for _, want := range []string{
		`<domain type="qemu">`, `<name>vmbench-r-ours-1</name>`, `<memory unit="KiB">1048576</memory>`, `<vcpu>2</vcpu>`,
		`<vcpupin vcpu="0" cpuset="1"></vcpupin>`, `<vcpupin vcpu="1" cpuset="0"></vcpupin>`,
		`<seclabel type="static" model="dac" relabel="no">`, `<type arch="x86_64" machine="q35">hvm</type>`, `<boot dev="hd"></boot>`,
		`<cpu mode="maximum"></cpu>`, `<on_poweroff>destroy</on_poweroff>`,
		`<source file="/tmp/a&#39;b&#34;&lt;c&gt;/overlay.qcow2"></source>`,
		`<driver name="qemu" type="raw" cache="none" io="native"></driver>`, `<serial>vmbench-scratch</serial>`,
		`<mac address="52:54:0a:c8:03:02"></mac>`, `<target dev="vmbench-t1" managed="no"></target>`,
		`<source path="/runs/r/ours-console.log" append="on"></source>`,
		`<target type="virtio" name="vmbench.agent"></target>`,
	} {
		if !strings.Contains(x, want) {
			t.Errorf("XML lacks %s:\n%s", want, x)
		}
	}
	if strings.Contains(x, "<kernel>") || strings.Count(x, "<readonly></readonly>") != 1 {
		t.Errorf("boots from the image's bootloader with one read-only disk (the seed):\n%s", x)
	}
	var back xDomain
	if err := xml.Unmarshal(b, &back); err != nil || back.Devices.Disks[0].Source.File != d.Overlay {
		t.Errorf("round trip: %v, %+v", err, back.Devices.Disks)
	}

	d.Accel, d.Kernel, d.Initrd, d.KernelArgs, d.Tap, d.Scratch, d.Pin = "kvm", "/k/vmlinuz", "/k/initrd.img", "root=/dev/vda console=ttyS0", "", "", nil
	b, _ = d.XML()
	x = string(b)
	for _, want := range []string{`<domain type="kvm">`, `<cpu mode="host-passthrough"></cpu>`, `<kernel>/k/vmlinuz</kernel>`, `<initrd>/k/initrd.img</initrd>`, `<cmdline>root=/dev/vda console=ttyS0</cmdline>`} {
		if !strings.Contains(x, want) {
			t.Errorf("XML lacks %s:\n%s", want, x)
		}
	}
	for _, not := range []string{"<boot", "<interface", "<cputune", "vmbench-scratch"} {
		if strings.Contains(x, not) {
			t.Errorf("XML has %s:\n%s", not, x)
		}
	}
}

// The agent's socket is found in libvirt's live XML, where libvirt put it.
func TestAgentSocket(t *testing.T) {
	live := `<domain type='qemu' id='3'><name>n</name><devices>
  <channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-3-n/org.qemu.guest_agent.0'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
  <channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-3-n/vmbench.agent'/><target type='virtio' name='vmbench.agent' state='disconnected'/></channel>
</devices></domain>`
	if got := AgentSocket(live); got != "/var/lib/libvirt/qemu/channel/target/domain-3-n/vmbench.agent" {
		t.Errorf("AgentSocket = %q", got)
	}
	if got := AgentSocket("<domain><devices/></domain>"); got != "" {
		t.Errorf("AgentSocket of a domain without the channel = %q", got)
	}
}
