package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func rounds(n int) []int64 {
	r := make([]int64, n)
	for i := range r {
		r[i] = int64(i)
	}
	return r
}

func TestPairedCancelsHostDrift(t *testing.T) {
	// The host drifts by ±30% from round to round; within a round the
	// platform costs 5% more. Unpaired, the drift swamps it; paired, it
	// cancels.
	drift := []float64{1, 1.3, 0.7, 1.2, 0.8, 1.1, 0.9, 1.25}
	noise := []float64{1.001, 0.999, 1.002, 0.998, 1, 1.001, 0.999, 1}
	var ref, x []float64
	for i, d := range drift {
		ref = append(ref, 100*d)
		x = append(x, 105*d*noise[i]) // a time: 5% longer
	}
	p := Compare(Values{ref, rounds(8)}, Values{x, rounds(8)}, false, 0.95)
	if !p.Paired || p.N != 8 || math.Abs(p.Overhead-0.05) > 0.002 || !(p.Lo > 0.04 && p.Hi < 0.06) {
		t.Errorf("paired: %+v, want +5%% within [4%%, 6%%]", p)
	}
	if j := Judge(p, 0.02); j.Verdict != Overhead || !j.BeyondMargin {
		t.Errorf("paired verdict %+v, want an overhead beyond the margin", j)
	}
	u := Compare(Values{V: ref}, Values{V: x}, false, 0.95)
	if u.Paired || Judge(u, 0.02).Verdict != Inconclusive {
		t.Errorf("unpaired: %+v, want inconclusive under the drift", u)
	}
	// Rounds that do not match fall back to the unpaired estimate.
	if o := Compare(Values{ref, rounds(8)}, Values{x, []int64{10, 11, 12, 13, 14, 15, 16, 17}}, false, 0.95); o.Paired {
		t.Errorf("no common round, yet paired: %+v", o)
	}
}

func TestSignedRankCritical(t *testing.T) {
	for _, c := range []struct {
		n    int
		tail float64
		want int
		ok   bool
	}{
		{5, 0.025, 0, false}, // 1/32 > 2.5%
		{6, 0.025, 0, true},  // 1/64
		{8, 0.025, 3, true},  // tables: critical value 3 for n=8, two-sided 5%
		{10, 0.025, 8, true}, // 8 for n=10
		{20, 0.025, 52, true},
		{12, 0.05, 17, true}, // one-sided 5%: 17 for n=12
	} {
		got, ok := signedRankCritical(c.n, c.tail)
		if got != c.want || ok != c.ok {
			t.Errorf("n=%d tail=%g: %d %v, want %d %v", c.n, c.tail, got, ok, c.want, c.ok)
		}
	}
	// The normal approximation joins the exact values smoothly.
	exact, _ := signedRankCritical(100, 0.025)
	approx, _ := signedRankCritical(101, 0.025)
	if approx < exact || approx > exact+110 {
		t.Errorf("n=100 exact %d, n=101 approximate %d", exact, approx)
	}
}

func TestJudge(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		name          string
		e             Estimate
		want          Verdict
		beyond        bool
		moreAtLeast   int
		moreUnbounded bool
	}{
		{"within the margin", Estimate{Overhead: 0.001, Lo: -0.01, Hi: 0.015, N: 6}, Negligible, false, 0, false},
		{"real but negligible", Estimate{Overhead: 0.01, Lo: 0.005, Hi: 0.015, N: 6}, Negligible, false, 0, false},
		{"overhead that may be small", Estimate{Overhead: 0.03, Lo: 0.01, Hi: 0.05, N: 6}, Overhead, false, 0, false},
		{"overhead beyond the margin", Estimate{Overhead: 0.10, Lo: 0.08, Hi: 0.12, N: 6}, Overhead, true, 0, false},
		{"better", Estimate{Overhead: -0.10, Lo: -0.12, Hi: -0.08, N: 6}, Better, true, 0, false},
		{"straddles", Estimate{Overhead: 0.01, Lo: -0.03, Hi: 0.05, N: 6}, Inconclusive, false, 1, false},
		{"too few", Estimate{Overhead: 0.01, Lo: nan, Hi: nan, N: 3}, TooFew, false, 0, false},
	} {
		j := Judge(c.e, 0.02)
		if j.Verdict != c.want || j.BeyondMargin != c.beyond || j.More < c.moreAtLeast {
			t.Errorf("%s: %+v, want %s beyond=%v", c.name, j, c.want, c.beyond)
		}
	}
	// An estimate of +1% ± 4% at 6 rounds: negligible needs a half-width
	// of 1%, 16× fewer variance: 96 rounds, 90 more.
	if j := Judge(Estimate{Overhead: 0.01, Lo: -0.03, Hi: 0.05, N: 6}, 0.02); j.More != 90 {
		t.Errorf("more rounds %d, want 90", j.More)
	}
	// Right at the margin's edge nothing likely decides it.
	if j := Judge(Estimate{Overhead: 0.0, Lo: -0.03, Hi: 0.03, N: 6}, 0); j.More != -1 {
		t.Errorf("more rounds %d, want -1 (undecidable)", j.More)
	}
}

func TestMinRoundsAt(t *testing.T) {
	for level, want := range map[float64]int{0.95: 6, Level(2): 7, Level(3): 7, Level(4): 8, Level(8): 9} {
		if got := MinRoundsAt(level); got != want {
			t.Errorf("level %g: %d, want %d", level, got, want)
		}
		if _, ok := signedRankCritical(want, (1-level)/2); !ok {
			t.Errorf("level %g: no interval at %d rounds", level, want)
		}
		if _, ok := signedRankCritical(want-1, (1-level)/2); ok {
			t.Errorf("level %g: an interval at %d rounds", level, want-1)
		}
	}
}

func TestLooksAndLevel(t *testing.T) {
	if got := Looks(6, 6); len(got) != 1 || Level(len(got)) != 0.95 {
		t.Errorf("fixed: %v level %g", got, Level(len(got)))
	}
	got := Looks(6, 30)
	want := []int{6, 12, 24, 30}
	if len(got) != len(want) {
		t.Fatalf("looks %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("looks %v, want %v", got, want)
		}
	}
	if l := Level(4); math.Abs(l-0.9875) > 1e-12 {
		t.Errorf("level of 4 looks %g", l)
	}
}

// sequential simulates adaptive runs of a comparison: rounds are drawn
// from draw (the log cost ratio of a round), judged at each look of the
// schedule at the Bonferroni level (or at 95% when naive), stopping at the
// first decided look. It returns the final judgements.
func sequential(r *rand.Rand, runs, reps, maxReps int, precision float64, naive bool, draw func(*rand.Rand) float64) []Judgement {
	looks := Looks(reps, maxReps)
	level := Level(len(looks))
	if naive {
		level = 0.95
	}
	var out []Judgement
	for range runs {
		var ref, x []float64
		var j Judgement
		for _, n := range looks {
			for len(x) < n {
				d := math.Exp(r.NormFloat64() * 0.2) // host drift, shared by the round
				ref = append(ref, d)
				x = append(x, d*math.Exp(draw(r)))
			}
			e := Compare(Values{ref, rounds(len(ref))}, Values{x, rounds(len(x))}, false, level)
			j = Judge(e, DefaultMargin)
			if !Undecided(e, j, precision) {
				break
			}
		}
		out = append(out, j)
	}
	return out
}

// TestSequentialErrorRate shows by simulation that stopping at the first
// decided look keeps the rate of false "overhead"/"better" verdicts of
// identical platforms at or below 5%, for normal, heavy-tailed and skewed
// per-trial noise; and that without the correction it would not.
func TestSequentialErrorRate(t *testing.T) {
	const runs = 4000
	noises := map[string]func(*rand.Rand) float64{
		"normal 3%": func(r *rand.Rand) float64 { return 0.03 * (r.NormFloat64() - r.NormFloat64()) / math.Sqrt2 },
		"laplace 3%": func(r *rand.Rand) float64 {
			return 0.03 / math.Sqrt2 * (r.ExpFloat64() - r.ExpFloat64())
		},
		// Each platform's trial is slowed now and then (a right-skewed
		// delay); identical platforms, so the round's log ratio is the
		// difference of two such delays.
		"skewed delays": func(r *rand.Rand) float64 {
			delay := func() float64 { return math.Log1p(0.05 * r.ExpFloat64() * float64(r.IntN(2))) }
			return delay() - delay()
		},
	}
	for name, draw := range noises {
		r := rand.New(rand.NewPCG(1, 2))
		rate := func(js []Judgement) (wrong, negligible float64) {
			for _, j := range js {
				switch j.Verdict {
				case Overhead, Better:
					wrong++
				case Negligible:
					negligible++
				}
			}
			return wrong / float64(len(js)), negligible / float64(len(js))
		}
		// Stopping at the first decided look, and going on until 1% precision.
		first, firstNegl := rate(sequential(r, runs, 8, 64, 0, false, draw))
		naive, _ := rate(sequential(r, runs, 8, 64, 0, true, draw))
		prec, precNegl := rate(sequential(r, runs, 8, 64, 0.01, false, draw))
		fixed, fixedNegl := rate(sequential(r, runs, 6, 6, 0, false, draw))
		t.Logf("%-13s A/A false overhead/better (negligible): fixed 6 rounds %.1f%% (%.1f%%); looks at 8-64 rounds, first decision %.1f%% (%.1f%%), uncorrected %.1f%%; precision 1%% %.1f%% (%.1f%%)",
			name, 100*fixed, 100*fixedNegl, 100*first, 100*firstNegl, 100*naive, 100*prec, 100*precNegl)
		// 4000 runs: the rate's standard error at 5% is 0.34 points.
		for what, rate := range map[string]float64{"first decision": first, "precision": prec, "fixed": fixed} {
			if rate > 0.05 {
				t.Errorf("%s, %s: false overhead/better rate %.2f%% > 5%%", name, what, 100*rate)
			}
		}
	}
}

// TestPairedCoverage: the paired interval covers a known overhead at its
// level or better.
func TestPairedCoverage(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const runs = 3000
	truth := 0.03
	covered, detected := 0, 0
	for range runs {
		var ref, x []float64
		for range 12 {
			d := math.Exp(r.NormFloat64() * 0.2)
			ref = append(ref, d*math.Exp(0.02*r.NormFloat64()))
			x = append(x, d*(1+truth)*math.Exp(0.02*r.NormFloat64()))
		}
		e := Compare(Values{ref, rounds(12)}, Values{x, rounds(12)}, false, 0.95)
		if e.Lo <= truth && truth <= e.Hi {
			covered++
		}
		if Judge(e, DefaultMargin).Verdict == Overhead {
			detected++
		}
	}
	cov := float64(covered) / runs
	t.Logf("+3%% with 2%% noise per trial, 12 rounds: coverage %.1f%%, called overhead %.1f%%", 100*cov, 100*float64(detected)/runs)
	if cov < 0.93 {
		t.Errorf("coverage %.1f%% below the 95%% level", 100*cov)
	}
}
