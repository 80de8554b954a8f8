package stats

import (
	"fmt"
	"math"
	"slices"

	mstats "github.com/aclements/go-moremath/stats"
)

// Fleet estimates a platform's overhead over a reference across a fleet of
// hosts: hosts[h] are host h's per-round log cost ratios (pairLogs of its
// two cells). The estimate is the mean over hosts of each host's median
// ratio, so that every host weighs the same however many rounds it ran.
//
// Its interval is Student's t over those host medians (H − 1 degrees of
// freedom): the fleet's hosts taken as a sample of the hosts it stands
// for, the spread of their medians holds both the hosts' own differences
// and each host's trial noise. With two hosts it is wide (t = 12.7 at
// 95%): two hosts say little about a fleet, and the interval says so. A
// hierarchical bootstrap, used before, covered the fleet's mean in only
// 72–92% of simulated fleets of 2–4 hosts that differed by 1–3%, and in
// 97.5–99.8% where they agreed (docs/fleet.md has the coverage table).
//
// With one host there is no fleet to speak of: the interval is that host's
// (its rounds' paired interval), and a warning says so. Hosts without
// rounds are left out; N is the hosts that count.
func Fleet(hosts [][]float64, level float64) Estimate {
	var meds []float64
	var one []float64
	for _, h := range hosts {
		if len(h) > 0 {
			meds = append(meds, median(slices.Clone(h)))
			one = h
		}
	}
	e := Estimate{Overhead: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Level: level, N: len(meds), Paired: true, P: math.NaN()}
	switch len(meds) {
	case 0:
		return e
	case 1:
		p := paired(one, level)
		e.Overhead = math.Expm1(median(slices.Clone(one)))
		e.Lo, e.Hi = p.Lo, p.Hi
		e.Warnings = append(e.Warnings, "one host: the interval is its rounds', and says nothing of how hosts differ")
		return e
	}
	m := mean(meds)
	e.Overhead = math.Expm1(m)
	sd := 0.0
	for _, x := range meds {
		sd += (x - m) * (x - m)
	}
	se := math.Sqrt(sd/float64(len(meds)-1)) / math.Sqrt(float64(len(meds)))
	t := TQuantile(1-(1-level)/2, float64(len(meds)-1))
	e.Lo, e.Hi = math.Expm1(m-t*se), math.Expm1(m+t*se)
	if len(meds) < 4 {
		e.Warnings = append(e.Warnings, fmt.Sprintf("%d hosts: the fleet's interval is wide because so few hosts say little of the hosts they stand for", len(meds)))
	}
	return e
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// TQuantile is Student's t distribution's quantile at p with df degrees of
// freedom.
func TQuantile(p, df float64) float64 {
	d := mstats.TDist{V: df}
	lo, hi := -1e6, 1e6
	for range 200 {
		mid := (lo + hi) / 2
		if d.CDF(mid) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// PairLogs returns the log cost ratio of x over ref of every round both
// hold: what Fleet takes per host.
func PairLogs(ref, x Values, higherIsBetter bool) []float64 { return pairLogs(ref, x, higherIsBetter) }
