package remote_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/testagent"
	"github.com/vmbench/vmbench/internal/virt"
)

// The real case: a VM vmbench did not boot and does not manage — the
// cloud image of the libvirt tests, booted here by the test as an ops
// team's VM would be, with sshd, root's key and a pinned host key from
// its own cloud-init seed, reached through QEMU's user network — measured
// as a remote machine of kind vm beside native and runc.
func TestCloudImageGuestOverSSH(t *testing.T) {
	need(t)
	img := os.Getenv("VMBENCH_TEST_CLOUD_IMAGE")
	if img == "" {
		if os.Getenv("VMBENCH_TEST_LIBVIRT") == "1" {
			t.Fatal("VMBENCH_TEST_CLOUD_IMAGE is not set: scripts/cloud-image.sh builds the image and prints its directory")
		}
		t.Skip("no test cloud image (VMBENCH_TEST_CLOUD_IMAGE; scripts/test.sh sets it)")
	}
	l, err := virt.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Disconnect()
	dir := t.TempDir()
	testagent.SSHKeys(t, dir)
	port := freePort(t)
	overlay := filepath.Join(dir, "overlay.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", filepath.Join(img, "disk.qcow2"), overlay).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, out)
	}
	seed := guestSeed(t, dir)
	d := virt.Domain{
		Name: fmt.Sprintf("remote-test-guest-%d", os.Getpid()), VCPUs: 1, MemoryB: 1 << 30, Accel: "tcg",
		Kernel: filepath.Join(img, "vmlinuz"), Initrd: filepath.Join(img, "initrd.img"), KernelArgs: "root=/dev/vda console=ttyS0",
		ConsoleLog: filepath.Join(dir, "console.log"), Overlay: overlay, Seed: seed,
	}
	x, err := d.XML()
	if err != nil {
		t.Fatal(err)
	}
	// A NIC on QEMU's user network, its port 22 forwarded to loopback
	// here: the VM's network is not vmbench's.
	xml := strings.Replace(string(x), `<domain type="qemu">`, `<domain type="qemu" xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0">`, 1)
	xml = strings.Replace(xml, "</domain>", fmt.Sprintf(`<qemu:commandline>
    <qemu:arg value="-netdev"/><qemu:arg value="user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22"/>
    <qemu:arg value="-device"/><qemu:arg value="virtio-net-pci,netdev=n0,bus=pcie.0,addr=0x10"/>
  </qemu:commandline>
</domain>`, port), 1)
	dom, err := l.DomainCreateXML(xml, libvirt.DomainStartAutodestroy)
	if err != nil {
		t.Fatal(err)
	}
	defer l.DomainDestroy(dom)
	hostKey, _ := os.ReadFile(filepath.Join(dir, "hostkey.pub"))
	os.WriteFile(filepath.Join(dir, "known_hosts"), fmt.Appendf(nil, "[127.0.0.1]:%d %s", port, hostKey), 0o600)
	conf := filepath.Join(dir, "ssh_config")
	os.WriteFile(conf, fmt.Appendf(nil, "Host guest\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s/key\n  IdentitiesOnly yes\n  UserKnownHostsFile %s/known_hosts\n", port, dir, dir), 0o600)
	// Booted, cloud-init done, sshd up: about a minute under TCG.
	start := time.Now()
	for {
		if exec.Command("ssh", "-F", conf, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "guest", "true").Run() == nil {
			break
		}
		if time.Since(start) > 8*time.Minute {
			b, _ := os.ReadFile(d.ConsoleLog)
			t.Fatalf("the guest's sshd did not answer within 8 min; console:\n%s", b)
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("the guest answered over SSH %.0fs after its domain was created", time.Since(start).Seconds())

	text := fmt.Sprintf(`version: 1
name: guest
repetitions: 2
warmup: 0
timeout: 5m
platforms:
  - {name: native, type: native}
  - {name: runc, type: container, runtime: runc}
  - {name: guest, type: remote, host: guest, kind: vm, ssh_config: %s, connect_timeout: 2m}
workloads:
  - {type: cpu, params: {duration: 300ms}}
  - {type: syscall, params: {duration: 300ms}}
  - {type: startup}
`, conf)
	_, info, samples := run(t, text)
	var g result.PlatformInfo
	for _, p := range info.Platforms {
		if p.Name == "guest" {
			g = p
		}
	}
	if g.Error != "" {
		t.Fatalf("guest did not start: %s", g.Error)
	}
	// What the guest says of itself: the cloud kernel, one CPU, and a
	// hypervisor as cpuid and systemd see one.
	if !strings.Contains(g.Info["machine_kernel"], "cloud-amd64") || g.Info["machine_cores"] != "1" || g.Info["machine_virt_cpuid"] != "hypervisor flag set" || g.Info["machine_virt_systemd"] != "qemu" {
		t.Errorf("the guest's identity: %v", g.Info)
	}
	measured := map[string]bool{}
	for _, s := range samples {
		if s.Platform != "guest" {
			continue
		}
		if s.Error != "" {
			t.Errorf("guest %s trial %d: %s", s.Workload, s.Trial, s.Error)
			continue
		}
		measured[s.Workload] = true
	}
	for _, w := range []string{"cpu", "syscall", "startup"} {
		if !measured[w] {
			t.Errorf("no %s trial measured in the guest", w)
		}
	}
	// Nothing is left in the guest: its placement, and any agent.
	out, err := exec.Command("ssh", "-F", conf, "-o", "BatchMode=yes", "guest", "ls -d "+g.Info["placement"]+" 2>&1; pgrep -ax vmbench; runc list -q").CombinedOutput()
	if !strings.Contains(string(out), "No such file") || strings.Contains(string(out), "vmbench ") || strings.Contains(string(out), "vmbench-remote-") {
		t.Errorf("left in the guest (%v): %s", err, out)
	}
}

// guestSeed writes the guest's NoCloud seed: root logs in with the test's
// key, and sshd's host key is the test's, pinned in known_hosts.
func guestSeed(t *testing.T, dir string) string {
	t.Helper()
	key, _ := os.ReadFile(filepath.Join(dir, "key.pub"))
	hostPriv, _ := os.ReadFile(filepath.Join(dir, "hostkey"))
	hostPub, _ := os.ReadFile(filepath.Join(dir, "hostkey.pub"))
	indent := func(s string) string { return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ") }
	userData := fmt.Sprintf(`#cloud-config
users: []
disable_root: false
ssh_authorized_keys:
  - %s
ssh_deletekeys: true
ssh_genkeytypes: []
ssh_keys:
  ed25519_private: |
%s
  ed25519_public: %s
`, strings.TrimSpace(string(key)), indent(string(hostPriv)), strings.TrimSpace(string(hostPub)))
	seedDir := filepath.Join(dir, "seed")
	os.Mkdir(seedDir, 0o700)
	os.WriteFile(filepath.Join(seedDir, "meta-data"), []byte("instance-id: remote-test\nlocal-hostname: guest\n"), 0o600)
	os.WriteFile(filepath.Join(seedDir, "user-data"), []byte(userData), 0o600)
	iso := filepath.Join(dir, "seed.iso")
	if out, err := exec.Command("genisoimage", "-quiet", "-output", iso, "-volid", virt.SeedLabel, "-joliet", "-rock", seedDir).CombinedOutput(); err != nil {
		t.Fatalf("genisoimage: %v: %s", err, out)
	}
	return iso
}

func freePort(t *testing.T) int {
	t.Helper()
	for p := 20000 + os.Getpid()%20000; ; p++ {
		if out, _ := exec.Command("ss", "-Htln", fmt.Sprintf("sport = :%d", p)).Output(); len(strings.TrimSpace(string(out))) == 0 {
			return p
		}
	}
}
