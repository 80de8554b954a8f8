// Package hostnet is the host's side of the net workloads' paths: a run's
// own bridge, the network namespaces (with a veth on the bridge) that
// containers join, the taps of guests, and nftables NAT for published
// ports, all created with iproute2 and nft, named by result.LinkName, and
// removed at teardown or by vmbench cleanup. The container and vm
// platforms attach to it.
package hostnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmbench/vmbench/internal/result"
)

// Network is a run's own bridge, which the net workload's clients on the
// host reach each platform's server through: a container over a veth pair
// into its network namespace, a guest over a tap device. vmbench creates
// every link itself, named vmbench-…, with iproute2 (ip), and removes them
// at teardown; `vmbench cleanup` finds what a killed run left.
type Network struct {
	Bridge string       // the bridge's name
	Prefix netip.Prefix // the bridge's subnet; the host has its first address
	runID  string       // names its links (result.LinkName)
	mu     sync.Mutex
	next   int // host part of the next address handed out
}

// New creates the bridge of run runID, with the host at .1 of a /24
// in 10.213.0.0/16 that no interface or route of the host uses, the search
// starting at one chosen from the run id. Interface names are limited to
// 15 characters, so links are named from the run id's last 4 characters
// (which the runner keeps apart from every live run's: Tag).
func New(ctx context.Context, runID string) (*Network, error) {
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("the net workload needs iproute2's ip to build its bridge: apt-get install -y iproute2")
	}
	var third byte
	for _, c := range runID {
		third = third*31 + byte(c)
	}
	prefix, err := freeSubnet(third, usedPrefixes(ctx))
	if err != nil {
		return nil, err
	}
	n := &Network{
		Bridge: result.LinkName(runID, "b"),
		Prefix: prefix,
		runID:  runID,
		next:   2,
	}
	host := n.Prefix.Addr().Next()
	if err := ip(ctx, "link", "add", n.Bridge, "type", "bridge"); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"addr", "add", netip.PrefixFrom(host, 24).String(), "dev", n.Bridge},
		{"link", "set", n.Bridge, "up"},
	} {
		if err := ip(ctx, args...); err != nil {
			n.Close()
			return nil, err
		}
	}
	return n, nil
}

// TagInUse reports whether a link of the host already carries tag: a
// run whose id ends the same way would fail to make its bridge.
func TagInUse(tag string) bool {
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if strings.HasPrefix(i.Name, result.NamePrefix+tag) {
			return true
		}
	}
	return false
}

// freeSubnet is the first /24 of 10.213.0.0/16 from 10.213.start.0 on that
// overlaps none of used: two runs at once (1 in 256 from the run id alone)
// or a network of the host's own must not share a bridge's subnet.
func freeSubnet(start byte, used []netip.Prefix) (netip.Prefix, error) {
	for k := range 256 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, start + byte(k), 0}), 24)
		if !slices.ContainsFunc(used, p.Overlaps) {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("every /24 of 10.213.0.0/16 is in use on this host: the net workloads' bridge has no subnet")
}

// usedPrefixes are the host's IPv4 networks (of its addresses and routes)
// of /16 or narrower: a wider one (a default route, a 10.0.0.0/8 of a
// VPN) is shadowed by the bridge's own /24 route, not taken by it.
func usedPrefixes(ctx context.Context) []netip.Prefix {
	var used []netip.Prefix
	add := func(p netip.Prefix) {
		if p.Addr().Is4() && p.Bits() >= 16 {
			used = append(used, p.Masked())
		}
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			add(p)
		}
	}
	out, _ := exec.CommandContext(ctx, "ip", "-4", "route", "show", "table", "all").Output()
	for _, line := range strings.Split(string(out), "\n") {
		dst, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if p, err := netip.ParsePrefix(dst); err == nil {
			add(p)
		}
	}
	return used
}

// Host is the host's address on the bridge.
func (n *Network) Host() netip.Addr { return n.Prefix.Addr().Next() }

// allocate hands out the next address on the bridge.
func (n *Network) allocate() (netip.Prefix, int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.next > 254 {
		return netip.Prefix{}, 0, fmt.Errorf("bridge %s: no addresses left", n.Bridge)
	}
	a := n.Prefix.Addr().As4()
	a[3] = byte(n.next)
	n.next++
	return netip.PrefixFrom(netip.AddrFrom4(a), 24), int(a[3]), nil
}

// Namespace is a network namespace plugged into the bridge by a veth pair,
// for containers.
type Namespace struct {
	Name string       // ip netns name; its path is Path()
	Addr netip.Prefix // eth0's address inside
	veth string
}

// Path is the namespace's file, for the OCI spec.
func (ns *Namespace) Path() string { return "/run/netns/" + ns.Name }

// NewNamespace creates a namespace named after the run and platform with
// eth0 on the bridge and lo up.
func (n *Network) NewNamespace(ctx context.Context, runID, platform string) (*Namespace, error) {
	addr, k, err := n.allocate()
	if err != nil {
		return nil, err
	}
	ns := &Namespace{Name: result.Name(runID, platform), Addr: addr, veth: result.LinkName(n.runID, "v"+strconv.Itoa(k))}
	if err := ip(ctx, "netns", "add", ns.Name); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"link", "add", ns.veth, "type", "veth", "peer", "name", "eth0", "netns", ns.Name},
		{"link", "set", ns.veth, "master", n.Bridge, "up"},
		{"-n", ns.Name, "addr", "add", addr.String(), "dev", "eth0"},
		{"-n", ns.Name, "link", "set", "eth0", "up"},
		{"-n", ns.Name, "link", "set", "lo", "up"},
	} {
		if err := ip(ctx, args...); err != nil {
			ns.Close()
			return nil, err
		}
	}
	return ns, nil
}

// Close deletes the namespace, which takes its veth pair with it.
func (ns *Namespace) Close() error { return DeleteNamespace(ns.Name) }

// Published is a namespace's servers published on the host as Docker's
// -p does without its userland proxy: connections to a host address are
// rewritten (DNAT, with conntrack) to the namespace's own address by an
// nftables table of vmbench's. Each published namespace has a host address
// of its own on the bridge, so its rule catches no other platform's
// traffic, and every TCP port is published.
type Published struct {
	Addr  netip.Addr // the host address clients connect to
	Table string     // the nftables table (family ip) holding the rules
	dev   string
}

// Publish gives ns a host address of its own on the bridge and rewrites
// TCP connections to it, from the host (nat output) or from outside (nat
// prerouting), to ns's address.
func (n *Network) Publish(ctx context.Context, ns *Namespace) (*Published, error) {
	nft, err := exec.LookPath("nft")
	if err != nil {
		return nil, fmt.Errorf("nat needs nftables' nft for its DNAT rules: apt-get install -y nftables")
	}
	addr, k, err := n.allocate()
	if err != nil {
		return nil, err
	}
	p := &Published{Addr: addr.Addr(), Table: result.LinkName(n.runID, "n"+strconv.Itoa(k)), dev: n.Bridge}
	if err := ip(ctx, "addr", "add", netip.PrefixFrom(p.Addr, 32).String(), "dev", n.Bridge); err != nil {
		return nil, err
	}
	rule := fmt.Sprintf("ip daddr %s meta l4proto tcp dnat to %s", p.Addr, ns.Addr.Addr())
	ruleset := fmt.Sprintf("table ip %s {\n"+
		"\tchain output { type nat hook output priority -100; %s; }\n"+
		"\tchain prerouting { type nat hook prerouting priority -100; %s; }\n}\n", p.Table, rule, rule)
	cmd := cLocale(ctx, nft, "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.Close()
		return nil, fmt.Errorf("nft -f - (table %s): %v: %s", p.Table, err, strings.TrimSpace(string(out)))
	}
	return p, nil
}

// Close deletes the table and the host address.
func (p *Published) Close() error {
	// The bridge, or the address, may be gone already.
	return errors.Join(DeleteTable(p.Table),
		ipUndo([]string{"addr", "del", netip.PrefixFrom(p.Addr, 32).String(), "dev", p.dev}, "Cannot find device", "Cannot assign"))
}

// Tables lists the nftables tables (family ip) whose names start with
// prefix, for `vmbench cleanup`; none when nft is not installed.
func Tables(ctx context.Context, prefix string) []string {
	out, err := cLocale(ctx, "nft", "list", "tables", "ip").Output()
	if err != nil {
		return nil
	}
	var tables []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "table" && strings.HasPrefix(f[2], prefix) {
			tables = append(tables, f[2])
		}
	}
	return tables
}

// DeleteTable deletes an nftables table of family ip; one that is already
// gone is fine.
func DeleteTable(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := cLocale(ctx, "nft", "delete", "table", "ip", name).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "No such file or directory") {
		return fmt.Errorf("nft delete table ip %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Tap is a tap device on the bridge, for a guest, and the address the
// guest takes.
type Tap struct {
	Name      string
	GuestAddr netip.Prefix
}

// NewTap creates a tap device on the bridge.
func (n *Network) NewTap(ctx context.Context) (*Tap, error) {
	addr, k, err := n.allocate()
	if err != nil {
		return nil, err
	}
	t := &Tap{Name: result.LinkName(n.runID, "t"+strconv.Itoa(k)), GuestAddr: addr}
	if err := ip(ctx, "tuntap", "add", "dev", t.Name, "mode", "tap"); err != nil {
		return nil, err
	}
	if err := ip(ctx, "link", "set", t.Name, "master", n.Bridge, "up"); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Close deletes the tap device.
func (t *Tap) Close() error { return DeleteLink(t.Name) }

// Close deletes the bridge.
func (n *Network) Close() error { return DeleteLink(n.Bridge) }

// DeleteLink deletes a network link; one that is already gone is fine.
func DeleteLink(name string) error {
	return ipUndo([]string{"link", "del", name}, "Cannot find device")
}

// Links lists the network links and namespaces whose names start with
// prefix, for `vmbench cleanup`.
func Links(ctx context.Context, prefix string) (links, namespaces []string) {
	if out, err := cLocale(ctx, "ip", "-o", "link", "show").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			if strings.HasPrefix(name, prefix) {
				links = append(links, name)
			}
		}
	}
	if out, err := cLocale(ctx, "ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], prefix) {
				namespaces = append(namespaces, f[0])
			}
		}
	}
	return links, namespaces
}

// DeleteNamespace deletes a network namespace by name.
func DeleteNamespace(name string) error {
	return ipUndo([]string{"netns", "del", name})
}

// ipUndo runs ip to remove something, under a timeout of its own: teardown
// runs also after the run's context is cancelled. An error that says it is
// gone already (contains one of gone) is none.
func ipUndo(args []string, gone ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := ip(ctx, args...)
	if err != nil && slices.ContainsFunc(gone, func(g string) bool { return strings.Contains(err.Error(), g) }) {
		return nil
	}
	return err
}

// ip runs iproute2's ip with args.
func ip(ctx context.Context, args ...string) error {
	out, err := cLocale(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// cLocale is a command of iproute2 or nftables whose messages are in
// English whatever the user's locale: "already gone" is told from their
// text (ip and nft have no distinct exit codes for it).
func cLocale(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}
