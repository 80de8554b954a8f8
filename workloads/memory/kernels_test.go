package memory

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// Every instruction set this CPU runs gives the Go kernels' results bit
// for bit, at every length (whole turns of the loop and every tail) and
// from unaligned starts, and writes nothing past the end.
func TestKernelsAgreeWithGo(t *testing.T) {
	have := vectors()
	if len(have) < 2 {
		t.Logf("this CPU has only the portable kernels")
	}
	const q = 3.0
	fill := func(n, seed int) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = math.Sin(float64(i*7+seed)) * 1e3
		}
		return x
	}
	for _, k := range have {
		for _, n := range append(slices.Collect(func(yield func(int) bool) {
			for n := range 70 {
				yield(n)
			}
		}), 1000, 4099) {
			for _, off := range []int{0, 1, 3} {
				type run struct {
					name string
					do   func(k kernels, dst, x, y []float64)
				}
				for _, r := range []run{
					{"copy", func(k kernels, dst, x, _ []float64) { k.copy(dst, x) }},
					{"scale", func(k kernels, dst, x, _ []float64) { k.scale(dst, x, q) }},
					{"add", func(k kernels, dst, x, y []float64) { k.add(dst, x, y) }},
					{"triad", func(k kernels, dst, x, y []float64) { k.triad(dst, x, y, q) }},
				} {
					x, y := fill(n+off, 1)[off:], fill(n+off, 2)[off:]
					got, want := fill(n+off+5, 3)[off:], fill(n+off+5, 3)[off:]
					r.do(k, got[:n], x, y)
					r.do(portable, want[:n], x, y)
					for i := range got {
						if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
							t.Fatalf("%s %s, %d elements from offset %d: element %d is %v, want %v", k.vector, r.name, n, off, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// auto is the widest instruction set; one the CPU lacks is refused with
// the ones it has.
func TestPick(t *testing.T) {
	k, err := pick("auto")
	if err != nil || k.vector != vectors()[0].vector {
		t.Errorf("auto: %s, %v", k.vector, err)
	}
	for _, v := range Vectors {
		k, err := pick(v)
		has := slices.ContainsFunc(vectors(), func(k kernels) bool { return k.vector == v })
		if has && (err != nil || k.vector != v) || !has && (err == nil || !strings.Contains(err.Error(), "has no "+v+" kernels")) {
			t.Errorf("%s: %s, %v (this CPU has it: %v)", v, k.vector, err, has)
		}
	}
	if _, err := pick("go"); err != nil {
		t.Errorf("the portable kernels are everywhere: %v", err)
	}
}
