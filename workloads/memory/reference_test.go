package memory

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
)

// BenchmarkStreamReference runs each kernel side by side with a C STREAM
// (testdata/stream.c, cc -O3 -fopenmp) at 1 thread and at every CPU,
// turn about, a second each, and reports the median of the turns'
// ratios (go/C; 1 is as fast as C) and both bandwidths:
//
//	go test ./workloads/memory -run '^$' -bench StreamReference -benchtime 7x
//
// STREAM_VECTOR picks the Go kernels' instruction set (default auto).
// docs/measurements.md has the figures of a run.
func BenchmarkStreamReference(b *testing.B) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		b.Skip("no C compiler (cc)")
	}
	bin := filepath.Join(b.TempDir(), "stream")
	if out, err := exec.Command(cc, "-O3", "-fopenmp", "-o", bin, "testdata/stream.c").CombinedOutput(); err != nil {
		b.Fatalf("cc -O3 -fopenmp testdata/stream.c: %v\n%s", err, out)
	}
	vector := os.Getenv("STREAM_VECTOR")
	if vector == "" {
		vector = "auto"
	}
	size := Workload{}.defaultSize()
	bytes, _ := units.ParseSize(size)
	for _, op := range []string{"copy", "scale", "add", "triad"} {
		for _, threads := range slices.Compact([]int{1, runtime.NumCPU()}) {
			b.Run(fmt.Sprintf("%s/threads=%d", op, threads), func(b *testing.B) {
				p, errs := workload.Complete(Workload{}, map[string]string{"op": op, "threads": strconv.Itoa(threads), "duration": "1s", "vector": vector})
				if len(errs) > 0 {
					b.Fatal(errs)
				}
				var ratios, gos, cs []float64
				for b.Loop() {
					res, err := Workload{}.Run(context.Background(), p)
					if err != nil {
						b.Fatal(err)
					}
					cmd := exec.Command(bin, op, strconv.FormatInt(bytes, 10), "1")
					cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+strconv.Itoa(threads))
					out, err := cmd.Output()
					if err != nil {
						b.Fatalf("%s: %v", bin, err)
					}
					c, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
					if err != nil {
						b.Fatalf("%s said %q", bin, out)
					}
					g := res.Metrics[0].Value
					gos, cs, ratios = append(gos, g), append(cs, c), append(ratios, g/c)
					time.Sleep(100 * time.Millisecond)
				}
				b.ReportMetric(median(ratios), "go/C")
				b.ReportMetric(median(gos)/1e9, "go-GB/s")
				b.ReportMetric(median(cs)/1e9, "C-GB/s")
				b.ReportMetric(0, "ns/op")
				b.Logf("arrays of %s, vector %s: go/C per turn %.3f", size, vector, ratios)
			})
		}
	}
}

func median(x []float64) float64 {
	s := slices.Sorted(slices.Values(x))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
