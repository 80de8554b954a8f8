package stats

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// DefaultMargin is the equivalence margin of a scenario that names none:
// an overhead whose whole interval lies within ±2% is negligible.
const DefaultMargin = 0.02

// MinRounds is the fewest pairs that carry a 95% signed-rank interval: with
// 5 the most extreme outcome already has a two-sided chance of 1/16.
const MinRounds = 6

// MinRoundsAt is the fewest pairs that carry a signed-rank interval at
// level: the most extreme of the 2ⁿ sign patterns must be rarer than the
// level's tail.
func MinRoundsAt(level float64) int {
	n := 1
	for math.Pow(2, -float64(n)) > (1-level)/2 {
		n++
	}
	return n
}

// RoundsBeyond is the fewest pairs whose signed-rank interval at level
// leaves out the skip most extreme Walsh averages on each side, so that a
// round or two that went astray (a trial that met a burst of other load)
// cannot set a bound alone: MinRoundsAt gives an interval from the very
// extremes.
func RoundsBeyond(level float64, skip int) int {
	n := MinRoundsAt(level)
	for {
		if c, ok := signedRankCritical(n, (1-level)/2); ok && c >= skip {
			return n
		}
		n++
	}
}

// Values are the measured values of a cell, each with the round it was
// measured in, so that two cells can be paired round by round.
type Values struct {
	V     []float64
	Round []int64 // parallel to V; nil when the rounds are unknown
}

// Estimate is a platform's overhead over a reference platform.
type Estimate struct {
	// Overhead is the extra cost per unit of work, relative to the
	// reference: +0.10 means 10% more time (or machines) for the same work.
	// For rates (higher is better) the cost ratio is ref/x, for times and
	// sizes x/ref.
	Overhead float64
	Lo, Hi   float64 // interval of Overhead at Level; NaN when too few values
	Level    float64 // confidence level of [Lo, Hi]
	N        int     // rounds paired; unpaired: the smaller side's values
	Paired   bool
	// P is the two-sided p-value of no overhead at all, from the same
	// test as [Lo, Hi]: the interval at level L excludes zero exactly when
	// P ≤ 1−L. NaN when too few values. The correction over the cells of
	// a summary line (Hochberg's) uses it.
	P        float64
	Warnings []string
}

// HalfWidth is half the interval's width in overhead points, NaN without one.
func (e Estimate) HalfWidth() float64 { return (e.Hi - e.Lo) / 2 }

// Compare estimates x's overhead over ref at the confidence level. Where at
// least MinRounds rounds hold both (and they are most of the values), the
// estimate is paired: the Hodges-Lehmann estimator of the per-round log cost
// ratios with its Wilcoxon signed-rank interval, so that host drift between
// rounds, which moves both platforms, cancels. Otherwise the medians are
// compared, with a percentile bootstrap interval.
func Compare(ref, x Values, higherIsBetter bool, level float64) Estimate {
	if len(ref.V) == 0 || len(x.V) == 0 {
		return Estimate{Overhead: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Level: level}
	}
	if logs := pairLogs(ref, x, higherIsBetter); len(logs) >= MinRounds && 5*len(logs) >= 4*min(len(ref.V), len(x.V)) {
		return paired(logs, level)
	}
	return unpaired(ref.V, x.V, higherIsBetter, level)
}

// pairLogs returns the log cost ratio of every round both cells hold.
func pairLogs(ref, x Values, higherIsBetter bool) []float64 {
	if ref.Round == nil || x.Round == nil {
		return nil
	}
	at := make(map[int64]float64, len(ref.V))
	for i, v := range ref.V {
		at[ref.Round[i]] = v
	}
	var out []float64
	for i, v := range x.V {
		r, ok := at[x.Round[i]]
		if !ok || r <= 0 || v <= 0 {
			continue
		}
		if higherIsBetter {
			out = append(out, math.Log(r/v))
		} else {
			out = append(out, math.Log(v/r))
		}
	}
	return out
}

// paired is the Hodges-Lehmann estimate of the log ratios with the
// distribution-free interval of the Wilcoxon signed-rank test: the order
// statistics of the Walsh averages that the signed-rank distribution puts
// at the level. It assumes only that a round's log ratio is symmetric about
// the true one.
func paired(logs []float64, level float64) Estimate {
	n := len(logs)
	w := walsh{x: slices.Sorted(slices.Values(logs))}
	e := Estimate{Overhead: math.Expm1(w.median()), Lo: math.NaN(), Hi: math.NaN(), Level: level, N: n, Paired: true, P: math.NaN()}
	if n > 0 {
		// The interval's lower end is above zero at tail t exactly when
		// P(T ≤ #averages ≤ 0) ≤ t; its upper end below zero likewise.
		less, leq := make([]int, n), make([]int, n)
		nLess, nLeq := w.below(0, less, leq)
		e.P = min(1, 2*min(signedRankCDF(n, nLeq), signedRankCDF(n, w.size()-nLess)))
	}
	if c, ok := signedRankCritical(n, (1-level)/2); ok {
		e.Lo, e.Hi = math.Expm1(w.kth(c)), math.Expm1(w.kth(w.size()-1-c))
	} else {
		e.Warnings = append(e.Warnings, fmt.Sprintf("%d rounds are too few for a %s interval", n, LevelText(level)))
	}
	if odd := outliers(w.x); len(odd) > 0 && n >= 2 {
		// The estimate is the typical round's cost; rounds far off it move
		// the mean cost per round, which the reader may want instead:
		// said where the two differ by more than a point.
		m, lo, hi := MeanCost(logs, level)
		if math.Abs(m-e.Overhead) > 0.01 {
			e.Warnings = append(e.Warnings, fmt.Sprintf("%d of %d rounds were far off the others (beyond 1.5× the interquartile range of the rounds' cost ratios): the verdict is the typical round's cost, %s; the mean cost per round is %s [%s, %s] (Student's t at %s)",
				len(odd), n, signedPct(e.Overhead), signedPct(m), signedPct(lo), signedPct(hi), LevelText(level)))
		}
	}
	return e
}

// MeanCost is the mean of the per-round cost ratios, less one, with
// Student's t interval at level: the mean cost per round, where the
// paired estimate is the typical round's. Its interval covers the mean
// only with enough rounds to have seen the rare slow ones (docs/verdicts.md).
func MeanCost(logs []float64, level float64) (m, lo, hi float64) {
	x := make([]float64, len(logs))
	for i, d := range logs {
		x[i] = math.Exp(d)
	}
	m, lo, hi = TInterval(x, level)
	return m - 1, lo - 1, hi - 1
}

// TInterval is the mean of x with Student's t interval at level (at least
// two values).
func TInterval(x []float64, level float64) (m, lo, hi float64) {
	m = mean(x)
	ss := 0.0
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	se := math.Sqrt(ss/float64(len(x)-1)) / math.Sqrt(float64(len(x)))
	t := TQuantile(1-(1-level)/2, float64(len(x)-1))
	return m, m - t*se, m + t*se
}

func signedPct(f float64) string { return fmt.Sprintf("%+.1f%%", 100*f) }

// signedRankCritical returns the largest c with P(T ≤ c) ≤ tail, where T
// is the Wilcoxon signed-rank statistic of n pairs under no difference: the
// interval [W(c), W(M−1−c)] of the M sorted Walsh averages (counted from 0)
// then covers the center with probability at least 1 − 2·tail. ok is false
// when even the widest interval, [W(0), W(M−1)], falls short.
func signedRankCritical(n int, tail float64) (c int, ok bool) {
	m := n * (n + 1) / 2
	if n > 100 {
		mean, sd := float64(m)/2, math.Sqrt(float64(n*(n+1)*(2*n+1))/24)
		c := int(math.Floor(mean - normalQuantile(1-tail)*sd - 0.5))
		return max(c, 0), c >= 0
	}
	cum := 0.0
	for s, p := range signedRankPMF(n) {
		if cum += p; cum > tail {
			break
		}
		c, ok = s, true
	}
	return c, ok
}

// signedRankPMF returns P(T = s) for s = 0 … n(n+1)/2, built rank by rank.
func signedRankPMF(n int) []float64 {
	m := n * (n + 1) / 2
	p := make([]float64, m+1)
	p[0] = 1
	top := 0
	for r := 1; r <= n; r++ {
		for s := top; s >= 0; s-- {
			p[s+r] += p[s] / 2
			p[s] /= 2
		}
		top += r
	}
	return p
}

// signedRankCDF returns P(T ≤ s) under no difference, exactly up to 100
// pairs and from the normal approximation beyond, as signedRankCritical.
func signedRankCDF(n, s int) float64 {
	if n > 100 {
		mean, sd := float64(n*(n+1))/4, math.Sqrt(float64(n*(n+1)*(2*n+1))/24)
		return 0.5 * math.Erfc(-(float64(s)+0.5-mean)/sd/math.Sqrt2)
	}
	cum := 0.0
	for _, p := range signedRankPMF(n)[:min(s, n*(n+1)/2)+1] {
		cum += p
	}
	return cum
}

// Hochberg returns which of the hypotheses with p-values p Hochberg's
// step-up procedure rejects at family-wise error rate alpha: with the
// p-values sorted, the largest i whose p(i) ≤ alpha/(k−i) (from i = 0)
// and every smaller one. It holds its rate for independent tests and for
// positively dependent ones, as a summary line's cells are (they share
// rounds and a host), and keeps more than Holm's step-down: with exact
// tests on few rounds, the smallest p-value there is (2/2ⁿ: 1.6% at 7
// rounds) may pass alpha but never alpha/k, and Holm would then keep
// nothing even when every cell of a line shows a 30-fold cost.
// NaN counts as 1.
func Hochberg(p []float64, alpha float64) []bool {
	k := len(p)
	order := make([]int, k)
	for i := range order {
		order[i] = i
	}
	pv := func(i int) float64 {
		if math.IsNaN(p[i]) {
			return 1
		}
		return p[i]
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(pv(a), pv(b)) })
	out := make([]bool, k)
	for i := k - 1; i >= 0; i-- {
		if pv(order[i]) <= alpha/float64(k-i) {
			for _, j := range order[:i+1] {
				out[j] = true
			}
			break
		}
	}
	return out
}

// normalQuantile is the standard normal quantile (Acklam's rational
// approximation, relative error below 1.2e-9).
func normalQuantile(p float64) float64 {
	a := []float64{-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00}
	b := []float64{-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01}
	c := []float64{-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00}
	d := []float64{7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00}
	switch {
	case p < 0.02425:
		q := math.Sqrt(-2 * math.Log(p))
		return (((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	case p > 1-0.02425:
		q := math.Sqrt(-2 * math.Log(1-p))
		return -(((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	}
	q := p - 0.5
	r := q * q
	return (((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r + a[5]) * q / (((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r + 1)
}

// Verdict is what a comparison says about an overhead.
type Verdict string

// Verdicts.
const (
	// Negligible: the whole interval lies within ±margin. With a
	// two-sided interval at level 1−2α this is the two one-sided tests
	// (TOST) equivalence test at α.
	Negligible Verdict = "negligible"
	// Overhead and Better: the whole interval lies beyond zero.
	Overhead Verdict = "overhead"
	Better   Verdict = "better"
	// Inconclusive: the interval straddles the margin and zero.
	Inconclusive Verdict = "inconclusive"
	// TooFew: too few values for an interval at the level.
	TooFew Verdict = "too few"
	// Failed: a summary line holds a cell whose every trial failed on one
	// side, so nothing could be compared there; the line can then be
	// neither negligible nor better.
	Failed Verdict = "failed"
)

// Judgement is an estimate judged against an equivalence margin.
type Judgement struct {
	Verdict Verdict
	Margin  float64
	// BeyondMargin: Overhead or Better, and the whole interval lies beyond
	// the margin too (not only beyond zero).
	BeyondMargin bool
	// More is how many more rounds would likely decide an inconclusive
	// comparison, if its estimate held and the interval shrank as 1/√n;
	// 0 when it is decided, -1 when no number of rounds likely would.
	More int
}

// Judge gives an estimate its verdict.
func Judge(e Estimate, margin float64) Judgement {
	j := Judgement{Margin: margin}
	switch {
	case math.IsNaN(e.Lo) || math.IsNaN(e.Hi):
		j.Verdict = TooFew
	case e.Lo >= -margin && e.Hi <= margin:
		j.Verdict = Negligible
	case e.Lo > 0:
		j.Verdict, j.BeyondMargin = Overhead, e.Lo > margin
	case e.Hi < 0:
		j.Verdict, j.BeyondMargin = Better, e.Hi < -margin
	default:
		j.Verdict, j.More = Inconclusive, moreRounds(e, margin)
	}
	return j
}

// MaxMore caps the rounds More predicts: beyond it, say "many".
const MaxMore = 1000

// moreRounds projects the rounds an inconclusive estimate needs: its
// interval must shrink to within the margin around the estimate (to say
// negligible) or to exclude zero (to say overhead or better), whichever
// needs fewer; the half-width falls as 1/√n.
func moreRounds(e Estimate, margin float64) int {
	h, x := e.HalfWidth(), math.Abs(e.Overhead)
	target := math.Max(margin-x, x)
	if e.N == 0 || !(h > 0) || !(target > 0) {
		return -1
	}
	need := int(math.Ceil(float64(e.N) * (h / target) * (h / target)))
	if need-e.N > MaxMore {
		return -1
	}
	return max(need-e.N, 1)
}

// Undecided reports whether a comparison wants more rounds: it is
// inconclusive or too few, or its interval is wider than precision (a
// half-width in overhead points; 0: no target).
func Undecided(e Estimate, j Judgement, precision float64) bool {
	switch j.Verdict {
	case Inconclusive, TooFew:
		return true
	}
	return precision > 0 && e.HalfWidth() > precision
}

// LevelText is a confidence level as people read it: "95%", "98.33%".
func LevelText(l float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.2f", 100*l), "0"), ".0") + "%"
}

// Level is the confidence level of every interval of an analysis with
// looks sequential looks at the data (1 for a fixed number of rounds): the
// 5% error rate is split evenly over the looks (Bonferroni), so that
// stopping at whichever look first decides keeps each verdict's error rate
// at or below 5% whatever the looks' correlation.
func Level(looks int) float64 { return LevelAt(0.05, looks) }

// LevelAt is the same budget for another error rate alpha: a regression
// gate's (its max_regression's alpha, 1% by default).
func LevelAt(alpha float64, looks int) float64 { return 1 - alpha/float64(max(looks, 1)) }

// Looks is the fixed schedule of repetition counts at which an adaptive run
// judges its cells: the scenario's repetitions, then doubling, up to and
// including maxReps. Without adaptivity (maxReps ≤ reps) it is one look.
func Looks(reps, maxReps int) []int {
	out := []int{reps}
	for n := reps; n < maxReps; {
		n = min(2*n, maxReps)
		out = append(out, n)
	}
	return out
}

// Line corrects the judgements of a summary line's cells for multiplicity:
// a line that says "overhead" when any of its k cells does would say so of
// identical platforms far more often than 1−level. A cell's overhead or
// better (its interval excludes zero) stands in the line only when
// Hochberg's procedure over the line's cells rejects "no overhead" at 1−level;
// otherwise it reads inconclusive there. Negligible needs no correction:
// the line says it only when every cell does.
func Line(es []Estimate, js []Judgement, level float64) []Judgement {
	p := make([]float64, len(es))
	for i, e := range es {
		p[i] = e.P
	}
	keep := Hochberg(p, 1-level)
	out := slices.Clone(js)
	for i, j := range out {
		if (j.Verdict == Overhead || j.Verdict == Better) && !keep[i] {
			out[i] = Judgement{Verdict: Inconclusive, Margin: j.Margin, More: moreRounds(es[i], j.Margin)}
		}
	}
	return out
}
