package kvm

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/agent"
)

func base() Config {
	return Config{
		Name: "vmbench-r-vm", Accel: "tcg", Machine: "q35", VCPUs: 2, MemoryB: 1 << 30,
		Kernel: "/boot/vmlinuz", Initrd: "/cache/i.cpio", AgentSock: "/t/agent.sock", QMPSock: "/t/qmp.sock", ConsoleLog: "/r/vm-console.log",
	}
}

// value returns the argument after flag, or "" when flag is absent.
func value(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func TestArgs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*Config)
		checks map[string]string // flag → value wanted; "" wants the flag absent
		has    []string          // substrings wanted somewhere in argv
		hasnt  []string
	}{
		{
			name:   "tcg q35",
			mod:    func(*Config) {},
			checks: map[string]string{"-machine": "q35,accel=tcg", "-cpu": "max", "-smp": "2", "-m": "1024", "-kernel": "/boot/vmlinuz", "-initrd": "/cache/i.cpio", "-bios": "", "-object": ""},
			has:    []string{"-nodefaults", "-nographic", "-no-reboot", "virtio-serial-pci,id=vser0", "name=vmbench.agent", "socket,id=agent,path=/t/agent.sock", "socket,id=qmp,path=/t/qmp.sock,server=on,wait=off", "file,id=console,path=/r/vm-console.log"},
			hasnt:  []string{"tsc_early_khz"},
		},
		{
			name:   "kvm uses the host cpu",
			mod:    func(c *Config) { c.Accel = "kvm"; c.VCPUs = 4 },
			checks: map[string]string{"-machine": "q35,accel=kvm", "-cpu": "host", "-smp": "4"},
		},
		{
			name:   "microvm under tcg",
			mod:    func(c *Config) { c.Machine = "microvm"; c.Bios = QbootROM; c.TSCkHz = 2100000 },
			checks: map[string]string{"-machine": "microvm,accel=tcg", "-bios": QbootROM},
			has:    []string{"virtio-serial-device,id=vser0", "tsc_early_khz=2100000"},
			hasnt:  []string{"virtio-serial-pci"},
		},
		{
			name:   "microvm under kvm needs no tsc hint",
			mod:    func(c *Config) { c.Machine = "microvm"; c.Accel = "kvm"; c.TSCkHz = 2100000 },
			hasnt:  []string{"tsc_early_khz"},
			checks: map[string]string{"-machine": "microvm,accel=kvm"},
		},
		{
			name:   "scratch disk",
			mod:    func(c *Config) { c.ScratchDisk, c.DiskCache, c.DiskAIO = "/s/vm-disk.img", "none", "native" },
			checks: map[string]string{"-drive": "file=/s/vm-disk.img,if=none,id=scratch,format=raw,cache=none,aio=native"},
			has:    []string{"virtio-blk-pci,drive=scratch,serial=" + agent.ScratchSerial},
		},
		{
			name:   "tools disk, read-only",
			mod:    func(c *Config) { c.ToolsDisk = "/cache/tools-1/tools,1.ext4" },
			checks: map[string]string{"-drive": "file=/cache/tools-1/tools,,1.ext4,if=none,id=tools,format=raw,readonly=on"},
			has:    []string{"virtio-blk-pci,drive=tools,serial=" + agent.ToolsSerial},
		},
		{
			// A comma in --results or $TMPDIR ended the option's value.
			name: "commas in paths doubled",
			mod: func(c *Config) {
				c.ConsoleLog, c.AgentSock, c.QMPSock = "/r,x/vm-console.log", "/t,1/agent.sock", "/t,1/qmp.sock"
			},
			has: []string{"file,id=console,path=/r,,x/vm-console.log,append=on", "socket,id=agent,path=/t,,1/agent.sock",
				"socket,id=qmp,path=/t,,1/qmp.sock,server=on,wait=off"},
		},
		{
			name:   "network",
			mod:    func(c *Config) { c.Tap, c.GuestIP = "vmbench-abcdt3", "10.213.7.3/24" },
			checks: map[string]string{"-netdev": "tap,id=net0,ifname=vmbench-abcdt3,script=no,downscript=no"},
			// A MAC of its own: QEMU's default is the same for every guest.
			has: []string{"virtio-net-pci,netdev=net0,mac=52:54:0a:d5:07:03", "vmbench.ip=10.213.7.3/24"},
		},
		{
			name:  "no scratch disk",
			mod:   func(*Config) {},
			hasnt: []string{"-drive", "virtio-blk", "-netdev", "vmbench.ip"},
		},
		{
			name:   "hugepages",
			mod:    func(c *Config) { c.Hugepages = true; c.MemoryB = 2 << 30 },
			checks: map[string]string{"-machine": "q35,accel=tcg,memory-backend=mem0", "-object": "memory-backend-file,id=mem0,size=2048M,mem-path=/dev/hugepages,share=on,prealloc=on", "-m": "2048"},
		},
		{
			name:   "extra kernel args",
			mod:    func(c *Config) { c.Append = []string{"mitigations=off"} },
			checks: map[string]string{"-append": "console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mod(&c)
			args := Args(c)
			joined := strings.Join(args, " ")
			for flag, want := range tc.checks {
				if got := value(args, flag); got != want {
					t.Errorf("%s = %q, want %q\nargv: %s", flag, got, want, joined)
				}
			}
			for _, s := range tc.has {
				if !strings.Contains(joined, s) {
					t.Errorf("argv lacks %q: %s", s, joined)
				}
			}
			for _, s := range tc.hasnt {
				if strings.Contains(joined, s) {
					t.Errorf("argv has %q: %s", s, joined)
				}
			}
			if !slices.Equal(args, Args(c)) {
				t.Error("Args is not deterministic")
			}
		})
	}
}

// exitMetrics turns the vCPU counters around a trial into rates, by reason.
func TestExitMetrics(t *testing.T) {
	before := map[string]float64{"exits": 1000, "io_exits": 10, "halt_exits": 5}
	after := map[string]float64{"exits": 3000, "io_exits": 110, "halt_exits": 5, "guest_mode": 1}
	got := map[string]float64{}
	for _, m := range exitMetrics(before, after, 2*time.Second) {
		got[m.Name] = m.Value
		if m.Unit != "exits/s" {
			t.Errorf("%s in %s", m.Name, m.Unit)
		}
	}
	if got["kvm_exits"] != 1000 || got["kvm_io_exits"] != 50 || got["kvm_halt_exits"] != 0 || len(got) != 3 {
		t.Errorf("got %v", got)
	}
	if m := exitMetrics(nil, map[string]float64{}, time.Second); m != nil {
		t.Errorf("TCG (no counters): %v", m)
	}
}

// A guest's scratch disk is a file vmbench makes: a link found under its
// name (to a host file or a block device) is refused, not handed to QEMU.
func TestScratchDiskRefusesALink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, "disk.img")); err != nil {
		t.Fatal(err)
	}
	if err := MakeSparse(dir, "disk.img", 1<<20); err == nil {
		t.Error("made the disk over a link")
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the link's target now reads %q", b)
	}
}

// A resumed or retried run's directory may come from elsewhere: a link
// planted as a guest's console or QEMU log is not written through (QEMU
// would follow it as root).
func TestGuestLogsRefuseLinks(t *testing.T) {
	for _, which := range []string{"console", "qemu"} {
		dir := t.TempDir()
		victim := filepath.Join(t.TempDir(), "victim")
		os.WriteFile(victim, []byte("precious"), 0o600)
		cfg := Config{AgentSock: filepath.Join(dir, "agent.sock"), ConsoleLog: filepath.Join(dir, "vm-console.log"), QEMULog: filepath.Join(dir, "vm-qemu.log")}
		link := map[string]string{"console": cfg.ConsoleLog, "qemu": cfg.QEMULog}[which]
		os.Symlink(victim, link)
		if _, err := launch(context.Background(), "/bin/true", cfg, time.Second); err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("%s log through a link: %v", which, err)
		}
		if b, _ := os.ReadFile(victim); string(b) != "precious" {
			t.Errorf("%s: the victim reads %q", which, b)
		}
	}
}
