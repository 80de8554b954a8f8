// Package stats turns the values of one cell (a metric of a workload variant
// on a platform) into what a report shows: the median with a 95% confidence
// interval, the spread, the overhead of one platform over another with its
// interval (paired round by round where it can be), and the verdict that
// interval supports against an equivalence margin. It leans on
// golang.org/x/perf/benchmath, as benchstat does, and carries warnings
// instead of failing.
package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"golang.org/x/perf/benchmath"
)

// Confidence is the confidence level of every interval.
const Confidence = 0.95

// NoisyCV is the coefficient of variation above which a cell is flagged.
const NoisyCV = 0.05

// Summary describes the values of one cell.
type Summary struct {
	N      int
	Center float64 // median
	Lo, Hi float64 // 95% confidence interval of the median
	CV     float64 // coefficient of variation (stddev / mean)
	// Outliers are the values outside Tukey's fences (1.5 × the
	// interquartile range beyond the quartiles), with at least
	// MinOutlierN values. They are flagged, not dropped: the median and
	// its interval are robust to them.
	Outliers []float64
	Warnings []string
}

// MinOutlierN is the fewest values for which outliers are looked for.
const MinOutlierN = 5

// Summarize summarises values (which it sorts in place).
func Summarize(values []float64) Summary {
	if len(values) == 0 {
		return Summary{}
	}
	smp := benchmath.NewSample(values, &benchmath.DefaultThresholds)
	s := benchmath.AssumeNothing.Summary(smp, Confidence)
	out := Summary{N: len(values), Center: s.Center, Lo: s.Lo, Hi: s.Hi, CV: cv(values), Outliers: outliers(smp.Values)}
	for _, w := range s.Warnings {
		out.Warnings = append(out.Warnings, w.Error())
	}
	if out.CV > NoisyCV {
		out.Warnings = append(out.Warnings, fmt.Sprintf("noisy: coefficient of variation %.1f%% > %.0f%%", 100*out.CV, 100*NoisyCV))
	}
	return out
}

// outliers returns the values of sorted outside Tukey's fences.
func outliers(sorted []float64) []float64 {
	if len(sorted) < MinOutlierN {
		return nil
	}
	q1, q3 := quantile(sorted, 0.25), quantile(sorted, 0.75)
	lo, hi := q1-1.5*(q3-q1), q3+1.5*(q3-q1)
	var out []float64
	for _, v := range sorted {
		if v < lo || v > hi {
			out = append(out, v)
		}
	}
	return out
}

// quantile interpolates linearly between the order statistics of sorted.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}

// Interval returns the half-width of the confidence interval relative to
// the center, as benchstat's ±x%, or NaN when there is no finite interval.
func (s Summary) Interval() float64 {
	if s.Center == 0 || math.IsInf(s.Lo, 0) || math.IsInf(s.Hi, 0) {
		return math.NaN()
	}
	return math.Max(s.Hi/s.Center-1, 1-s.Lo/s.Center)
}

// unpaired compares the medians of two samples whose values cannot be paired
// round by round (different runs, incomplete rounds), with a percentile
// bootstrap interval at the level.
func unpaired(ref, x []float64, higherIsBetter bool, level float64) Estimate {
	t := &benchmath.DefaultThresholds
	sr, sx := benchmath.NewSample(slices.Clone(ref), t), benchmath.NewSample(slices.Clone(x), t)
	e := Estimate{Level: level, N: min(len(ref), len(x))}
	e.Overhead = overhead(median(slices.Clone(sr.Values)), median(slices.Clone(sx.Values)), higherIsBetter)
	e.Lo, e.Hi, e.P = bootstrap(sr.Values, sx.Values, higherIsBetter, level)
	if math.IsNaN(e.Lo) {
		e.Warnings = append(e.Warnings, fmt.Sprintf("%d and %d values are too few for an interval", len(ref), len(x)))
	}
	return e
}

func overhead(base, x float64, higherIsBetter bool) float64 {
	switch {
	case higherIsBetter && x != 0:
		return base/x - 1
	case !higherIsBetter && base != 0:
		return x/base - 1
	}
	return math.NaN()
}

// Resamples is the number of bootstrap resamples behind an overhead interval.
const Resamples = 2000

// bootstrap returns the percentile-bootstrap interval at level of the
// overhead of the medians: both samples are resampled with replacement. The generator
// is seeded, so that the same values always give the same interval (a
// report re-rendered from stored samples reads the same). p is the
// bootstrap's two-sided p-value of no overhead: twice the smaller share of
// resampled overheads on either side of zero.
func bootstrap(base, x []float64, higherIsBetter bool, level float64) (lo, hi, p float64) {
	// One rule with the paired interval: as many values as a signed-rank
	// interval at the level needs pairs.
	if n := MinRoundsAt(level); len(base) < n || len(x) < n {
		return math.NaN(), math.NaN(), math.NaN()
	}
	r := rand.New(rand.NewPCG(uint64(len(base)), uint64(len(x))))
	est := make([]float64, 0, Resamples)
	rb, rx := make([]float64, len(base)), make([]float64, len(x))
	for range Resamples {
		for i := range rb {
			rb[i] = base[r.IntN(len(base))]
		}
		for i := range rx {
			rx[i] = x[r.IntN(len(x))]
		}
		if o := overhead(median(rb), median(rx), higherIsBetter); !math.IsNaN(o) {
			est = append(est, o)
		}
	}
	if len(est) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	slices.Sort(est)
	tail := (1 - level) / 2
	below, _ := slices.BinarySearch(est, math.Nextafter(0, 1)) // how many ≤ 0
	neg, _ := slices.BinarySearch(est, 0)                      // how many < 0
	above := len(est) - neg
	p = min(1, 2*float64(min(below, above))/float64(len(est)))
	return est[int(tail*float64(len(est)))], est[int((1-tail)*float64(len(est)-1))], p
}

// median sorts v in place and returns its median.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func cv(values []float64) float64 {
	if len(values) < 2 {
		return 0
	}
	var sum float64
	for _, v := range values {
		sum += v
	}
	mean := sum / float64(len(values))
	var ss float64
	for _, v := range values {
		ss += (v - mean) * (v - mean)
	}
	if mean == 0 {
		return 0
	}
	return math.Sqrt(ss/float64(len(values)-1)) / math.Abs(mean)
}
