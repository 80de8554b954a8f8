// Package disk is the built-in block I/O workload, built the way fio does
// its work: reads and writes of a fixed block size at sequential or random
// offsets of a scratch area, either one at a time (engine sync: pread and
// pwrite) or with many in flight (engine libaio: Linux native AIO through
// io_submit and io_getevents), with or without the page cache (O_DIRECT),
// every I/O's latency recorded in a histogram.
//
// The scratch area is what the platform names in $VMBENCH_SCRATCH:
// a directory on the host filesystem (native; container, bind-mounted), in
// which the workload keeps a file, or the guest's virtio-blk disk, backed by
// a file in that same directory (vm).
package disk

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vmbench/vmbench/internal/hist"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/safefs"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
)

// FileName is the file the workload keeps in a scratch directory.
const FileName = "disk.dat"

// Workload is the disk workload.
type Workload struct{}

var _ workload.Workload = Workload{}

func (Workload) Name() string { return "disk" }

func (Workload) Describe() string {
	return "block I/O on the platform's scratch disk, as fio does it: seq or rand, read, write or mixed, sync or libaio with a queue depth, O_DIRECT"
}

// Scratch is the scratch area the I/Os fall in: size.
func (Workload) Scratch(p workload.Params) int64 { return p.Size("size") }

func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "pattern", Kind: workload.Enum, Choices: []string{"rand", "seq"}, Default: "rand", Help: "offsets: random (aligned to the block size) or sequential, wrapping at the end"},
		{Name: "op", Kind: workload.Enum, Choices: []string{"read", "write", "mixed"}, Default: "read", Help: "mixed: each I/O a read or a write with even odds (fio's rwmixread=50)"},
		{Name: "bs", Kind: workload.Size, Default: "4KiB", Min: 512, Max: 64 << 20, Help: "block size of every I/O; a multiple of 512 with direct I/O"},
		{Name: "iodepth", Kind: workload.Int, Default: "1", Min: 1, Max: 1024, Help: "I/Os kept in flight; above 1 needs engine: libaio"},
		{Name: "engine", Kind: workload.Enum, Choices: []string{"sync", "libaio"}, Default: "sync", Help: "sync: pread/pwrite, one I/O at a time; libaio: Linux native AIO (io_submit), iodepth in flight"},
		{Name: "direct", Kind: workload.Enum, Choices: []string{"true", "false"}, Default: "true", Help: "O_DIRECT: bypass the page cache, so that the device (or the guest's virtual disk) is measured"},
		{Name: "fsync", Kind: workload.Int, Default: "0", Min: 0, Max: 1 << 20, Help: "fsync the file after every N writes; 0: never (engine sync only)"},
		{Name: "size", Kind: workload.Size, Default: "256MiB", Min: 1 << 20, Max: 1 << 40, Help: "the part of the scratch area the I/Os fall in; written once before the first trial"},
		{Name: "duration", Kind: workload.Duration, Default: "1s", Min: int64(10 * time.Millisecond), Help: "how long one trial works"},
	}
}

func (Workload) Metrics() []workload.MetricInfo {
	out := []workload.MetricInfo{
		{Name: "iops", Unit: "ops/s", Help: "I/Os completed per second", Resource: workload.ResDiskIOPS},
		{Name: "bandwidth", Unit: "B/s", Help: "bytes read plus written per second"},
		{Name: "latency", Unit: "s", Help: "mean time from submitting an I/O to its completion", Resource: workload.ResDiskLat},
	}
	return append(out, workload.PercentileInfo("%g%% of the I/Os completed within this", workload.ResDiskLat)...)
}

// Validate rejects combinations fio would misread or that cannot work.
func (Workload) Validate(p workload.Params) error {
	var errs []error
	if p["engine"] == "sync" && p.Int("iodepth") > 1 {
		errs = append(errs, fmt.Errorf("iodepth: %d needs engine: libaio; engine sync has one I/O in flight at a time", p.Int("iodepth")))
	}
	if p["engine"] == "libaio" && p.Int("fsync") > 0 {
		errs = append(errs, errors.New("fsync: needs engine: sync; with libaio the writes in flight make 'every N writes' meaningless"))
	}
	if p["direct"] == "true" && p.Size("bs")%512 != 0 {
		errs = append(errs, fmt.Errorf("bs: %s is not a multiple of 512, which O_DIRECT needs (or set direct: false)", units.FormatSize(p.Size("bs"))))
	}
	if p.Size("bs") > p.Size("size") {
		errs = append(errs, fmt.Errorf("bs: %s is larger than size %s", units.FormatSize(p.Size("bs")), units.FormatSize(p.Size("size"))))
	}
	return errors.Join(errs...)
}

// Spec is one trial's I/O, parsed from the params.
type Spec struct {
	Random   bool
	ReadPct  int // 100 read, 0 write, 50 mixed
	BS       int64
	Depth    int
	AIO      bool
	Direct   bool
	FsyncN   int
	Size     int64
	Duration time.Duration
}

// SpecOf parses complete params.
func SpecOf(p workload.Params) Spec {
	s := Spec{
		Random: p["pattern"] == "rand", BS: p.Size("bs"), Depth: p.Int("iodepth"), AIO: p["engine"] == "libaio",
		Direct: p["direct"] == "true", FsyncN: p.Int("fsync"), Size: p.Size("size"), Duration: p.Duration("duration"),
	}
	switch p["op"] {
	case "read":
		s.ReadPct = 100
	case "mixed":
		s.ReadPct = 50
	}
	return s
}

func (Workload) Run(ctx context.Context, p workload.Params) (workload.Result, error) {
	scratch := os.Getenv(workload.ScratchEnv)
	if scratch == "" {
		return workload.Result{}, fmt.Errorf("no scratch area: $%s is not set (the platform sets it)", workload.ScratchEnv)
	}
	s := SpecOf(p)
	f, err := Open(scratch, s)
	if err != nil {
		return workload.Result{}, err
	}
	defer f.Close()
	return s.Run(ctx, f)
}

// Open opens the scratch area at path (a directory, in which FileName is
// kept, or a block device) and lays it out: the first Size bytes are
// written once, so that reads read data and not the holes of a sparse file.
// In a directory, FileName must be a regular file (or absent): the agent
// may be root on the host, and a link planted there must not turn its
// writes onto another file.
func Open(path string, s Spec) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("scratch area: %w", err)
	}
	flags := os.O_RDWR | os.O_CREATE
	if s.Direct {
		flags |= unix.O_DIRECT
	}
	var f *os.File
	if st.IsDir() {
		f, err = safefs.OpenFile(path, FileName, flags, 0o600)
		path = filepath.Join(path, FileName)
	} else {
		f, err = os.OpenFile(path, flags&^os.O_CREATE, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("scratch area: %w", err)
	}
	if err := layout(f, s.Size); err != nil {
		f.Close()
		return nil, fmt.Errorf("lay out %s: %w", path, err)
	}
	return f, nil
}

// layout makes sure the first size bytes of f are written. A file counts as
// laid out when it is as large and has as many blocks allocated; a block
// device when its first and last blocks of the area are not zero (a fresh
// disk reads as zeros throughout).
func layout(f *os.File, size int64) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	block := st.Mode&unix.S_IFMT == unix.S_IFBLK
	if block {
		if dev, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKGETSIZE64); err == nil && int64(dev) < size {
			return fmt.Errorf("the scratch disk holds %s, less than size %s: raise the platform's scratch_size", units.FormatSize(int64(dev)), units.FormatSize(size))
		}
		if written(f, 0) && written(f, size-layoutChunk) {
			return nil
		}
	} else if st.Size >= size && st.Blocks*512 >= size {
		return nil
	}
	buf := alignedBuf(layoutChunk)
	defer unix.Munmap(buf)
	r := rand.New(rand.NewPCG(uint64(size), 3))
	for i := range buf {
		buf[i] = byte(r.Uint32() | 1) // never zero: see written
	}
	for off := int64(0); off < size; off += layoutChunk {
		if _, err := f.WriteAt(buf[:min(layoutChunk, size-off)], off); err != nil {
			return err
		}
	}
	return f.Sync()
}

const layoutChunk = 1 << 20

// written reports whether the 4 KiB at off hold data layout wrote.
func written(f *os.File, off int64) bool {
	buf := alignedBuf(4096)
	defer unix.Munmap(buf)
	if _, err := f.ReadAt(buf, off); err != nil {
		return false
	}
	for _, b := range buf {
		if b == 0 {
			return false
		}
	}
	return true
}

// alignedBuf returns page-aligned memory outside Go's heap, as O_DIRECT
// needs and as the kernel may write into after io_submit returns.
func alignedBuf(n int) []byte {
	b, err := unix.Mmap(-1, 0, max(n, 4096), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		panic(fmt.Sprintf("mmap %d bytes: %v", n, err))
	}
	return b[:n]
}

// offsets yields the offset of each next I/O and whether it reads.
type offsets struct {
	s    Spec
	r    *rand.Rand
	next int64
}

func (o *offsets) take() (int64, bool) {
	read := o.s.ReadPct == 100 || (o.s.ReadPct > 0 && o.r.IntN(100) < o.s.ReadPct)
	blocks := o.s.Size / o.s.BS
	if o.s.Random {
		return o.r.Int64N(blocks) * o.s.BS, read
	}
	off := o.next
	o.next += o.s.BS
	if o.next+o.s.BS > blocks*o.s.BS {
		o.next = 0
	}
	return off, read
}

// Run does the I/O on f for the spec's duration.
func (s Spec) Run(ctx context.Context, f *os.File) (workload.Result, error) {
	h := hist.New()
	o := &offsets{s: s, r: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))}
	var (
		n    int64
		took time.Duration
		err  error
	)
	if s.AIO {
		n, took, err = s.runAIO(ctx, f, o, h)
	} else {
		n, took, err = s.runSync(ctx, f, o, h)
	}
	if err != nil {
		return workload.Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return workload.Result{}, err
	}
	bytes := float64(n * s.BS)
	res := workload.Result{
		Work: bytes,
		Metrics: []result.Metric{
			{Name: "iops", Unit: "ops/s", Value: float64(n) / took.Seconds()},
			{Name: "bandwidth", Unit: "B/s", Value: bytes / took.Seconds()},
			{Name: "latency", Unit: "s", Value: h.Mean()},
		},
		Histograms: map[string]*hist.Hist{"latency": h},
	}
	res.Metrics = append(res.Metrics, workload.QuantileMetrics(h)...)
	return res, nil
}

func (s Spec) runSync(ctx context.Context, f *os.File, o *offsets, h *hist.Hist) (int64, time.Duration, error) {
	buf := alignedBuf(int(s.BS))
	defer unix.Munmap(buf)
	fill(buf)
	fd := int(f.Fd())
	var ioErr error
	writes := 0
	n, took := workload.Deadline(ctx, s.Duration, func() {
		if ioErr != nil {
			return
		}
		off, read := o.take()
		t0 := time.Now()
		var err error
		if read {
			err = rawIO(unix.SYS_PREAD64, fd, buf, off)
		} else {
			err = rawIO(unix.SYS_PWRITE64, fd, buf, off)
			if writes++; err == nil && s.FsyncN > 0 && writes%s.FsyncN == 0 {
				err = unix.Fsync(fd)
			}
		}
		h.Record(int64(time.Since(t0)))
		if err != nil {
			ioErr = fmt.Errorf("I/O at offset %d: %w", off, err)
		}
	})
	return n, took, ioErr
}

// rawIO is pread or pwrite without telling Go's scheduler: an ordinary
// system call that blocks for more than 20µs hands the goroutine's P to
// another thread and has to win it back, which cost synchronous 4KiB reads
// here a quarter of fio's rate. The workload runs on one goroutine, so
// nothing waits for the P meanwhile.
func rawIO(trap uintptr, fd int, buf []byte, off int64) error {
	_, _, e := unix.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), uintptr(off), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func fill(buf []byte) {
	r := rand.New(rand.NewPCG(9, 9))
	for i := range buf {
		buf[i] = byte(r.Uint32() | 1)
	}
}
