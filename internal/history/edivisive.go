package history

import (
	"cmp"
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
	var tree fenwick
	bounds := []int{0, len(z)}
	for {
		// The best split of every segment between the change points so
		// far; the strongest is tested.
		var best split
		var seg *segment
		best.q = math.Inf(-1)
		for i := 0; i+1 < len(bounds); i++ {
			g := newSegment(z, bounds[i], bounds[i+1])
			if c, ok := g.bestSplit(size, identity(bounds[i+1]-bounds[i]), &tree); ok && c.q > best.q {
				best, seg = c, g
			}
		}
		if seg == nil || !s.significant(seg, best, size, rng, &tree) {
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
func (s Search) significant(seg *segment, b split, size int, rng *rand.Rand, tree *fenwick) bool {
	n := len(seg.v)
	perm := identity(n)
	// p = (exceed+1)/(R+1) ≤ Alpha needs exceed < Alpha·(R+1) − 1.
	limit := int(math.Ceil(s.Alpha*float64(s.Permutations+1))) - 1
	exceed := 0
	for range s.Permutations {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		if c, ok := seg.bestSplit(size, perm, tree); ok && c.q >= b.q {
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

// segment is a stretch of the series prepared for bestSplit: what does
// not depend on the order of its values, computed once for the split and
// all its permutations.
type segment struct {
	from, to int
	v        []float64 // the values
	rank     []int     // each value's place among them sorted (ties broken by index)
	row      []float64 // each value's Σ|v−w| over the segment
	pairs    float64   // Σ|v−w| over its pairs
}

func newSegment(z []float64, from, to int) *segment {
	n := to - from
	s := &segment{from: from, to: to, v: z[from:to], rank: make([]int, n), row: make([]float64, n)}
	order := identity(n)
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(s.v[a], s.v[b]) })
	total := 0.0
	for _, i := range order {
		total += s.v[i]
	}
	below := 0.0
	for p, i := range order {
		s.rank[i] = p
		x := s.v[i]
		s.row[i] = x*float64(p) - below + (total - below - x) - x*float64(n-p-1)
		below += x
		s.pairs += s.row[i] / 2
	}
	return s
}

// bestSplit scans the segment, its values taken in the order perm gives,
// for the split τ that maximises the E-Divisive statistic
//
//	q(τ) = τ·m/n · ( 2/(τ·m)·Σ|x−y| − Σ|x−x'|/C(τ,2) − Σ|y−y'|/C(m,2) )
//
// (x the τ values before it, y the m = n−τ after). The three sums are
// updated as each value moves from the right side to the left; its
// distances to the values already on the left come from a Fenwick tree
// over their ranks, so that a scan takes O(n log n).
func (s *segment) bestSplit(size int, perm []int, tree *fenwick) (split, bool) {
	n := len(s.v)
	if n < 2*size {
		return split{}, false
	}
	tree.reset(n)
	within, between, right := 0.0, 0.0, s.pairs
	best := split{from: s.from, to: s.to, q: math.Inf(-1)}
	for t := 1; t <= n-size; t++ {
		// Move the t-th value from the right side to the left.
		i := perm[t-1]
		x := s.v[i]
		cnt, sum := tree.below(s.rank[i])
		allCnt, allSum := float64(t-1), tree.total
		toLeft := x*cnt - sum + (allSum - sum) - x*(allCnt-cnt)
		toRight := s.row[i] - toLeft
		tree.add(s.rank[i], x)
		within += toLeft
		right -= toRight
		between += toRight - toLeft
		if t < size {
			continue
		}
		l, m := float64(t), float64(n-t)
		e := 2*between/(l*m) - within/(l*(l-1)/2) - right/(m*(m-1)/2)
		if q := l * m / float64(n) * e; q > best.q {
			best.q, best.at = q, s.from+t
		}
	}
	return best, !math.IsInf(best.q, -1)
}

// fenwick counts and sums the values inserted, by rank.
type fenwick struct {
	cnt, sum []float64
	total    float64
}

func (f *fenwick) reset(n int) {
	if cap(f.cnt) < n+1 {
		f.cnt, f.sum = make([]float64, n+1), make([]float64, n+1)
	}
	f.cnt, f.sum = f.cnt[:n+1], f.sum[:n+1]
	clear(f.cnt)
	clear(f.sum)
	f.total = 0
}

func (f *fenwick) add(rank int, x float64) {
	f.total += x
	for i := rank + 1; i < len(f.cnt); i += i & -i {
		f.cnt[i]++
		f.sum[i] += x
	}
}

// below is the count and sum of the values inserted with a lower rank.
func (f *fenwick) below(rank int) (cnt, sum float64) {
	for i := rank; i > 0; i -= i & -i {
		cnt += f.cnt[i]
		sum += f.sum[i]
	}
	return cnt, sum
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
