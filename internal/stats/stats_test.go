package stats

import (
	"math"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{10, 10.2, 9.9, 10, 10, 10.1})
	if s.N != 6 || s.Center != 10 {
		t.Errorf("summary %+v", s)
	}
	if !(s.Lo <= 10 && s.Hi >= 10 && s.Lo < s.Hi) {
		t.Errorf("interval [%g, %g] does not hold the median", s.Lo, s.Hi)
	}
	if s.CV <= 0 || s.CV > NoisyCV {
		t.Errorf("cv %g", s.CV)
	}
	few := Summarize([]float64{1, 2})
	if len(few.Warnings) == 0 {
		t.Error("two values give no confidence interval; want a warning")
	}
	noisy := Summarize([]float64{1, 2, 1, 2, 1, 2})
	if !strings.Contains(strings.Join(noisy.Warnings, ";"), "noisy") {
		t.Errorf("cv %g not flagged: %v", noisy.CV, noisy.Warnings)
	}
}

func TestCompareUnpairedOverheadDirection(t *testing.T) {
	base := Values{V: []float64{100, 101, 99, 100, 100, 102}}
	slower := Values{V: []float64{80, 81, 79, 80, 80, 82}} // a rate: 20% fewer ops
	d := Compare(base, slower, true, 0.95)
	if math.Abs(d.Overhead-0.25) > 1e-9 || d.Paired || Judge(d, 0.02).Verdict != Overhead {
		t.Errorf("rate: %+v, want an unpaired +25%% overhead", d)
	}
	if !(d.Lo <= d.Overhead && d.Overhead <= d.Hi && d.Lo > 0.2 && d.Hi < 0.3) {
		t.Errorf("interval [%g, %g] does not hold +25%% tightly", d.Lo, d.Hi)
	}
	if again := Compare(base, slower, true, 0.95); again.Lo != d.Lo || again.Hi != d.Hi {
		t.Error("the bootstrap interval is not reproducible")
	}
	longer := Values{V: []float64{120, 121, 119, 120, 120, 122}} // a time: 20% longer
	if d = Compare(base, longer, false, 0.95); math.Abs(d.Overhead-0.2) > 1e-9 || Judge(d, 0.02).Verdict != Overhead {
		t.Errorf("time: %+v, want +20%% overhead", d)
	}
	same := Compare(base, Values{V: []float64{101, 99, 100, 102, 100, 101}}, true, 0.95)
	if !(same.Lo < 0 && same.Hi > 0) {
		t.Errorf("equal samples: interval [%g, %g] should straddle 0", same.Lo, same.Hi)
	}
}

func TestOutliers(t *testing.T) {
	s := Summarize([]float64{10, 10.1, 9.9, 10, 14, 10.05, 9.95})
	if len(s.Outliers) != 1 || s.Outliers[0] != 14 {
		t.Errorf("outliers %v, want [14]", s.Outliers)
	}
	if s.Center != 10 {
		t.Errorf("median %v: the outlier moved it", s.Center)
	}
	if s := Summarize([]float64{10, 10.1, 9.9, 10, 10.05, 9.95}); len(s.Outliers) != 0 {
		t.Errorf("outliers %v in tight values", s.Outliers)
	}
	if s := Summarize([]float64{1, 1, 1, 100}); len(s.Outliers) != 0 {
		t.Errorf("outliers %v among %d values, fewer than MinOutlierN", s.Outliers, 4)
	}
}
