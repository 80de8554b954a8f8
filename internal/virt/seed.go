package virt

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/safefs"
)

// SeedLabel is the volume label cloud-init's NoCloud datasource looks for.
const SeedLabel = "cidata"

// userData starts the agent from the seed disk as a transient systemd
// unit, queued by cloud-init's first stage (bootcmd) without waiting for
// it (cloud-init runs before sysinit.target, which the unit comes after),
// to start once the guest has booted (multi-user.target): the guest is
// ready when its agent is, as an ops team's VM is when it has booted. Its
// messages go to the console (the run's console log).
// Argument vectors, no shell; nothing in it comes from the scenario.
const userData = `#cloud-config
bootcmd:
  - [mkdir, -p, /run/vmbench/seed]
  - [mount, -o, ro, /dev/disk/by-label/` + SeedLabel + `, /run/vmbench/seed]
  - [systemd-run, --no-block, --unit=vmbench-agent, --collect, --property=After=multi-user.target, --property=StandardError=journal+console, /run/vmbench/seed/vmbench, agent, guest]
`

// Seed writes the NoCloud seed disk of a guest into dir as seed.iso: its
// meta-data (instance id and host name: name), the user-data above, a
// network-config giving the NIC with guestIP's MAC address that address
// (guestIP "": none), and the agent, the static vmbench binary. It
// returns the image's path.
func Seed(ctx context.Context, dir, name, binary, guestIP string) (string, error) {
	iso, err := exec.LookPath("genisoimage")
	if err != nil {
		return "", fmt.Errorf("genisoimage not found: it makes the guests' cloud-init seed disks; install it (apt-get install -y genisoimage)")
	}
	files := map[string]string{
		"meta-data": fmt.Sprintf("instance-id: %s\nlocal-hostname: %s\n", name, name),
		"user-data": userData,
	}
	if guestIP != "" {
		files["network-config"] = fmt.Sprintf("version: 2\nethernets:\n  nic0:\n    match:\n      macaddress: %q\n    addresses: [%q]\n", kvm.MAC(guestIP), guestIP)
	}
	args := []string{"-quiet", "-output", filepath.Join(dir, "seed.iso"), "-volid", SeedLabel, "-joliet", "-rock", "-graft-points"}
	for _, f := range []string{"meta-data", "user-data", "network-config"} {
		body, ok := files[f]
		if !ok {
			continue
		}
		if err := safefs.WriteFile(dir, f, []byte(body), 0o600); err != nil {
			return "", err
		}
		args = append(args, f+"="+graftPath(filepath.Join(dir, f)))
	}
	args = append(args, "vmbench="+graftPath(binary))
	out, err := exec.CommandContext(ctx, iso, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("make the cloud-init seed disk: genisoimage: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return filepath.Join(dir, "seed.iso"), nil
}

// graftPath escapes a path for genisoimage's -graft-points, where '='
// separates the name in the image from the path.
func graftPath(p string) string { return strings.NewReplacer(`\`, `\\`, `=`, `\=`).Replace(p) }
