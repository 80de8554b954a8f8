package hostnet

import (
	"net/netip"
	"testing"
)

// Two runs at once, or a network of the host's own, never share the
// bridge's subnet: the next free /24 is taken.
func TestFreeSubnetSkipsUsedOnes(t *testing.T) {
	used := []netip.Prefix{netip.MustParsePrefix("10.213.7.0/24"), netip.MustParsePrefix("10.213.8.0/23"), netip.MustParsePrefix("192.168.1.0/24")}
	p, err := freeSubnet(7, used)
	if err != nil || p.String() != "10.213.10.0/24" {
		t.Errorf("%v %v, want 10.213.10.0/24", p, err)
	}
	if p, err := freeSubnet(255, nil); err != nil || p.String() != "10.213.255.0/24" {
		t.Errorf("%v %v", p, err)
	}
	if _, err := freeSubnet(0, []netip.Prefix{netip.MustParsePrefix("10.213.0.0/16")}); err == nil {
		t.Error("a subnet inside a used /16")
	}
}
