package memory

import (
	"fmt"
	"slices"
	"strings"
)

// kernels are the four STREAM kernels over one slice of the arrays, in one
// instruction set. Each reads and writes the arrays with ordinary loads and
// stores, as a C STREAM built with -O3 does: the stores allocate their
// cache lines, so the memory system moves the destination too, and
// STREAM's counting (2 arrays for copy and scale, 3 for add and triad)
// counts what the kernel asked for, not what the caches moved.
type kernels struct {
	// vector names the instruction set: avx512, avx, sse2, or go (the
	// portable loops, which Go's compiler does not vectorize).
	vector string
	copy   func(c, a []float64)               // c = a
	scale  func(b, c []float64, q float64)    // b = q·c
	add    func(c, a, b []float64)            // c = a + b
	triad  func(a, b, c []float64, q float64) // a = b + q·c
}

// portable are the kernels in Go, for any CPU. copy is a loop, not Go's
// copy: the runtime's memmove uses non-temporal stores for large copies,
// which move a third fewer bytes than STREAM's copy and read 1.25–1.65×
// a C STREAM's copy on the same host.
var portable = kernels{
	vector: "go",
	copy: func(c, a []float64) {
		a = a[:len(c)]
		for i := range c {
			c[i] = a[i]
		}
	},
	scale: func(b, c []float64, q float64) {
		c = c[:len(b)]
		for i := range b {
			b[i] = q * c[i]
		}
	},
	add: func(c, a, b []float64) {
		a, b = a[:len(c)], b[:len(c)]
		for i := range c {
			c[i] = a[i] + b[i]
		}
	},
	triad: func(a, b, c []float64, q float64) {
		b, c = b[:len(a)], c[:len(a)]
		for i := range a {
			a[i] = b[i] + q*c[i]
		}
	},
}

// vectors lists the kernels this CPU (and its operating system) runs,
// widest first; the portable ones last.
func vectors() []kernels { return append(accelerated(), portable) }

// Vectors are the names the vector parameter takes besides auto.
var Vectors = []string{"avx512", "avx", "sse2", "go"}

// pick returns the kernels for the vector parameter: auto is the widest
// this CPU has.
func pick(want string) (kernels, error) {
	have := vectors()
	if want == "auto" || want == "" {
		return have[0], nil
	}
	if i := slices.IndexFunc(have, func(k kernels) bool { return k.vector == want }); i >= 0 {
		return have[i], nil
	}
	var names []string
	for _, k := range have {
		names = append(names, k.vector)
	}
	return kernels{}, fmt.Errorf("vector %s: this CPU (or this build) has no %s kernels; it has %s (or vector: auto)", want, want, strings.Join(names, ", "))
}
