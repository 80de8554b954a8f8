//go:build !amd64

package memory

// accelerated: this architecture has the portable kernels only.
func accelerated() []kernels { return nil }
