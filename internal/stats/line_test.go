package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPValueMatchesInterval: a cell's p-value and its interval are the
// same test, at every level, paired and unpaired.
func TestPValueMatchesInterval(t *testing.T) {
	// R: wilcox.test(1:8)$p.value is 2/2⁸.
	logs := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	if e := paired(logs, 0.95); math.Abs(e.P-2.0/256) > 1e-15 {
		t.Errorf("p of eight positive rounds = %v, want 2/256", e.P)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 600 {
		n := 6 + r.IntN(40)
		shift := 0.02 * r.NormFloat64()
		var ref, x []float64
		for range n {
			d := math.Exp(0.1 * r.NormFloat64())
			ref = append(ref, d*math.Exp(0.02*r.NormFloat64()))
			x = append(x, d*math.Exp(shift+0.02*r.NormFloat64()))
		}
		rr := rounds(n)
		if i%3 == 0 {
			rr = nil // unpaired: the bootstrap's p and interval
		}
		for _, level := range []float64{0.95, 0.99, 0.9833} {
			e := Compare(Values{ref, rr}, Values{x, rr}, false, level)
			excludes := e.Lo > 0 || e.Hi < 0
			if !e.Paired && math.Abs(e.P-(1-level)) < 0.002 {
				continue // the bootstrap's percentiles round either way at the edge
			}
			if excludes != (e.P <= 1-level) {
				t.Fatalf("n=%d level %v paired=%v: interval [%v, %v], p %v: not the same test", n, level, e.Paired, e.Lo, e.Hi, e.P)
			}
		}
	}
}

func TestHochberg(t *testing.T) {
	got := Hochberg([]float64{0.01, 0.04, 0.03, 0.005, math.NaN()}, 0.05)
	// From the largest: 1 > 0.05, 0.04 > 0.025, 0.03 > 0.05/3, then
	// 0.01 ≤ 0.05/4: it and the smaller 0.005 are rejected.
	want := []bool{true, false, false, true, false}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Hochberg = %v, want %v", got, want)
	}
	// Every cell at the smallest p-value 7 rounds give (2/2⁷), at a
	// level of 98.33%: each passes alone, and so does the line.
	if got := Hochberg([]float64{2.0 / 128, 2.0 / 128}, 0.05/3); !got[0] || !got[1] {
		t.Errorf("two cells at p = 1.6%%, alpha 1.67%%: %v, want both kept", got)
	}
}

// TestLineFalseRate measures, with vmbench's own functions, how often a
// summary line of k cells calls identical platforms different (overhead or
// better in any cell) with and without Hochberg's correction, and how often it
// detects a real +3% in every cell. Figures: docs/verdicts.md.
func TestLineFalseRate(t *testing.T) {
	const lines, n = 2000, 14
	r := rand.New(rand.NewPCG(7, 8))
	line := func(k int, truth float64) (raw, corr bool) {
		es, js := make([]Estimate, k), make([]Judgement, k)
		for c := range k {
			var ref, x []float64
			for range n {
				d := math.Exp(0.1 * r.NormFloat64())
				ref = append(ref, d*math.Exp(0.02*r.NormFloat64()))
				x = append(x, d*(1+truth)*math.Exp(0.02*r.NormFloat64()))
			}
			es[c] = Compare(Values{ref, rounds(n)}, Values{x, rounds(n)}, false, Confidence)
			js[c] = Judge(es[c], DefaultMargin)
		}
		claims := func(js []Judgement) bool {
			for _, j := range js {
				if j.Verdict == Overhead || j.Verdict == Better {
					return true
				}
			}
			return false
		}
		return claims(js), claims(Line(es, js, Confidence))
	}
	for _, k := range []int{4, 6, 10, 15} {
		var raw, corr, detRaw, detCorr int
		for range lines {
			a, b := line(k, 0)
			raw, corr = raw+b2i(a), corr+b2i(b)
			a, b = line(k, 0.03)
			detRaw, detCorr = detRaw+b2i(a), detCorr+b2i(b)
		}
		rate := func(c int) float64 { return 100 * float64(c) / lines }
		t.Logf("%2d cells, %d rounds: A/A line called different %.1f%% uncorrected, %.1f%% with Hochberg; +3%% detected %.1f%% → %.1f%%",
			k, n, rate(raw), rate(corr), rate(detRaw), rate(detCorr))
		// 2000 lines: the rate's standard error at 5% is 0.5 points.
		if rate(corr) > 5 {
			t.Errorf("%d cells: per-line false rate %.1f%% with Hochberg, above 5%%", k, rate(corr))
		}
		if rate(detCorr) < 90 {
			t.Errorf("%d cells: +3%% detected in %.1f%% of lines with Hochberg, want at least 90%%", k, rate(detCorr))
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestOneRuleForTooFew: the unpaired fallback needs as many values as the
// paired interval needs rounds at the same level.
func TestOneRuleForTooFew(t *testing.T) {
	ref, x := []float64{1, 1.01, 0.99, 1.02, 0.98, 1}, []float64{1.1, 1.11, 1.09, 1.12, 1.08, 1.1}
	for _, level := range []float64{0.95, 0.9833, 0.99} {
		paired := Compare(Values{ref, rounds(6)}, Values{x, rounds(6)}, false, level)
		unpaired := Compare(Values{V: ref}, Values{V: x}, false, level)
		if math.IsNaN(paired.Lo) != math.IsNaN(unpaired.Lo) {
			t.Errorf("6 values at %s: paired interval [%v, %v], unpaired [%v, %v]: want one rule", LevelText(level), paired.Lo, paired.Hi, unpaired.Lo, unpaired.Hi)
		}
	}
}

func TestRoundsBeyond(t *testing.T) {
	// Critical values at 99.5% two-sided: 0 at 9 pairs, 1 at 10, 3 at 11.
	if n := RoundsBeyond(0.995, 3); n != 11 {
		t.Errorf("RoundsBeyond(99.5%%, 3) = %d, want 11", n)
	}
	if n := RoundsBeyond(0.95, 0); n != MinRoundsAt(0.95) {
		t.Errorf("RoundsBeyond(95%%, 0) = %d, want MinRoundsAt's %d", n, MinRoundsAt(0.95))
	}
}

// TestLineKeepsAnOverheadSeenInEveryCell: two cells of 7 rounds, each
// 30-fold, at an adaptive run's 98.33%: the line says overhead.
func TestLineKeepsAnOverheadSeenInEveryCell(t *testing.T) {
	level := Level(3)
	var es []Estimate
	var js []Judgement
	for range 2 {
		var ref, x []float64
		for i := range 7 {
			ref = append(ref, 1+0.01*float64(i))
			x = append(x, 30*(1+0.013*float64(i)))
		}
		e := Compare(Values{ref, rounds(7)}, Values{x, rounds(7)}, false, level)
		es, js = append(es, e), append(js, Judge(e, DefaultMargin))
	}
	for i, j := range Line(es, js, level) {
		if j.Verdict != Overhead {
			t.Errorf("cell %d: %s in the line (alone %s, p %v)", i, j.Verdict, js[i].Verdict, es[i].P)
		}
	}
}
