package collect

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Pressure is the kernel's pressure stall information (PSI): the total
// time, in seconds, some (or all) runnable tasks were stalled on a
// resource. The difference of two readings over the wall time between them
// is the share of time stalled.
type Pressure struct {
	CPUSome, MemorySome, MemoryFull, IOSome, IOFull float64
}

// ReadPressure reads root/proc/pressure/{cpu,memory,io}.
func ReadPressure(root string) (Pressure, error) {
	var p Pressure
	for _, f := range []struct {
		name       string
		some, full *float64
	}{{"cpu", &p.CPUSome, nil}, {"memory", &p.MemorySome, &p.MemoryFull}, {"io", &p.IOSome, &p.IOFull}} {
		data, err := os.ReadFile(filepath.Join(root, "proc/pressure", f.name))
		if err != nil {
			return p, fmt.Errorf("pressure stall information: %w (a kernel built without CONFIG_PSI, or booted with psi=0)", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			kind, rest, _ := strings.Cut(line, " ")
			for _, field := range strings.Fields(rest) {
				if v, ok := strings.CutPrefix(field, "total="); ok {
					us, _ := strconv.ParseFloat(v, 64)
					switch {
					case kind == "some" && f.some != nil:
						*f.some = us / 1e6
					case kind == "full" && f.full != nil:
						*f.full = us / 1e6
					}
				}
			}
		}
	}
	return p, nil
}

// Sub is the stall time between two readings.
func (p Pressure) Sub(q Pressure) Pressure {
	return Pressure{p.CPUSome - q.CPUSome, p.MemorySome - q.MemorySome, p.MemoryFull - q.MemoryFull, p.IOSome - q.IOSome, p.IOFull - q.IOFull}
}

// MemAvailable reads MemAvailable from root/proc/meminfo, in bytes.
func MemAvailable(root string) (float64, error) {
	v := statusKB(filepath.Join(root, "proc/meminfo"), "MemAvailable:")
	if v == 0 {
		return 0, fmt.Errorf("no MemAvailable in %s", filepath.Join(root, "proc/meminfo"))
	}
	return v, nil
}

// OOMKills reads the kernel's count of OOM kills from root/proc/vmstat.
func OOMKills(root string) (int64, error) {
	f, err := os.Open(filepath.Join(root, "proc/vmstat"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, sc.Err()
}

// KSMSharing reads how many bytes KSM deduplicates now
// (root/sys/kernel/mm/ksm/pages_sharing × the page size); 0 without KSM.
func KSMSharing(root string) float64 {
	data, err := os.ReadFile(filepath.Join(root, "sys/kernel/mm/ksm/pages_sharing"))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseFloat(strings.TrimSpace(string(data)), 64)
	return n * float64(os.Getpagesize())
}

// VMMOverhead is what a VMM process holds beyond its guest's memory, as
// Firecracker's specification measures it: the proportional set size of
// every mapping in root/proc/<pid>/smaps except the guest RAM, which is the
// smallest anonymous mapping of at least guestRAM bytes. Under TCG the
// translated code (anonymous rwx chunks) counts as overhead. It returns the
// overhead and the guest RAM mapping's own PSS (what the guest touched), in
// bytes.
func VMMOverhead(root string, pid int, guestRAM int64) (overhead, guest float64, err error) {
	f, err := os.Open(filepath.Join(root, "proc", strconv.Itoa(pid), "smaps"))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	type mapping struct {
		anon      bool
		size, pss float64 // bytes
	}
	var maps []mapping
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			// A mapping's header: address perms offset dev inode [path].
			maps = append(maps, mapping{anon: len(fields) < 6})
			continue
		}
		if len(maps) == 0 || len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "Size:":
			maps[len(maps)-1].size = kb * 1024
		case "Pss:":
			maps[len(maps)-1].pss = kb * 1024
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	ram := -1
	for i, m := range maps {
		if m.anon && m.size >= float64(guestRAM) && (ram < 0 || m.size < maps[ram].size) {
			ram = i
		}
	}
	if ram < 0 {
		return 0, 0, fmt.Errorf("pid %d has no anonymous mapping of the guest's %d bytes", pid, guestRAM)
	}
	for i, m := range maps {
		if i == ram {
			guest = m.pss
		} else {
			overhead += m.pss
		}
	}
	return overhead, guest, nil
}
