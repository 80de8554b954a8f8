package history

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveQ is the E-Divisive statistic of splitting v at t, from its
// definition.
func naiveQ(v []float64, t int) float64 {
	x, y := v[:t], v[t:]
	var xy, xx, yy float64
	for _, a := range x {
		for _, b := range y {
			xy += math.Abs(a - b)
		}
	}
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			xx += math.Abs(x[i] - x[j])
		}
	}
	for i := range y {
		for j := i + 1; j < len(y); j++ {
			yy += math.Abs(y[i] - y[j])
		}
	}
	l, m := float64(len(x)), float64(len(y))
	return l * m / (l + m) * (2*xy/(l*m) - xx/(l*(l-1)/2) - yy/(m*(m-1)/2))
}

// The O(n log n) scan finds the split and statistic the definition gives,
// values in any order, with ties.
func TestBestSplitIsTheDefinitions(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	var tree fenwick
	for trial := range 200 {
		n := 6 + r.IntN(60)
		z := make([]float64, n+4)
		for i := range z {
			z[i] = math.Round(r.NormFloat64()*4) / 4 // ties
			if i > n/2 {
				z[i] += float64(trial%3) * 0.5
			}
		}
		seg := newSegment(z, 2, n+2)
		perm := identity(n)
		r.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		got, ok := seg.bestSplit(3, perm, &tree)
		v := make([]float64, n)
		for i, p := range perm {
			v[i] = seg.v[p]
		}
		want := split{q: math.Inf(-1)}
		for at := 3; at <= n-3; at++ {
			if q := naiveQ(v, at); q > want.q+1e-9 {
				want.q, want.at = q, 2+at
			}
		}
		// Ties of the statistic may pick either split: the one picked
		// must be as good, by the definition.
		close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
		if !ok || !close(got.q, want.q) || !close(naiveQ(v, got.at-2), want.q) {
			t.Fatalf("n=%d: split at %d q=%g, want %d q=%g", n, got.at, got.q, want.at, want.q)
		}
	}
}
