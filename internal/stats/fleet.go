package stats

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Fleet estimates a platform's overhead over a reference across a fleet of
// hosts: hosts[h] are host h's per-round log cost ratios (pairLogs of its
// two cells). The estimate is the mean over hosts of each host's median
// ratio, so that every host weighs the same however many rounds it ran;
// its interval is a two-stage (hierarchical) percentile bootstrap: hosts
// are resampled with replacement, then each drawn host's rounds, so that
// the interval holds both the trial noise within a host and the spread
// between hosts. With one host it is that host's rounds' bootstrap. Hosts
// without rounds are left out; N is the hosts that count.
func Fleet(hosts [][]float64, level float64) Estimate {
	var use [][]float64
	for _, h := range hosts {
		if len(h) > 0 {
			use = append(use, h)
		}
	}
	e := Estimate{Overhead: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Level: level, N: len(use), Paired: true}
	if len(use) == 0 {
		return e
	}
	sum, rounds := 0.0, 0
	for _, h := range use {
		sum += median(slices.Clone(h))
		rounds += len(h)
	}
	e.Overhead = math.Expm1(sum / float64(len(use)))
	if rounds < MinRounds {
		return e
	}
	// Each resample draws as many hosts as there are, then as many rounds
	// from each drawn host as it has, and takes the mean of their medians.
	r := rand.New(rand.NewPCG(uint64(len(use)), uint64(rounds)))
	est := make([]float64, 0, Resamples)
	buf := make([]float64, 0, 64)
	for range Resamples {
		sum := 0.0
		for range use {
			h := use[r.IntN(len(use))]
			buf = buf[:0]
			for range h {
				buf = append(buf, h[r.IntN(len(h))])
			}
			sum += median(buf)
		}
		est = append(est, sum/float64(len(use)))
	}
	slices.Sort(est)
	tail := (1 - level) / 2
	e.Lo, e.Hi = math.Expm1(est[int(tail*float64(len(est)))]), math.Expm1(est[int((1-tail)*float64(len(est)-1))])
	return e
}

// PairLogs returns the log cost ratio of x over ref of every round both
// hold: what Fleet takes per host.
func PairLogs(ref, x Values, higherIsBetter bool) []float64 { return pairLogs(ref, x, higherIsBetter) }
