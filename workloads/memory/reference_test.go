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

	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
)

// BenchmarkStreamReference runs each kernel side by side with a C STREAM
// (testdata/stream.c, cc -O3 -fopenmp) at 1 thread and at every CPU,
// turn about (each first every other turn), half a second each, and
// reports go/C (1 is as fast as C) as vmbench reports an overhead: the
// Hodges-Lehmann estimate over the paired turns with its 95% signed-rank
// interval (go/C-lo, go/C-hi); and both sides' median bandwidths:
//
//	go test ./workloads/memory -run '^$' -bench StreamReference -benchtime 31x
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
				p, errs := workload.Complete(Workload{}, map[string]string{"op": op, "threads": strconv.Itoa(threads), "duration": "500ms", "vector": vector})
				if len(errs) > 0 {
					b.Fatal(errs)
				}
				var ratios, gos, cs []float64
				var vectors []string
				goTurn := func() float64 {
					res, err := Workload{}.Run(context.Background(), p)
					if err != nil {
						b.Fatal(err)
					}
					vectors = append(vectors, res.Conditions["vector"])
					return res.Metrics[0].Value
				}
				cTurn := func() float64 {
					cmd := exec.Command(bin, op, strconv.FormatInt(bytes, 10), "0.5")
					cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+strconv.Itoa(threads))
					out, err := cmd.Output()
					if err != nil {
						b.Fatalf("%s: %v", bin, err)
					}
					c, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
					if err != nil {
						b.Fatalf("%s said %q", bin, out)
					}
					return c
				}
				for turn := 0; b.Loop(); turn++ {
					var g, c float64
					if turn%2 == 0 { // each goes first every other turn
						g, c = goTurn(), cTurn()
					} else {
						c, g = cTurn(), goTurn()
					}
					gos, cs, ratios = append(gos, g), append(cs, c), append(ratios, g/c)
					time.Sleep(100 * time.Millisecond)
				}
				// Turns paired as vmbench pairs rounds: the Hodges-Lehmann
				// estimate of go/C with its 95% signed-rank interval.
				rounds := make([]int64, len(cs))
				for i := range rounds {
					rounds[i] = int64(i)
				}
				e := stats.Compare(stats.Values{V: cs, Round: rounds}, stats.Values{V: gos, Round: rounds}, true, 0.95)
				b.ReportMetric(1/(1+e.Overhead), "go/C")
				b.ReportMetric(1/(1+e.Hi), "go/C-lo")
				b.ReportMetric(1/(1+e.Lo), "go/C-hi")
				b.ReportMetric(stats.Summarize(slices.Clone(gos)).Center/1e9, "go-GB/s")
				b.ReportMetric(stats.Summarize(slices.Clone(cs)).Center/1e9, "C-GB/s")
				b.ReportMetric(0, "ns/op")
				b.Logf("arrays of %s, vector %s (ran %s): go/C per turn %.3f", size, vector, slices.Compact(vectors), ratios)
			})
		}
	}
}
