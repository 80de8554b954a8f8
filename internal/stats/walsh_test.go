package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// allWalsh is every Walsh average, sorted: what paired built before
// selection, kept here as the reference.
func allWalsh(x []float64) []float64 {
	var w []float64
	for i := range x {
		for j := i; j < len(x); j++ {
			w = append(w, (x[i]+x[j])/2)
		}
	}
	slices.Sort(w)
	return w
}

// Selection gives the very order statistics a sort of all averages gives,
// bit for bit: every rank of small samples, with ties, zeros, negative and
// widely spread values.
func TestWalshSelectionIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 400 {
		n := 1 + trial%60
		x := make([]float64, n)
		for i := range x {
			switch trial % 4 {
			case 0:
				x[i] = rng.NormFloat64() * 0.03
			case 1: // ties and zeros
				x[i] = float64(rng.IntN(5)-2) / 100
			case 2: // heavy tails
				x[i] = math.Tan(math.Pi * (rng.Float64() - 0.5))
			default:
				x[i] = math.Log(1 + 0.1*rng.Float64())
			}
		}
		all := allWalsh(x)
		w := walsh{x: slices.Sorted(slices.Values(x))}
		for k := range all {
			if got := w.kth(k); math.Float64bits(got) != math.Float64bits(all[k]) {
				t.Fatalf("n=%d k=%d: %v, want %v (values %v)", n, k, got, all[k], x)
			}
		}
		if got, want := w.median(), median(slices.Clone(all)); got != want {
			t.Fatalf("n=%d: median %v, want %v", n, got, want)
		}
	}
}

// The paired estimate of 20,000 rounds: before selection it built all 200
// million Walsh averages (3 GB, 39 s); now O(n) memory.
func BenchmarkPaired20000(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	logs := make([]float64, 20000)
	for i := range logs {
		logs[i] = 0.03 + 0.02*rng.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		paired(logs, 0.95)
	}
}
