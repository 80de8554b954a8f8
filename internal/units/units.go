// Package units parses sizes written by people and formats base-unit values
// (s, B, B/s, ops/s) for people. Results are stored in base units; only the
// report uses this package to make them readable.
package units

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

var sizeSuffixes = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"k", 1 << 10}, {"B", 1},
}

// ParseSize parses "4096", "64KiB", "1GiB", "512M" (binary) or "1GB" (decimal).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	num := s
	for _, x := range sizeSuffixes {
		if strings.HasSuffix(s, x.suffix) {
			mult, num = x.mult, strings.TrimSpace(strings.TrimSuffix(s, x.suffix))
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a size (examples: 4096, 64KiB, 1GiB)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("size %q is negative", s)
	}
	return int64(v * float64(mult)), nil
}

// FormatSize renders bytes with binary prefixes, as sizes are usually thought of.
func FormatSize(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%dB", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	v := float64(b) / float64(div)
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f%ciB", v, "KMGTPE"[exp])
	}
	return fmt.Sprintf("%.1f%ciB", v, "KMGTPE"[exp])
}

// Format renders v, given in the base unit, with an SI prefix chosen so that
// three significant digits show: 1.23 GB/s, 45.6 µs, 812 kops/s.
func Format(v float64, unit string) string {
	if unit == "s" {
		return formatSeconds(v)
	}
	if unit == "ratio" {
		return fmt.Sprintf("%.3g", v)
	}
	base := unit
	prefix, scaled := siPrefix(v)
	return sig3(scaled) + " " + prefix + base
}

func siPrefix(v float64) (string, float64) {
	a := math.Abs(v)
	switch {
	case a >= 1e12:
		return "T", v / 1e12
	case a >= 1e9:
		return "G", v / 1e9
	case a >= 1e6:
		return "M", v / 1e6
	case a >= 1e3:
		return "k", v / 1e3
	}
	return "", v
}

func formatSeconds(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0 s"
	case a < 1e-6:
		return sig3(v*1e9) + " ns"
	case a < 1e-3:
		return sig3(v*1e6) + " µs"
	case a < 1:
		return sig3(v*1e3) + " ms"
	}
	return sig3(v) + " s"
}

// sig3 prints three significant digits without switching to exponents.
func sig3(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1 || a == 0:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	// Below 1 (an SI prefix does not apply, as for s/GB or a ratio): still
	// three significant digits, 0.0277 and 0.0300 apart.
	decimals := 2 - int(math.Floor(math.Log10(a)))
	return strconv.FormatFloat(v, 'f', min(decimals, 12), 64)
}

// Overhead prints an overhead, a fraction: "+12.3%", and from +100% on as a
// factor, "×2.40" (an overhead of +15877% reads ×160).
func Overhead(f float64) string {
	switch {
	case math.IsNaN(f):
		return "?"
	case f >= 99:
		return fmt.Sprintf("×%.0f", 1+f)
	case f >= 9:
		return fmt.Sprintf("×%.1f", 1+f)
	case f >= 1:
		return fmt.Sprintf("×%.2f", 1+f)
	}
	return fmt.Sprintf("%+.1f%%", 100*f)
}

// Finite is v for a JSON document, or nil (null) when v is NaN or
// infinite, which JSON cannot hold: a value that was not measured.
func Finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
