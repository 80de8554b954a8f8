// Package cpu is the built-in compute workload: a kernel over in-memory data
// on N threads, reported as bytes processed per second. It is what the
// "near-zero CPU overhead" claim about virtualization is checked against.
package cpu

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
)

// Workload is the cpu workload.
type Workload struct{}

var _ workload.Workload = Workload{}

func (Workload) Name() string { return "cpu" }

func (Workload) Describe() string {
	return "compute kernel over in-memory data on N threads (hash: SHA-256 of 64 KiB blocks; compress: DEFLATE of 256 KiB of text-like data)"
}

func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "kernel", Kind: workload.Enum, Choices: []string{"hash", "compress"}, Default: "hash", Help: "the compute kernel"},
		{Name: "threads", Kind: workload.Int, Default: "1", Min: 1, Max: 1024, Help: "goroutines working at once, each on its own data"},
		{Name: "duration", Kind: workload.Duration, Default: "1s", Min: int64(10 * time.Millisecond), Help: "how long one trial works"},
	}
}

func (Workload) Metrics() []workload.MetricInfo {
	return []workload.MetricInfo{{Name: "throughput", Unit: "B/s", Help: "input bytes processed per second, all threads together", Resource: workload.ResCPU}}
}

func (Workload) Validate(workload.Params) error { return nil }

func (Workload) Run(ctx context.Context, p workload.Params) (workload.Result, error) {
	threads := p.Int("threads")
	var step func(buf []byte)
	var blockSize int
	switch p["kernel"] {
	case "hash":
		blockSize = 64 << 10
		step = func(buf []byte) { sha256.Sum256(buf) }
	case "compress":
		blockSize = 256 << 10
		step = func(buf []byte) {
			w, _ := flate.NewWriter(io.Discard, flate.DefaultCompression)
			w.Write(buf)
			w.Close()
		}
	default:
		return workload.Result{}, fmt.Errorf("kernel %q is unknown", p["kernel"])
	}
	var wg sync.WaitGroup
	counts := make([]int64, threads)
	elapsed := make([]time.Duration, threads)
	for i := range threads {
		buf := textLike(blockSize, uint64(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], elapsed[i] = workload.Deadline(ctx, p.Duration("duration"), func() { step(buf) })
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return workload.Result{}, err
	}
	var rate, work float64
	for i := range threads {
		rate += float64(counts[i]) * float64(blockSize) / elapsed[i].Seconds()
		work += float64(counts[i]) * float64(blockSize)
	}
	return workload.Result{Metrics: []result.Metric{{Name: "throughput", Unit: "B/s", Value: rate}}, Work: work}, nil
}

// textLike returns n bytes of words drawn from a small vocabulary, so that
// DEFLATE finds matches as it would in logs or JSON, seeded for repeatability.
func textLike(n int, seed uint64) []byte {
	words := []string{"the ", "quick ", "container ", "virtual ", "machine ", "kernel ", "runs ", "{\"id\":", "42, ", "\n", "overhead ", "latency "}
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.Bytes()[:n]
}
