package history

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vmbench/vmbench/internal/stats"
)

// runNoise is the run-to-run spread of an overhead estimate on this host,
// on a log scale: an A/A run of two identical runc platforms over 28
// rounds had a median interval half-width of ±3.0% (issue 30), about two
// standard errors, so one run's estimate moves by about 1.5%.
const runNoise = 0.015

// noise families: a run's estimate is off by one draw, scaled to runNoise.
var families = map[string]func(r *rand.Rand) float64{
	"normal": func(r *rand.Rand) float64 { return runNoise * r.NormFloat64() },
	"laplace": func(r *rand.Rand) float64 {
		u := r.Float64() - 0.5
		return -runNoise / math.Sqrt2 * math.Copysign(math.Log(1-2*math.Abs(u)), u)
	},
	// Student's t with 3 degrees of freedom: heavy tails, the occasional
	// run far off.
	"t3": func(r *rand.Rand) float64 {
		n := r.NormFloat64()
		c := 0.0
		for range 3 {
			x := r.NormFloat64()
			c += x * x
		}
		return runNoise / math.Sqrt(3) * n / math.Sqrt(c/3)
	},
}

// series is a history of n runs' overheads (log scale) around a base of
// +10%, with step added from run at on.
func series(r *rand.Rand, noise func(*rand.Rand) float64, n, at int, step float64) Series {
	s := Series{Key: Key{Workload: "cpu", Metric: "throughput", Platform: "vm", Versus: "native"}}
	for i := range n {
		z := math.Log(1.10) + noise(r)
		if i >= at {
			z += math.Log1p(step)
		}
		s.Points = append(s.Points, Point{Run: i, Value: math.Expm1(z)})
	}
	return s
}

// A step of +3% at run 40 of 60, under the run-to-run noise measured here:
// the change point is found at 40 ± 2 in at least 90% of the histories,
// for every noise family.
func TestStepIsFoundWhereItIs(t *testing.T) {
	const histories = 200
	for name, noise := range families {
		r := rand.New(rand.NewPCG(1, 40))
		found, elsewhere := 0, 0
		for range histories {
			cs := DefaultSearch.changes(series(r, noise, 60, 40, 0.03))
			hit := false
			for _, c := range cs {
				if c.At >= 38 && c.At <= 42 {
					hit = true
				} else {
					elsewhere++
				}
			}
			if hit {
				found++
			}
		}
		t.Logf("%s: +3%% at run 40 of 60 found at 40±2 in %d of %d histories; %d other change points", name, found, histories, elsewhere)
		if found < histories*90/100 {
			t.Errorf("%s: found in %d of %d histories, want ≥ 90%%", name, found, histories)
		}
	}
}

// A/A: 60 runs without a change. A history with a change point found in it
// is a false alarm; at most Alpha of them, with room for chance (a
// binomial 99.9% bound).
func TestNoChangeRarelyHasChangePoints(t *testing.T) {
	const histories = 2000
	for name, noise := range families {
		r := rand.New(rand.NewPCG(5, 61))
		false1 := 0
		for range histories {
			if len(DefaultSearch.changes(series(r, noise, 60, 60, 0))) > 0 {
				false1++
			}
		}
		rate := float64(false1) / histories
		bound := DefaultSearch.Alpha + 3.1*math.Sqrt(DefaultSearch.Alpha*(1-DefaultSearch.Alpha)/histories)
		t.Logf("%s: %d of %d A/A histories had a change point (%.1f%%; stated %.0f%%)", name, false1, histories, 100*rate, 100*DefaultSearch.Alpha)
		if rate > bound {
			t.Errorf("%s: false change points in %.1f%% of A/A histories, more than the stated %.0f%% allows (%.1f%%)", name, 100*rate, 100*DefaultSearch.Alpha, 100*bound)
		}
	}
}

// A creep: 20 runs level, then +0.5% per run for 10 runs. Every step
// passes a pairwise regression gate of 5% (each run against the one before,
// judged on its rounds as vmbench gate does), yet the history's last 10
// runs hold a persistent change beyond 2%, which gate --history fails.
func TestCreepFailsTheHistoryGateButNoPairwiseGate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 10))
	const rounds, roundNoise = 14, 0.02 // per-round log-ratio spread
	var prev []float64
	h := History{}
	s := Series{Key: Key{Workload: "cpu", Metric: "throughput", Platform: "vm", Versus: "native"}}
	for i := range 30 {
		level := math.Log(1.10) + math.Log1p(0.005)*float64(max(0, i-19))
		cost := make([]float64, rounds)
		for j := range cost {
			cost[j] = math.Exp(level + roundNoise*r.NormFloat64())
		}
		e := stats.Compare(stats.Values{V: oneEach(rounds)}, stats.Values{V: cost}, false, 0.95)
		h.Runs = append(h.Runs, Run{ID: "r"})
		s.Points = append(s.Points, Point{Run: i, Value: e.Overhead, Lo: e.Lo, Hi: e.Hi})
		if prev != nil {
			// The regression gate: this run's per-round costs against the
			// previous run's, failing when the whole interval is beyond +5%.
			d := stats.Compare(stats.Values{V: prev}, stats.Values{V: cost}, false, 0.95)
			if d.Lo > 0.05 {
				t.Fatalf("run %d: the pairwise regression gate fails (%+.1f%% [%+.1f, %+.1f]): not a creep", i, 100*d.Overhead, 100*d.Lo, 100*d.Hi)
			}
		}
		prev = cost
	}
	s.Changes = DefaultSearch.changes(s)
	h.Series = []Series{s}
	c, ok := h.Persistent(s, 10)
	if !ok {
		t.Fatalf("no change point in the last 10 runs; changes: %+v", s.Changes)
	}
	t.Logf("persistent change from run %d: %+.2f%% [%+.2f, %+.2f]", c.At, 100*c.Magnitude, 100*c.Lo, 100*c.Hi)
	if !c.Worse || c.Magnitude <= 0.02 || c.Lo <= 0 {
		t.Errorf("the creep's persistent change %+.2f%% [%+.2f, %+.2f] is not beyond +2%%", 100*c.Magnitude, 100*c.Lo, 100*c.Hi)
	}
}

func oneEach(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}
