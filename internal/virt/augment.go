package virt

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// node is an XML element kept whole: a team's own domain XML passes
// through with every element and attribute vmbench does not touch.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []*node    `xml:",any"`
}

func (n *node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *node) setAttr(name, value string) {
	for i, a := range n.Attrs {
		if a.Name.Local == name {
			n.Attrs[i].Value = value
			return
		}
	}
	n.Attrs = append(n.Attrs, xml.Attr{Name: xml.Name{Local: name}, Value: value})
}

func (n *node) child(name string) *node {
	for _, c := range n.Nodes {
		if c.XMLName.Local == name {
			return c
		}
	}
	return nil
}

// drop removes the children for which gone is true, and returns them.
func (n *node) drop(gone func(*node) bool) []*node {
	var kept, dropped []*node
	for _, c := range n.Nodes {
		if gone(c) {
			dropped = append(dropped, c)
		} else {
			kept = append(kept, c)
		}
	}
	n.Nodes = kept
	return dropped
}

// set replaces the children called name by one holding text.
func (n *node) set(name, text string) {
	n.drop(func(c *node) bool { return c.XMLName.Local == name })
	n.Nodes = append(n.Nodes, &node{XMLName: xml.Name{Local: name}, Text: text})
}

// trim drops the whitespace between child elements: MarshalIndent puts
// its own.
func (n *node) trim() {
	if len(n.Nodes) > 0 {
		n.Text = strings.TrimSpace(n.Text)
	}
	for _, c := range n.Nodes {
		c.trim()
	}
}

// Augmented is a team's domain XML as vmbench runs it, and what it
// changed.
type Augmented struct {
	XML     []byte
	VCPUs   int
	MemoryB int64
	Changes []string // what vmbench replaced or removed, for run.json
}

// Augment makes a team's own domain XML (virsh dumpxml of a production VM)
// the domain d: it keeps the machine, CPU model (under KVM), vCPUs,
// memory, features and devices as they are, and gives it only what
// vmbench needs:
//   - its name, with the UUID dropped (libvirt makes one);
//   - the overlay of d's image as the first disk, on that disk's bus and
//     target; the other disks and file systems are removed, so that no
//     volume of the team's is written;
//   - the seed, scratch and tools disks, on free virtio targets;
//   - its console, and the agent's channel;
//   - its NIC on vmbench's bridge in place of the team's NICs (none when the
//     run has no bridge);
//   - QEMU as root without relabelling, and destroy on power-off;
//   - under TCG, the CPU model QEMU can emulate (a host CPU model needs
//     KVM);
//   - a UEFI firmware's NVRAM libvirt keeps for the domain, not the team's.
//
// Passed-through host devices are removed: another VM may hold them.
func Augment(base []byte, d Domain) (Augmented, error) {
	var root node
	if err := xml.Unmarshal(base, &root); err != nil {
		return Augmented{}, fmt.Errorf("not XML: %w", err)
	}
	if root.XMLName.Local != "domain" {
		return Augmented{}, fmt.Errorf("not a libvirt domain: its root element is <%s>, not <domain> (virsh dumpxml NAME writes one)", root.XMLName.Local)
	}
	root.trim()
	ours, err := d.ownXML()
	if err != nil {
		return Augmented{}, err
	}
	var own node
	if err := xml.Unmarshal(ours, &own); err != nil {
		return Augmented{}, err
	}
	var a Augmented
	note := func(format string, args ...any) { a.Changes = append(a.Changes, fmt.Sprintf(format, args...)) }

	root.setAttr("type", own.attr("type"))
	root.set("name", d.Name)
	if len(root.drop(func(c *node) bool { return c.XMLName.Local == "uuid" })) > 0 {
		note("uuid dropped")
	}
	root.drop(func(c *node) bool { return c.XMLName.Local == "seclabel" })
	root.Nodes = append(root.Nodes, own.child("seclabel"))
	for _, ev := range []string{"on_poweroff", "on_reboot", "on_crash"} {
		root.set(ev, "destroy")
	}
	if d.Accel != "kvm" {
		if cpu := root.child("cpu"); cpu != nil && cpu.attr("mode") != "custom" && cpu.attr("mode") != "maximum" {
			note("cpu mode %s replaced by maximum (TCG)", cpu.attr("mode"))
			root.drop(func(c *node) bool { return c.XMLName.Local == "cpu" })
			root.Nodes = append(root.Nodes, own.child("cpu"))
		}
	}
	if osNode := root.child("os"); osNode != nil {
		if len(osNode.drop(func(c *node) bool { return c.XMLName.Local == "nvram" })) > 0 {
			note("nvram: libvirt's own for this domain")
		}
		if d.Kernel != "" {
			osNode.drop(func(c *node) bool {
				return slices.Contains([]string{"kernel", "initrd", "cmdline", "boot"}, c.XMLName.Local)
			})
			osNode.Nodes = append(osNode.Nodes, own.child("os").Nodes[1:]...)
		}
	}
	if pins := own.child("cputune"); pins != nil {
		root.drop(func(c *node) bool { return c.XMLName.Local == "cputune" })
		root.Nodes = append(root.Nodes, pins)
	}

	devices := root.child("devices")
	if devices == nil {
		devices = &node{XMLName: xml.Name{Local: "devices"}}
		root.Nodes = append(root.Nodes, devices)
	}
	ownDevices := own.child("devices")
	// The team's root disk becomes the overlay, on its own bus and target.
	var rootDisk *node
	for _, c := range devices.Nodes {
		if c.XMLName.Local == "disk" && c.attr("device") == "disk" {
			rootDisk = c
			break
		}
	}
	removed := devices.drop(func(c *node) bool {
		switch c.XMLName.Local {
		case "disk":
			return c != rootDisk
		case "filesystem", "interface", "serial", "console", "hostdev":
			return true
		case "channel":
			t := c.child("target")
			return t != nil && t.attr("name") == ownChannel(ownDevices)
		}
		return false
	})
	for _, c := range removed {
		if what := describe(c); what != "" {
			note("%s removed", what)
		}
	}
	ownDisks := ownDevices.drop(func(c *node) bool { return c.XMLName.Local == "disk" })
	used := map[string]bool{}
	if rootDisk != nil {
		note("disk %s: the overlay of the image in place of %s", target(rootDisk), sourceOf(rootDisk))
		rootDisk.setAttr("type", "file")
		rootDisk.drop(func(c *node) bool {
			return slices.Contains([]string{"source", "backingStore", "driver"}, c.XMLName.Local)
		})
		rootDisk.Nodes = append(rootDisk.Nodes, ownDisks[0].child("driver"), ownDisks[0].child("source"))
		if t := rootDisk.child("target"); t != nil {
			used[t.attr("dev")] = true
		}
	} else {
		devices.Nodes = append(devices.Nodes, ownDisks[0])
		used[target(ownDisks[0])] = true
	}
	for _, disk := range ownDisks[1:] {
		t := disk.child("target")
		for dev := 'b'; used[t.attr("dev")] && dev <= 'z'; dev++ {
			t.setAttr("dev", "vd"+string(dev))
		}
		used[t.attr("dev")] = true
		devices.Nodes = append(devices.Nodes, disk)
	}
	devices.Nodes = append(devices.Nodes, ownDevices.Nodes...)

	if v := root.child("vcpu"); v != nil {
		a.VCPUs, _ = strconv.Atoi(strings.TrimSpace(v.Text))
	}
	if a.VCPUs < 1 {
		return Augmented{}, fmt.Errorf("has no <vcpu> count")
	}
	m := root.child("memory")
	if m == nil {
		return Augmented{}, fmt.Errorf("has no <memory>")
	}
	if a.MemoryB, err = memoryBytes(m.attr("unit"), strings.TrimSpace(m.Text)); err != nil {
		return Augmented{}, err
	}
	var out bytes.Buffer
	enc := xml.NewEncoder(&out)
	enc.Indent("", "  ")
	if err := enc.Encode(&root); err != nil {
		return Augmented{}, err
	}
	a.XML = out.Bytes()
	return a, nil
}

func ownChannel(devices *node) string {
	for _, c := range devices.Nodes {
		if c.XMLName.Local == "channel" {
			return c.child("target").attr("name")
		}
	}
	return ""
}

func target(disk *node) string {
	if t := disk.child("target"); t != nil {
		return t.attr("dev")
	}
	return "?"
}

func sourceOf(disk *node) string {
	if s := disk.child("source"); s != nil {
		for _, k := range []string{"file", "dev", "volume", "name"} {
			if v := s.attr(k); v != "" {
				return v
			}
		}
	}
	return "no source"
}

// describe names a removed device for run.json; "" for those vmbench
// replaces with its own as a matter of course (consoles).
func describe(c *node) string {
	switch c.XMLName.Local {
	case "disk":
		return fmt.Sprintf("%s %s (%s)", c.attr("device"), target(c), sourceOf(c))
	case "interface":
		if s := c.child("source"); s != nil {
			for _, k := range []string{"network", "bridge", "dev"} {
				if v := s.attr(k); v != "" {
					return fmt.Sprintf("interface %s %s", c.attr("type"), v)
				}
			}
		}
		return "interface " + c.attr("type")
	case "filesystem", "hostdev":
		return c.XMLName.Local
	}
	return ""
}

// memoryBytes reads a libvirt size (<memory unit='KiB'>…).
func memoryBytes(unit, value string) (int64, error) {
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("<memory>%s</memory>: not a number", value)
	}
	scale := map[string]int64{"": 1 << 10, "b": 1, "bytes": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1000,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6, "g": 1 << 30, "gib": 1 << 30, "gb": 1e9, "t": 1 << 40, "tib": 1 << 40, "tb": 1e12}
	f, ok := scale[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("<memory unit=%q>: unknown unit", unit)
	}
	return n * f, nil
}
