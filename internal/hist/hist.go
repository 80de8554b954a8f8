// Package hist records latencies as a log-linear histogram, as HdrHistogram
// does: exact below 128 ns, and within 1/64 (1.6%) of the value above, over
// any range, in a few hundred buckets. Histograms of many trials merge
// exactly, so that a report's percentiles come from every recorded event.
package hist

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// Hist counts durations in nanoseconds.
type Hist struct {
	counts map[int]uint64
	n      uint64
	sum    float64 // ns
	min    int64
	max    int64
}

// New returns an empty histogram.
func New() *Hist { return &Hist{counts: map[int]uint64{}} }

const subBits = 6 // 64 sub-buckets per power of two above 128

// index returns the bucket of v ≥ 0.
func index(v int64) int {
	if v < 2<<subBits {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (subBits + 1)
	return shift<<subBits + int(v>>shift)
}

// bounds returns the lowest value of bucket i and its width.
func bounds(i int) (lo, width int64) {
	if i < 2<<subBits {
		return int64(i), 1
	}
	shift := i>>subBits - 1
	m := int64(i - shift<<subBits)
	return m << shift, 1 << shift
}

// Record counts one duration, in nanoseconds; negative values count as 0.
func (h *Hist) Record(ns int64) { h.RecordN(ns, 1) }

// RecordN counts n events of the same duration.
func (h *Hist) RecordN(ns int64, n uint64) {
	ns = max(ns, 0)
	if h.n == 0 || ns < h.min {
		h.min = ns
	}
	h.max = max(h.max, ns)
	h.counts[index(ns)] += n
	h.n += n
	h.sum += float64(ns) * float64(n)
}

// Merge adds o's events to h.
func (h *Hist) Merge(o *Hist) {
	if o == nil || o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of events.
func (h *Hist) Count() uint64 { return h.n }

// Mean is the mean duration in seconds.
func (h *Hist) Mean() float64 {
	if h.n == 0 {
		return math.NaN()
	}
	return h.sum / float64(h.n) / 1e9
}

// Quantile returns the duration, in seconds, below which a fraction q of
// the events lie: the middle of the bucket that holds the q-th event,
// clamped to the recorded minimum and maximum.
func (h *Hist) Quantile(q float64) float64 {
	if h.n == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for _, i := range h.buckets() {
		seen += h.counts[i]
		if seen >= rank {
			lo, w := bounds(i)
			v := float64(lo) + float64(w-1)/2
			return math.Min(math.Max(v, float64(h.min)), float64(h.max)) / 1e9
		}
	}
	return float64(h.max) / 1e9
}

func (h *Hist) buckets() []int {
	idx := make([]int, 0, len(h.counts))
	for i := range h.counts {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	return idx
}

// wire is the JSON form: the non-empty buckets as [index, count] pairs.
type wire struct {
	Unit    string      `json:"unit"`
	N       uint64      `json:"n"`
	SumNS   float64     `json:"sum_ns"`
	MinNS   int64       `json:"min_ns"`
	MaxNS   int64       `json:"max_ns"`
	Buckets [][2]uint64 `json:"buckets"`
}

func (h *Hist) MarshalJSON() ([]byte, error) {
	w := wire{Unit: "ns", N: h.n, SumNS: h.sum, MinNS: h.min, MaxNS: h.max, Buckets: [][2]uint64{}}
	for _, i := range h.buckets() {
		w.Buckets = append(w.Buckets, [2]uint64{uint64(i), h.counts[i]})
	}
	return json.Marshal(w)
}

func (h *Hist) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Unit != "ns" {
		return fmt.Errorf("histogram unit %q, want ns", w.Unit)
	}
	*h = Hist{counts: map[int]uint64{}, sum: w.SumNS, min: w.MinNS, max: w.MaxNS}
	for _, b := range w.Buckets {
		h.counts[int(b[0])] += b[1]
		h.n += b[1]
	}
	if h.n != w.N {
		return fmt.Errorf("histogram counts add up to %d, header says %d", h.n, w.N)
	}
	return nil
}
