package history

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Search is how change points are looked for in a series.
type Search struct {
	// Alpha is the significance of each split: the permutation test's
	// p-value must be at most Alpha. A series without a change has a
	// change point found in it at most this often (the first split is
	// tested at Alpha, and the search stops at the first that fails).
	Alpha float64 `json:"alpha"`
	// Permutations is the most permutations a test draws; it stops early
	// once the split cannot reach Alpha.
	Permutations int `json:"permutations"`
	// MinChange is the smallest change kept, as a relative change of the
	// series' level (0.01: 1%); smaller ones are merged away.
	MinChange float64 `json:"min_change"`
	// MinSize is the fewest points on each side of a split.
	MinSize int `json:"min_size"`
}

// DefaultSearch is the search vmbench history and gate --history use
// unless told otherwise.
var DefaultSearch = Search{Alpha: 0.01, Permutations: 999, MinChange: 0.01, MinSize: 3}

// split is the best split of a segment: its start in the series, the
// split point (the first index of the right side) and the statistic.
type split struct {
	from, to, at int
	q            float64
}

// Split finds the change points of z, a series on a log scale (the log of
// a cost ratio or of a metric), by E-Divisive means (Matteson and James,
// 2014, as Apache Otava and MongoDB's CI use it): the split that most
// separates the two sides' energy distance, tested by permuting the
// segment, and again in each part while the test holds. It returns the
// indices where a new level starts, ascending. The permutations are
// seeded from the data, so the same series always gives the same answer.
func (s Search) Split(z []float64) []int {
	size := max(s.MinSize, 2)
	rng := rand.New(rand.NewPCG(seed(z), 0x766d62656e6368))
	var cps []int
	bounds := []int{0, len(z)}
	for {
		// The best split of every segment between the change points so
		// far; the strongest is tested.
		var best split
		best.q = math.Inf(-1)
		for i := 0; i+1 < len(bounds); i++ {
			if c, ok := bestSplit(z, bounds[i], bounds[i+1], size, identity(bounds[i+1]-bounds[i])); ok && c.q > best.q {
				best = c
			}
		}
		if math.IsInf(best.q, -1) || !s.significant(z, best, size, rng) {
			break
		}
		cps = append(cps, best.at)
		bounds = append(bounds, best.at)
		slices.Sort(bounds)
	}
	slices.Sort(cps)
	return cps
}

// significant is the permutation test of a split: the segment's values
// shuffled, how often does its best split separate them as much.
func (s Search) significant(z []float64, b split, size int, rng *rand.Rand) bool {
	n := b.to - b.from
	perm := identity(n)
	// p = (exceed+1)/(R+1) ≤ Alpha needs exceed < Alpha·(R+1) − 1.
	limit := int(math.Ceil(s.Alpha*float64(s.Permutations+1))) - 1
	exceed := 0
	for range s.Permutations {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		if c, ok := bestSplit(z, b.from, b.to, size, perm); ok && c.q >= b.q {
			if exceed++; exceed > limit {
				return false
			}
		}
	}
	return float64(exceed+1)/float64(s.Permutations+1) <= s.Alpha
}

func identity(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

// bestSplit scans the segment z[from:to], its values taken in the order
// perm gives, for the split τ that maximises the E-Divisive statistic
//
//	q(τ) = τ·m/n · ( 2/(τ·m)·Σ|x−y| − Σ|x−x'|/C(τ,2) − Σ|y−y'|/C(m,2) )
//
// (x the τ values before it, y the m = n−τ after), in O(n²): the three
// sums are updated as each value moves from the right side to the left.
func bestSplit(z []float64, from, to, size int, perm []int) (split, bool) {
	n := to - from
	if n < 2*size {
		return split{}, false
	}
	v := make([]float64, n)
	for i, p := range perm {
		v[i] = z[from+p]
	}
	// row[i] is Σ_j |v_i − v_j| over the whole segment.
	var within, between, right float64
	for i := range n {
		for j := i + 1; j < n; j++ {
			right += math.Abs(v[i] - v[j])
		}
	}
	best := split{from: from, to: to, q: math.Inf(-1)}
	for t := 1; t < n-size+1; t++ {
		// Move v[t−1] from the right side to the left.
		k := t - 1
		var toLeft, toRight float64
		for j := range k {
			toLeft += math.Abs(v[k] - v[j])
		}
		for j := k + 1; j < n; j++ {
			toRight += math.Abs(v[k] - v[j])
		}
		within += toLeft
		right -= toRight
		between += toRight - toLeft
		if t < size {
			continue
		}
		l, m := float64(t), float64(n-t)
		e := 2*between/(l*m) - within/(l*(l-1)/2) - right/(m*(m-1)/2)
		if q := l * m / float64(n) * e; q > best.q {
			best.q, best.at = q, from+t
		}
	}
	return best, !math.IsInf(best.q, -1)
}

// seed is a hash of the series, for permutations that repeat.
func seed(z []float64) uint64 {
	h := uint64(1469598103934665603)
	for _, x := range z {
		h ^= math.Float64bits(x)
		h *= 1099511628211
	}
	return h
}
