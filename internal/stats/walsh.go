package stats

import (
	"math/rand/v2"
	"slices"
)

// walsh holds the Walsh averages (x[i]+x[j])/2, i ≤ j, of sorted values
// without making them: n values have n(n+1)/2 of them (20,000 rounds: 200
// million, 1.6 GB), and the paired estimate needs only a few of their order
// statistics. Row i, the averages of x[i] with x[i..n), is sorted, so
// counting the averages below a value takes one pass of two pointers, and
// selection narrows each row's candidates around random pivots as
// Monahan's algorithm for the Hodges-Lehmann estimator does: O(n log n)
// expected, in O(n) memory.
type walsh struct {
	x []float64 // sorted
}

// avg is the average at row i, column j, computed exactly as a sort of all
// of them would: the results are the same order statistics, bit for bit.
func (w walsh) avg(i, j int) float64 { return (w.x[i] + w.x[j]) / 2 }

// size is the number of averages.
func (w walsh) size() int { n := len(w.x); return n * (n + 1) / 2 }

// below sets less[i] (leq[i]) to the number of averages of row i that are
// less than (at most) p, and returns their totals.
func (w walsh) below(p float64, less, leq []int) (nLess, nLeq int) {
	n := len(w.x)
	jl, je := n-1, n-1
	for i := range n {
		// The largest column whose average is < p (≤ p) falls as i grows.
		for jl >= 0 && w.avg(i, jl) >= p {
			jl--
		}
		for je >= 0 && w.avg(i, je) > p {
			je--
		}
		less[i], leq[i] = max(jl-i+1, 0), max(je-i+1, 0)
		nLess += less[i]
		nLeq += leq[i]
	}
	return nLess, nLeq
}

// kth returns the average of rank k (from 0) among all of them in
// ascending order.
func (w walsh) kth(k int) float64 {
	n := len(w.x)
	// Row i's candidates are columns lo[i]..hi[i]; the averages left of
	// lo[i] are known to rank below k, those right of hi[i] above.
	lo, hi := make([]int, n), make([]int, n)
	for i := range n {
		lo[i], hi[i] = i, n-1
	}
	less, leq := make([]int, n), make([]int, n)
	rng := rand.New(rand.NewPCG(uint64(n), uint64(k)))
	for {
		left, total := 0, 0
		for i := range n {
			left += lo[i] - i
			total += max(hi[i]-lo[i]+1, 0)
		}
		if total <= max(n, 64) {
			c := make([]float64, 0, total)
			for i := range n {
				for j := lo[i]; j <= hi[i]; j++ {
					c = append(c, w.avg(i, j))
				}
			}
			slices.Sort(c)
			return c[k-left]
		}
		// A pivot drawn from the candidates at random.
		r := rng.IntN(total)
		var p float64
		for i := range n {
			if m := max(hi[i]-lo[i]+1, 0); r < m {
				p = w.avg(i, lo[i]+r)
				break
			} else {
				r -= m
			}
		}
		nLess, nLeq := w.below(p, less, leq)
		switch {
		case k < nLess: // below p: keep the columns under it
			for i := range n {
				hi[i] = min(hi[i], i+less[i]-1)
			}
		case k >= nLeq: // above p
			for i := range n {
				lo[i] = max(lo[i], i+leq[i])
			}
		default:
			return p
		}
	}
}

// median is the median of the averages, as median() of all of them is.
func (w walsh) median() float64 {
	m := w.size()
	if m%2 == 1 {
		return w.kth(m / 2)
	}
	return (w.kth(m/2-1) + w.kth(m/2)) / 2
}
