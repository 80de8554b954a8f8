package memory

import "golang.org/x/sys/cpu"

// accelerated are the assembly kernels this CPU runs, widest first
// (kernels_amd64.s). x/sys/cpu checks that the operating system saves the
// wide registers too, as a guest's kernel may not.
func accelerated() []kernels {
	var out []kernels
	if cpu.X86.HasAVX512F {
		out = append(out, kernels{"avx512", wrapCopy(copyAVX512), wrapScale(scaleAVX512), wrapAdd(addAVX512), wrapTriad(triadAVX512)})
	}
	if cpu.X86.HasAVX {
		out = append(out, kernels{"avx", wrapCopy(copyAVX), wrapScale(scaleAVX), wrapAdd(addAVX), wrapTriad(triadAVX)})
	}
	return append(out, kernels{"sse2", wrapCopy(copySSE2), wrapScale(scaleSSE2), wrapAdd(addSSE2), wrapTriad(triadSSE2)})
}

// The assembly kernels take the arrays' first elements and a length.

//go:noescape
func copyAVX512(dst, src *float64, n int)

//go:noescape
func scaleAVX512(dst, src *float64, n int, q float64)

//go:noescape
func addAVX512(dst, x, y *float64, n int)

//go:noescape
func triadAVX512(dst, x, y *float64, n int, q float64)

//go:noescape
func copyAVX(dst, src *float64, n int)

//go:noescape
func scaleAVX(dst, src *float64, n int, q float64)

//go:noescape
func addAVX(dst, x, y *float64, n int)

//go:noescape
func triadAVX(dst, x, y *float64, n int, q float64)

//go:noescape
func copySSE2(dst, src *float64, n int)

//go:noescape
func scaleSSE2(dst, src *float64, n int, q float64)

//go:noescape
func addSSE2(dst, x, y *float64, n int)

//go:noescape
func triadSSE2(dst, x, y *float64, n int, q float64)

// The wrappers check the lengths, as the Go kernels' bounds do.

func wrapCopy(f func(dst, src *float64, n int)) func(c, a []float64) {
	return func(c, a []float64) {
		if len(c) > 0 {
			f(&c[0], &a[:len(c)][0], len(c))
		}
	}
}

func wrapScale(f func(dst, src *float64, n int, q float64)) func(b, c []float64, q float64) {
	return func(b, c []float64, q float64) {
		if len(b) > 0 {
			f(&b[0], &c[:len(b)][0], len(b), q)
		}
	}
}

func wrapAdd(f func(dst, x, y *float64, n int)) func(c, a, b []float64) {
	return func(c, a, b []float64) {
		if len(c) > 0 {
			f(&c[0], &a[:len(c)][0], &b[:len(c)][0], len(c))
		}
	}
}

func wrapTriad(f func(dst, x, y *float64, n int, q float64)) func(a, b, c []float64, q float64) {
	return func(a, b, c []float64, q float64) {
		if len(a) > 0 {
			f(&a[0], &b[:len(a)][0], &c[:len(a)][0], len(a), q)
		}
	}
}
