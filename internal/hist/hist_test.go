package hist

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBucketsAreContiguous(t *testing.T) {
	prevLo, prevW := bounds(0)
	for i := 1; i < 64*40; i++ {
		lo, w := bounds(i)
		if lo != prevLo+prevW {
			t.Fatalf("bucket %d starts at %d, the previous ends at %d", i, lo, prevLo+prevW)
		}
		if index(lo) != i || index(lo+w-1) != i {
			t.Fatalf("bucket %d [%d, %d) maps back to %d and %d", i, lo, lo+w, index(lo), index(lo+w-1))
		}
		if lo >= 128 && float64(w)/float64(lo) > 1.0/64+1e-12 {
			t.Fatalf("bucket %d: width %d at %d is coarser than 1/64", i, w, lo)
		}
		prevLo, prevW = lo, w
	}
}

// Quantiles agree with the exact order statistics of the recorded values
// to the histogram's precision.
func TestQuantilesAgainstExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := New()
	var vals []float64
	for range 100000 {
		v := int64(math.Exp(r.NormFloat64()*1.5 + 10)) // log-normal, µs to ms
		h.Record(v)
		vals = append(vals, float64(v))
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(math.Ceil(q*float64(len(vals))))-1] / 1e9
		if got := h.Quantile(q); math.Abs(got-exact)/exact > 1.0/64 {
			t.Errorf("p%g = %g s, exact %g s", 100*q, got, exact)
		}
	}
	if h.Quantile(0) != vals[0]/1e9 || h.Quantile(1) != vals[len(vals)-1]/1e9 {
		t.Errorf("p0 %g, p100 %g; min %g, max %g", h.Quantile(0), h.Quantile(1), vals[0]/1e9, vals[len(vals)-1]/1e9)
	}
}

func TestMergeAndJSON(t *testing.T) {
	a, b := New(), New()
	for i := range 1000 {
		a.Record(int64(1000 + i))
		b.Record(int64(50000 + 10*i))
	}
	a.Merge(b)
	if a.Count() != 2000 || math.Abs(a.Mean()-(1499.5+54995)/2/1e9) > 1e-15 {
		t.Errorf("merged: n %d, mean %g", a.Count(), a.Mean())
	}
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back Hist
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	for _, q := range []float64{0, 0.25, 0.5, 0.75, 0.999, 1} {
		if back.Quantile(q) != a.Quantile(q) {
			t.Errorf("p%g: %g after the round trip, %g before", 100*q, back.Quantile(q), a.Quantile(q))
		}
	}
	if err := json.Unmarshal([]byte(`{"unit":"ns","n":5,"buckets":[[3,1]]}`), &back); err == nil {
		t.Error("a histogram whose counts do not add up was accepted")
	}
}
