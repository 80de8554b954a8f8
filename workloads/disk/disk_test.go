package disk

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/vmbench/vmbench/internal/workload"
)

// scratchDir is on a disk filesystem: O_DIRECT fails on tmpfs, which /tmp
// may be.
func scratchDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "vmbench-disk-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestValidateRejectsWhatCannotWork(t *testing.T) {
	for _, tc := range []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{"iodepth": "8"}, "iodepth: 8 needs engine: libaio"},
		{map[string]string{"engine": "libaio", "fsync": "4"}, "fsync: needs engine: sync"},
		{map[string]string{"bs": "1000"}, "not a multiple of 512"},
		{map[string]string{"bs": "0"}, "bs: must be ≥ 512B, got 0B"},
		{map[string]string{"op": "append"}, "op: must be one of read, write, mixed"},
		{map[string]string{"bs": "4MiB", "size": "1MiB"}, "larger than size"},
	} {
		_, errs := workload.Complete(Workload{}, tc.params)
		if len(errs) == 0 || !strings.Contains(errs[0].Error(), tc.want) {
			t.Errorf("%v: errors %v, want one containing %q", tc.params, errs, tc.want)
		}
	}
	if _, errs := workload.Complete(Workload{}, map[string]string{"engine": "libaio", "iodepth": "32", "bs": "1000", "direct": "false"}); len(errs) > 0 {
		t.Errorf("libaio at depth 32 with buffered odd blocks: %v", errs)
	}
}

func run(t *testing.T, dir string, params map[string]string) workload.Result {
	t.Helper()
	p, errs := workload.Complete(Workload{}, params)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	t.Setenv(workload.ScratchEnv, dir)
	res, err := Workload{}.Run(context.Background(), p)
	if err != nil {
		t.Fatalf("%v: %v", params, err)
	}
	return res
}

func metric(t *testing.T, res workload.Result, name string) float64 {
	t.Helper()
	for _, m := range res.Metrics {
		if m.Name == name {
			return m.Value
		}
	}
	t.Fatalf("no metric %s in %v", name, res.Metrics)
	return 0
}

func TestRunEnginesPatternsAndOps(t *testing.T) {
	dir := scratchDir(t)
	for _, params := range []map[string]string{
		{"pattern": "rand", "op": "read"},
		{"pattern": "seq", "op": "write", "bs": "64KiB", "fsync": "8"},
		{"pattern": "rand", "op": "mixed", "engine": "libaio", "iodepth": "8"},
		{"pattern": "seq", "op": "read", "engine": "libaio", "iodepth": "4", "direct": "false", "bs": "128KiB"},
	} {
		params["size"], params["duration"] = "8MiB", "150ms"
		res := run(t, dir, params)
		iops, bw, lat := metric(t, res, "iops"), metric(t, res, "bandwidth"), metric(t, res, "latency")
		bs := float64(4096)
		if params["bs"] != "" {
			p, _ := workload.Complete(Workload{}, params)
			bs = float64(p.Size("bs"))
		}
		t.Logf("%v: %.0f IOPS, %.1f MB/s, mean %.1f µs, p99 %.1f µs", params, iops, bw/1e6, lat*1e6, metric(t, res, "p99")*1e6)
		if iops <= 0 || bw != iops*bs || lat <= 0 {
			t.Errorf("%v: iops %g, bandwidth %g (want iops × %g), latency %g", params, iops, bw, bs, lat)
		}
		if h := res.Histograms["latency"]; h == nil || float64(h.Count()) != res.Work/bs {
			t.Errorf("%v: the histogram should count every I/O (%g)", params, res.Work/bs)
		}
		if p50, p99 := metric(t, res, "p50"), metric(t, res, "p99_9"); p50 <= 0 || p99 < p50 {
			t.Errorf("%v: p50 %g, p99.9 %g", params, p50, p99)
		}
	}
}

func TestLayoutWritesOnceAndReadsData(t *testing.T) {
	dir := scratchDir(t)
	run(t, dir, map[string]string{"size": "4MiB", "duration": "20ms"})
	path := filepath.Join(dir, FileName)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != 4<<20 {
		t.Fatalf("the scratch file holds %d bytes, want 4MiB", st.Size())
	}
	b, _ := os.ReadFile(path)
	for i, c := range b {
		if c == 0 {
			t.Fatalf("byte %d of the laid-out file is zero: reads would read a hole", i)
		}
	}
	before := st.ModTime()
	run(t, dir, map[string]string{"size": "4MiB", "duration": "20ms"})
	if st, _ := os.Stat(path); !st.ModTime().Equal(before) {
		t.Errorf("a read trial rewrote the laid-out file (mtime %v → %v)", before, st.ModTime())
	}
}

func TestRunWithoutScratchSaysWhy(t *testing.T) {
	t.Setenv(workload.ScratchEnv, "")
	p, _ := workload.Complete(Workload{}, nil)
	_, err := Workload{}.Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), workload.ScratchEnv) {
		t.Fatalf("err = %v, want one naming $%s", err, workload.ScratchEnv)
	}
}

// TestAIOLayoutMatchesTheKernel: struct iocb is 64 bytes and struct io_event
// 32 (include/uapi/linux/aio_abi.h); io_submit reads ours as the kernel's.
func TestAIOLayoutMatchesTheKernel(t *testing.T) {
	if got := unsafe.Sizeof(iocb{}); got != 64 {
		t.Errorf("iocb is %d bytes, the kernel's is 64", got)
	}
	if got := unsafe.Sizeof(ioEvent{}); got != 32 {
		t.Errorf("io_event is %d bytes, the kernel's is 32", got)
	}
	if got := unsafe.Offsetof(iocb{}.buf); got != 24 {
		t.Errorf("iocb.aio_buf at offset %d, the kernel's is 24", got)
	}
	if got := unsafe.Offsetof(iocb{}.offset); got != 40 {
		t.Errorf("iocb.aio_offset at offset %d, the kernel's is 40", got)
	}
}
