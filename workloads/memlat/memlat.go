// Package memlat is the built-in memory latency workload: a random pointer
// chase, where every load's address comes from the load before it, so the
// CPU can neither prefetch nor overlap them. With a working set past the
// last-level cache, every load misses to DRAM and, in a guest, walks the
// second-level (EPT) page tables as well: where nested paging shows.
package memlat

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
)

// Workload is the memlat workload.
type Workload struct{}

var _ workload.Workload = Workload{}

func (Workload) Name() string { return "memlat" }

func (Workload) Describe() string {
	return "memory latency: a random pointer chase (one cycle through the working set, one dependent load after another)"
}

func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "size", Kind: workload.Size, Default: "64MiB", Min: 4 << 10, Max: 16 << 30,
			Help: "working set: below the L1/L2/last-level cache sizes it measures that cache, above them DRAM (and the TLBs)"},
		{Name: "duration", Kind: workload.Duration, Default: "1s", Min: int64(10 * time.Millisecond), Help: "how long one trial works"},
	}
}

func (Workload) Metrics() []workload.MetricInfo {
	return []workload.MetricInfo{{Name: "latency", Unit: "s", Help: "mean time of one dependent load", Resource: workload.ResMemLat}}
}

func (Workload) Validate(workload.Params) error { return nil }

// step is how many loads are chased between looks at the clock.
const step = 1 << 14

// slot is the distance between two pointers: one cache line, so that every
// load touches a line of its own.
const slot = 8 // uint64s

func (Workload) Run(ctx context.Context, p workload.Params) (workload.Result, error) {
	ring := Ring(int(p.Size("size")/(slot*8)), rand.New(rand.NewPCG(1, 2)))
	var at uint64
	chase := func() {
		for range step {
			at = ring[at]
		}
	}
	chase() // fault the pages in and warm the TLB before timing
	n, took := workload.Deadline(ctx, p.Duration("duration"), chase)
	if err := ctx.Err(); err != nil {
		return workload.Result{}, err
	}
	sink = at
	return workload.Result{Metrics: []result.Metric{
		{Name: "latency", Unit: "s", Value: took.Seconds() / float64(n*step)},
	}}, nil
}

// sink keeps the chase's result alive, so the compiler cannot drop it.
var sink uint64

// Ring builds n cache-line slots of which slot i's first word holds the
// index of the next slot to visit: the slots in a random order, linked into
// one cycle, so that the chase visits every line before it repeats.
func Ring(n int, r *rand.Rand) []uint64 {
	order := make([]uint64, n)
	for i := range order {
		order[i] = uint64(i)
	}
	r.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	ring := make([]uint64, n*slot)
	for i := range n {
		ring[order[i]*slot] = order[(i+1)%n] * slot
	}
	return ring
}
