package virt_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/runner"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/testagent"
	"github.com/vmbench/vmbench/internal/virt"
)

var agentBinary string

func TestMain(m *testing.M) { testagent.Main(m.Run, &agentBinary) }

// cloudImage is the test image scripts/cloud-image.sh built (the README's
// test command builds it and names its directory in
// VMBENCH_TEST_CLOUD_IMAGE), and libvirtd must answer. Under
// VMBENCH_TEST_LIBVIRT=1, as in CI, a missing one fails the test.
func cloudImage(t *testing.T) string {
	t.Helper()
	need := os.Getenv("VMBENCH_TEST_LIBVIRT") == "1"
	dir := os.Getenv("VMBENCH_TEST_CLOUD_IMAGE")
	if dir == "" {
		if need {
			t.Fatal("VMBENCH_TEST_CLOUD_IMAGE is not set: scripts/cloud-image.sh builds the image and prints its directory")
		}
		t.Skip("no test cloud image (VMBENCH_TEST_CLOUD_IMAGE; scripts/test.sh sets it)")
	}
	l, err := virt.Connect()
	if err != nil {
		if need {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	l.Disconnect()
	return dir
}

// platform is the libvirt guest of the tests: the cloud image, booted
// directly from its own kernel, one vCPU under TCG. extra is more of its
// keys; without domain_xml among them, it sets vcpus and memory.
func platform(dir, extra string) string {
	if !strings.Contains(extra, "domain_xml:") {
		extra = "    vcpus: 1\n    memory: 1GiB\n" + extra
	}
	return `  - name: ours
    type: vm
    manager: libvirt
    image: ` + filepath.Join(dir, "disk.qcow2") + `
    kernel: ` + filepath.Join(dir, "vmlinuz") + `
    initrd: ` + filepath.Join(dir, "initrd.img") + `
    kernel_args: root=/dev/vda console=ttyS0
    accel: tcg
    boot_timeout: 10m
` + extra
}

// production is a team's domain as virsh dumpxml gives it: its own
// volume, a host CPU model, a NIC on a network this host lacks, a pty
// console. vmbench boots it on the overlay of the test image.
const production = `<domain type='kvm'>
  <name>web-01</name>
  <uuid>5b1c6a0e-3c1e-4d5a-9a35-2b8f0f3c7d11</uuid>
  <memory unit='KiB'>1048576</memory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <cpu mode='host-model'/>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/web-01.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'><source network='prod'/><model type='virtio'/></interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='virtio'/>
  </devices>
</domain>
`

func run(t *testing.T, text string) (string, []result.Sample) {
	t.Helper()
	s, err := scenario.Load("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	dir, err := runner.Run(context.Background(), runner.Options{Scenario: s, ScenarioText: []byte(text), ResultsDir: t.TempDir(), Binary: agentBinary, Log: &log})
	t.Logf("run log:\n%s", log.String())
	if dir == "" {
		t.Fatalf("no run directory: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "ours-console.log"))
			t.Logf("console log:\n%s", b)
		}
	})
	if err != nil {
		t.Error(err)
	}
	samples, err := result.ReadSamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, samples
}

// A Debian cloud image under libvirt beside native and runc: cpu, memory,
// system calls, disk, net and startup run in the guest's own runc, every
// sample of the guest names its manager and image, its boot phases and
// its domain XML are stored, the image is not written, and nothing is
// left in libvirt or on disk.
func TestCloudImageUnderLibvirt(t *testing.T) {
	dir := cloudImage(t)
	image := filepath.Join(dir, "disk.qcow2")
	before := digest(t, image)
	runDir, samples := run(t, `version: 1
name: ops
repetitions: 1
warmup: 0
timeout: 5m
platforms:
  - {name: native, type: native}
  - {name: box, type: container, runtime: runc}
`+platform(dir, "")+`workloads:
  - {type: cpu, params: {duration: 300ms}}
  - {type: memory, params: {duration: 200ms, size: 16MiB}}
  - {type: syscall, params: {duration: 200ms, kind: pipe}}
  - {type: disk, params: {op: write, size: 8MiB, duration: 200ms}}
  - {type: net, params: {mode: rr, duration: 200ms}}
  - {type: startup}
`)
	ran := map[string]bool{}
	for _, x := range samples {
		if x.Platform != "ours" {
			continue
		}
		if x.Error != "" {
			t.Errorf("%s on ours: %s", x.Workload, x.Error)
			continue
		}
		ran[x.Workload] = true
		if x.Conditions["manager"] != "libvirt" || !strings.HasPrefix(x.Conditions["image"], "disk.qcow2@sha256:") || x.Conditions["accel"] != "tcg" {
			t.Errorf("%s on ours: conditions %v, want manager=libvirt, image=disk.qcow2@sha256:…, accel=tcg", x.Workload, x.Conditions)
		}
		if x.Workload == "boot" {
			m := map[string]float64{}
			for _, mt := range x.Metrics {
				m[mt.Name] = mt.Value
			}
			if m["launch_to_ready"] <= 0 || m["kernel"] <= 0 || m["agent"] <= 0 || m["launch_to_ready"] < m["agent"] {
				t.Errorf("boot phases %v", m)
			}
		}
	}
	for _, w := range []string{"cpu", "memory", "syscall", "disk", "net", "startup", "boot"} {
		if !ran[w] {
			t.Errorf("no sample of %s on ours", w)
		}
	}
	info, err := result.ReadRun(runDir)
	if err != nil {
		t.Fatal(err)
	}
	var pinfo map[string]string
	for _, p := range info.Platforms {
		if p.Name == "ours" {
			pinfo = p.Info
		}
	}
	if pinfo["manager"] != "libvirt" || pinfo["image_sha256"] != before || pinfo["guest_runc"] == "" {
		t.Errorf("run.json of ours: %v", pinfo)
	}
	x, err := os.ReadFile(pinfo["domain_xml"])
	if err != nil || filepath.Dir(pinfo["domain_xml"]) != runDir || !strings.Contains(string(x), "<domain") || !strings.Contains(string(x), "vmbench.agent") {
		t.Errorf("stored domain XML %q: %v\n%s", pinfo["domain_xml"], err, x)
	}
	if after := digest(t, image); after != before {
		t.Errorf("the image was written: sha256 %s, was %s", after, before)
	}
	nothingLeft(t, info.RunID)
}

// A density level of two libvirt guests from one image, each started
// from a team's own domain XML (domain_xml): both instances ran, the
// level's host memory is measured, and what vmbench changed in the team's
// domain is recorded.
func TestCloudImageDensity(t *testing.T) {
	dir := cloudImage(t)
	domain := filepath.Join(t.TempDir(), "web-01.xml")
	if err := os.WriteFile(domain, []byte(production), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir, samples := run(t, `version: 1
name: ops-density
timeout: 5m
density:
  levels: [2]
  repetitions: 1
platforms:
`+platform(dir, "    domain_xml: "+domain+"\n")+`workloads:
  - {type: cpu, params: {duration: 300ms}}
`)
	instances := 0
	for _, x := range samples {
		if x.Error != "" || x.Stop != "" {
			t.Errorf("level %d instance %d: %s%s", x.Level, x.Instance, x.Error, x.Stop)
		}
		if x.Instance > 0 {
			instances++
			continue
		}
		for _, m := range x.Metrics {
			if m.Name == "pss_total" && m.Value <= 0 {
				t.Errorf("level %d: pss_total %v", x.Level, m.Value)
			}
		}
	}
	if instances != 2 {
		t.Errorf("%d instance samples, want 2", instances)
	}
	info, err := result.ReadRun(runDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range info.Platforms {
		changes := p.Info["domain_xml_changes"]
		if p.Info["domain_xml_source"] != domain || !strings.Contains(changes, "in place of /var/lib/libvirt/images/web-01.qcow2") || !strings.Contains(changes, "interface network prod removed") {
			t.Errorf("run.json of %s: %v", p.Name, p.Info)
		}
	}
	nothingLeft(t, info.RunID)
}

// nothingLeft fails the test if a domain, overlay, seed or scratch
// directory of the run is left.
func nothingLeft(t *testing.T, runID string) {
	t.Helper()
	domains, err := virt.Leftovers(result.NamePrefix + runID)
	if err != nil || len(domains) > 0 {
		t.Errorf("libvirt domains left: %v (%v)", domains, err)
	}
	for _, d := range []string{os.TempDir(), scenario.DefaultScratchDir} {
		if left, _ := filepath.Glob(filepath.Join(d, result.NamePrefix+runID+"*")); len(left) > 0 {
			t.Errorf("temp or scratch dirs left: %v", left)
		}
	}
}

func digest(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
