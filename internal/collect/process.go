package collect

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times; it is 100 on
// every Linux architecture vmbench runs on (x86-64, arm64).
const clockTicks = 100

// ProcessCPU returns the CPU time, user plus system, that every thread of
// process pid has used so far, in seconds, read from root/<pid>/stat.
func ProcessCPU(root string, pid int) (float64, error) {
	own, _, err := processTimes(root, pid)
	return own, err
}

// processTimes returns a process's own CPU time and that of the children
// it has reaped (cutime + cstime), in seconds.
func processTimes(root string, pid int) (own, reaped float64, err error) {
	// utime is field 14, stime 15, cutime 16, cstime 17.
	f, err := statFields(root, pid)
	if err != nil {
		return 0, 0, err
	}
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("%s/%d/stat: %d fields after the name, want at least 15", root, pid, len(f))
	}
	var t [4]uint64
	for j := range t {
		if t[j], err = strconv.ParseUint(f[11+j], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("%s/%d/stat: field %d: %w", root, pid, 14+j, err)
		}
	}
	return float64(t[0]+t[1]) / clockTicks, float64(t[2]+t[3]) / clockTicks, nil
}

// statFields are the fields of root/<pid>/stat after the command name,
// state (field 3) first: the name may hold spaces and parentheses, so the
// fields start after the last ")".
func statFields(root string, pid int) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("%s/%d/stat: no command name", root, pid)
	}
	return strings.Fields(s[i+1:]), nil
}

// ParentPID returns a process's parent (field 4 of its stat); 0 when it
// is gone.
func ParentPID(root string, pid int) int {
	f, err := statFields(root, pid)
	if err != nil || len(f) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(f[1])
	return pp
}

// Tree samples a process and all its descendants: what the platform's own
// processes cost the host (the agent; runc and its container; QEMU).
//
// PSS comes from smaps_rollup, which walks the page tables: about 4 ms for
// a process with 400 MiB resident, 4% of a core at 10 Hz, but little for a
// small one. So PSS is read every time while the tree holds less than
// PSSAlways, when its processes change, and otherwise every PSSEvery
// readings; in between it is the last PSS reading plus what RSS (cheap)
// grew or shrank since: the memory a workload or a guest adds is its own,
// all of it in its PSS. (Not a ratio: a process just started is mostly text
// shared with the runner's own binary, and a ratio taken then would halve
// the arrays it allocates later.)
type Tree struct {
	Root string     // the proc filesystem, "/proc"
	PID  func() int // the tree's root process now; 0 while there is none

	pids     []int   // at the last PSS reading
	pss, rss float64 // at the last PSS reading
	sincePSS int
}

// PSSEvery is how many readings apart PSS is read of a large tree, and
// PSSAlways the resident size below which it is read every time.
const (
	PSSEvery  = 10
	PSSAlways = 64 << 20
)

var _ Sampler = (*Tree)(nil)

// Follow returns a Tree of this machine's /proc rooted at whatever process
// pid holds when it reads (0: none), which a platform sets while its trial
// runs.
func Follow(pid *atomic.Int64) *Tree {
	return &Tree{Root: "/proc", PID: func() int { return int(pid.Load()) }}
}

func (t *Tree) Name() string { return "process" }

func (t *Tree) Fields() []Field {
	return []Field{
		{Name: "cpu", Unit: "s", Kind: Counter},
		{Name: "rss", Unit: "B", Kind: Gauge},
		{Name: "pss", Unit: "B", Kind: Gauge},
	}
}

// Read sums the tree's CPU time (reaped children included, so that the
// counter does not drop when one exits), resident set and proportional set.
func (t *Tree) Read(context.Context) ([]float64, error) {
	pid := t.PID()
	if pid <= 0 {
		return nil, ErrAbsent
	}
	pids := Descendants(t.Root, pid)
	if len(pids) == 0 {
		return nil, ErrAbsent
	}
	var cpu, rss float64
	var live []int
	for _, p := range pids {
		own, reaped, err := processTimes(t.Root, p)
		if err != nil {
			continue // it exited while we read
		}
		live = append(live, p)
		cpu += own + reaped
		rss += statusKB(filepath.Join(t.Root, strconv.Itoa(p), "status"), "VmRSS:")
	}
	t.sincePSS++
	if rss < PSSAlways || !slices.Equal(live, t.pids) || t.sincePSS >= PSSEvery {
		var pss float64
		for _, p := range live {
			pss += statusKB(filepath.Join(t.Root, strconv.Itoa(p), "smaps_rollup"), "Pss:")
		}
		t.pids, t.sincePSS, t.pss, t.rss = live, 0, pss, rss
		return []float64{cpu, rss, pss}, nil
	}
	return []float64{cpu, rss, max(0, t.pss+rss-t.rss)}, nil
}

// Descendants returns pid and every live descendant of it, parents first,
// from the children lists of each thread under root/<pid>/task. It returns
// nothing when pid does not exist.
func Descendants(root string, pid int) []int {
	if _, err := os.Stat(filepath.Join(root, strconv.Itoa(pid))); err != nil {
		return nil
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		dir := filepath.Join(root, strconv.Itoa(out[i]), "task")
		tasks, _ := os.ReadDir(dir)
		for _, task := range tasks {
			b, _ := os.ReadFile(filepath.Join(dir, task.Name(), "children"))
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// statusKB returns the value of the "key  123 kB" line of a proc file in
// bytes, or 0 when the file or the line is missing (a kernel thread, a
// process that exited).
func statusKB(path, key string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				if v, err := strconv.ParseFloat(f[0], 64); err == nil {
					return v * 1024
				}
			}
		}
	}
	return 0
}
