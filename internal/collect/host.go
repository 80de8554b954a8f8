package collect

import (
	"context"
	"os"
	"path/filepath"

	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"
)

// Host samples a whole machine through gopsutil: the CPU split, memory, and
// the disk and network counters. On the host it is the host; run by the
// agent in a guest it is the guest's own view.
type Host struct {
	name  string
	env   common.EnvMap
	disks []string
}

var _ Sampler = (*Host)(nil)

// NewHost returns a sampler named name ("host", "guest") of the machine
// whose /proc, /sys, /dev and /run are under root ("/" for this one). Its
// disk counters are those of whole physical disks (the entries of
// /sys/block that have a device), so that partitions, loop and
// device-mapper devices are not counted twice.
func NewHost(name, root string) *Host {
	h := &Host{name: name, env: common.EnvMap{
		common.HostProcEnvKey: filepath.Join(root, "proc"),
		common.HostSysEnvKey:  filepath.Join(root, "sys"),
		common.HostDevEnvKey:  filepath.Join(root, "dev"),
		common.HostRunEnvKey:  filepath.Join(root, "run"),
	}}
	blocks, _ := os.ReadDir(filepath.Join(root, "sys", "block"))
	for _, b := range blocks {
		if _, err := os.Stat(filepath.Join(root, "sys", "block", b.Name(), "device")); err == nil {
			h.disks = append(h.disks, b.Name())
		}
	}
	return h
}

func (h *Host) Name() string { return h.name }

func (h *Host) Fields() []Field {
	return []Field{
		{Name: "cpu_user", Unit: "s", Kind: Counter},   // nice included; guest time too, as the kernel counts it
		{Name: "cpu_system", Unit: "s", Kind: Counter}, // irq and softirq included
		{Name: "cpu_iowait", Unit: "s", Kind: Counter},
		{Name: "cpu_steal", Unit: "s", Kind: Counter},
		{Name: "cpu_guest", Unit: "s", Kind: Counter},
		{Name: "cpu_idle", Unit: "s", Kind: Counter},
		{Name: "mem_used", Unit: "B", Kind: Gauge},
		{Name: "mem_available", Unit: "B", Kind: Gauge},
		{Name: "disk_read", Unit: "B", Kind: Counter},
		{Name: "disk_written", Unit: "B", Kind: Counter},
		{Name: "net_recv", Unit: "B", Kind: Counter},
		{Name: "net_sent", Unit: "B", Kind: Counter},
	}
}

func (h *Host) Read(ctx context.Context) ([]float64, error) {
	ctx = context.WithValue(ctx, common.EnvKey, h.env)
	ts, err := cpu.TimesWithContext(ctx, false)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, os.ErrNotExist
	}
	c := ts[0]
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return nil, err
	}
	var rd, wr float64
	if len(h.disks) > 0 {
		ds, err := disk.IOCountersWithContext(ctx, h.disks...)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			rd += float64(d.ReadBytes)
			wr += float64(d.WriteBytes)
		}
	}
	var recv, sent float64
	ns, err := net.IOCountersWithContext(ctx, false)
	if err != nil {
		return nil, err
	}
	for _, n := range ns {
		recv += float64(n.BytesRecv)
		sent += float64(n.BytesSent)
	}
	return []float64{
		c.User + c.Nice, c.System + c.Irq + c.Softirq, c.Iowait, c.Steal, c.Guest, c.Idle,
		float64(vm.Used), float64(vm.Available), rd, wr, recv, sent,
	}, nil
}
