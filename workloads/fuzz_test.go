package workloads_test

import (
	"os"
	"testing"

	"github.com/vmbench/vmbench/workloads/fio"
	"github.com/vmbench/vmbench/workloads/iperf3"
	"github.com/vmbench/vmbench/workloads/redis"
	"github.com/vmbench/vmbench/workloads/stressng"
	"github.com/vmbench/vmbench/workloads/sysbench"
)

// FuzzParsers: every tool's output parser, on any output (a newer tool
// version, a truncated file, garbage), returns metrics or an error, never
// panics.
func FuzzParsers(f *testing.F) {
	for _, p := range []string{
		"fio/testdata/fio-randread.json", "fio/testdata/fio-randrw.json", "iperf3/testdata/iperf3-stream.json",
		"redis/testdata/redis-benchmark.csv", "stressng/testdata/stress-ng-cpu.yaml", "stressng/testdata/stress-ng-stream.yaml",
		"sysbench/testdata/sysbench-cpu.txt", "sysbench/testdata/sysbench-memory.txt",
	} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		fio.Parse(out)
		iperf3.Parse(out)
		redis.Parse(out)
		for _, s := range []string{"stream", "cpu"} {
			stressng.Parse(s, out)
		}
		for _, s := range []string{"cpu", "memory"} {
			sysbench.Parse(s, out)
		}
	})
}
