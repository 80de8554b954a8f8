// Package memory is the built-in memory-bandwidth workload: the four STREAM
// kernels (copy, scale, add, triad) over arrays larger than the last-level
// cache, in the widest vector instructions the CPU has, reported as bytes
// per second counted as STREAM counts them: 16 bytes an element for copy
// and scale (one array read, one written), 24 for add and triad.
package memory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
)

// Workload is the memory workload.
type Workload struct {
	// SysRoot is where /sys is read to find the last-level cache; "" means "/".
	SysRoot string
}

var _ workload.Workload = Workload{}

// Array sizes: at least 4× the last-level cache so that caches cannot hold
// the working set, but bounded so that three arrays fit in a small guest.
const (
	minArray = 64 << 20
	maxArray = 256 << 20
)

func (Workload) Name() string { return "memory" }

func (Workload) Describe() string {
	return "STREAM-style bandwidth (copy, scale, add, triad) over float64 arrays of at least 4× the last-level cache"
}

func (w Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "op", Kind: workload.Enum, Choices: []string{"copy", "scale", "add", "triad"}, Default: "triad", Help: "the STREAM kernel"},
		{Name: "size", Kind: workload.Size, DefaultFunc: w.defaultSize, Min: 1 << 20, Max: 16 << 30,
			Help: "bytes per array (default: 4× the host's last-level cache, between 64MiB and 256MiB)"},
		{Name: "threads", Kind: workload.Int, Default: "1", Min: 1, Max: 1024, Help: "goroutines, each on its own slice of the arrays"},
		{Name: "duration", Kind: workload.Duration, Default: "1s", Min: int64(10 * time.Millisecond), Help: "how long one trial works"},
		{Name: "vector", Kind: workload.Enum, Choices: append([]string{"auto"}, Vectors...), Default: "auto",
			Help: "the kernels' instruction set: auto is the widest the CPU has (recorded in each sample as the condition vector)"},
	}
}

func (Workload) Metrics() []workload.MetricInfo {
	return []workload.MetricInfo{{Name: "bandwidth", Unit: "B/s", Help: "bytes read plus bytes written per second (STREAM's counting)", Resource: workload.ResMemBW}}
}

func (Workload) Validate(workload.Params) error { return nil }

func (w Workload) defaultSize() string {
	llc := LastLevelCache(w.SysRoot)
	return units.FormatSize(min(max(4*llc, minArray), maxArray))
}

// LastLevelCache returns the size of the largest cache of cpu0 found under
// root/sys, or 0 when none is described.
func LastLevelCache(root string) int64 {
	if root == "" {
		root = "/"
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "sys/devices/system/cpu/cpu0/cache/index*"))
	var best int64
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "size"))
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		n, err := strconv.ParseInt(strings.TrimSuffix(s, "K"), 10, 64)
		if err != nil {
			continue
		}
		if strings.HasSuffix(s, "K") {
			n <<= 10
		}
		best = max(best, n)
	}
	return best
}

func (w Workload) Run(ctx context.Context, p workload.Params) (workload.Result, error) {
	var res workload.Result
	size := p.Size("size")
	if llc := LastLevelCache(w.SysRoot); llc > 0 && size < 4*llc {
		res.Warnings = append(res.Warnings, fmt.Sprintf("arrays of %s are smaller than 4× the last-level cache (%s): bandwidth may include cache hits",
			units.FormatSize(size), units.FormatSize(llc)))
	}
	k, err := pick(p["vector"])
	if err != nil {
		return res, err
	}
	n := int(size / 8)
	arrays3, free := hugeArrays(n)
	defer free()
	a, b, c := arrays3[0], arrays3[1], arrays3[2]
	for i := range n { // touch every page before timing
		a[i], b[i], c[i] = 1, 2, 0
	}
	const q = 3.0
	var kernel func(lo, hi int)
	arrays := 2 // arrays each pass reads or writes, as STREAM counts them
	switch p["op"] {
	case "copy":
		kernel = func(lo, hi int) { k.copy(c[lo:hi], a[lo:hi]) }
	case "scale":
		kernel = func(lo, hi int) { k.scale(b[lo:hi], c[lo:hi], q) }
	case "add":
		arrays = 3
		kernel = func(lo, hi int) { k.add(c[lo:hi], a[lo:hi], b[lo:hi]) }
	case "triad":
		arrays = 3
		kernel = func(lo, hi int) { k.triad(a[lo:hi], b[lo:hi], c[lo:hi], q) }
	default:
		return res, fmt.Errorf("op %q is unknown", p["op"])
	}
	res.Conditions = map[string]string{"vector": k.vector}
	threads := p.Int("threads")
	// Each thread's slice starts on a cache line (8 elements).
	chunk := ((n+threads-1)/threads + 7) / 8 * 8
	var wg sync.WaitGroup
	rates, moved := make([]float64, threads), make([]float64, threads)
	for t := range threads {
		lo, hi := min(t*chunk, n), min((t+1)*chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			passes, took := workload.Deadline(ctx, p.Duration("duration"), func() { kernel(lo, hi) })
			moved[t] = float64(passes) * float64(arrays*(hi-lo)*8)
			rates[t] = moved[t] / took.Seconds()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	var total float64
	for t, r := range rates {
		total += r
		res.Work += moved[t]
	}
	res.Metrics = []result.Metric{{Name: "bandwidth", Unit: "B/s", Value: total}}
	return res, nil
}

// hugeArrays are three arrays of n float64 each, in one anonymous mapping
// that asks for transparent huge pages (MADV_HUGEPAGE), aligned to 2 MiB:
// STREAM's static arrays get huge pages on a host whose THP setting is
// "always", and this gets them on a host set to "madvise" too, so that the
// bandwidth does not depend on that setting. It also keeps the trial
// short: touching 384 MiB a 4 KiB page at a time took 1.1 s of a 1.7 s
// trial on a nested-virtualization host, whose page faults are dear. Where
// the kernel gives no huge pages the mapping is ordinary pages; where
// mmap fails the arrays come from the Go heap.
func hugeArrays(n int) ([3][]float64, func()) {
	const huge = 2 << 20
	per := (n*8 + huge - 1) / huge * huge // each array starts on a 2 MiB boundary
	mem, err := unix.Mmap(-1, 0, 3*per+huge, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return [3][]float64{make([]float64, n), make([]float64, n), make([]float64, n)}, func() {}
	}
	off := 0
	if r := int(uintptr(unsafe.Pointer(&mem[0])) % huge); r != 0 {
		off = huge - r
	}
	unix.Madvise(mem[off:off+3*per], unix.MADV_HUGEPAGE) // advice: no huge pages is no error
	var out [3][]float64
	for i := range out {
		out[i] = unsafe.Slice((*float64)(unsafe.Pointer(&mem[off+i*per])), n)
	}
	return out, func() { unix.Munmap(mem) }
}
