package gate

import (
	"fmt"
	"slices"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/stats"
)

// A regression gate compares a run with a baseline run made at another
// time, when the host may have been loaded differently: on a busy CI runner
// the two runs' noise can swamp even a fourfold slowdown. Where the
// baseline defined the gated platform otherwise than this run does (a CPU
// limit, a runtime, a guest's size), vmbench gate --retry re-runs the
// baseline's definition, its twin, alongside this run's platform, round by
// round, and judges the change on those paired rounds, where the host's
// load falls on both sides alike. Where the definitions are the same, the
// change lies in the host or in the software, which no re-run here can
// reproduce; the stored baseline is all there is.

// Twins are what a retry round re-runs beside the run's own cells to judge
// the inconclusive regression gates paired.
type Twins struct {
	Platforms []scenario.Platform // the baseline's definitions, named result.TwinName
	Cells     []result.Cell       // the twins' cells
	Rounds    int                 // the rounds a paired interval needs at the gates' level, beyond a stray round or two
}

// TwinsOf returns the twins the inconclusive regression checks of r call
// for, given the baseline and the scenario the retry runs (s).
func TwinsOf(r Report, base *Baseline, s *scenario.Scenario) Twins {
	var t Twins
	if base == nil {
		return t
	}
	old, err := scenario.Load("baseline.yaml", []byte(base.Info.Scenario.Text))
	if err != nil {
		return t // a baseline without its scenario (or from another version): no twins
	}
	for _, c := range r.Checks {
		if c.Kind != scenario.Regression || c.Status != Inconclusive {
			continue
		}
		i := slices.IndexFunc(s.Platforms, func(p scenario.Platform) bool { return p.Name == c.Platform })
		j := slices.IndexFunc(old.Platforms, func(p scenario.Platform) bool { return p.Name == c.Platform })
		if i < 0 || j < 0 || s.Platforms[i].SameAs(old.Platforms[j]) {
			continue
		}
		twin := old.Platforms[j]
		twin.Name, twin.Family, twin.Matrix = result.TwinName(twin.Name, base.Info.RunID), "", nil
		if !slices.ContainsFunc(t.Platforms, func(p scenario.Platform) bool { return p.Name == twin.Name }) {
			t.Platforms = append(t.Platforms, twin)
		}
		cell := result.Cell{Workload: c.Workload, Label: c.Label, Platform: twin.Name}
		if !slices.Contains(t.Cells, cell) {
			t.Cells = append(t.Cells, cell)
		}
		// A bound set by one stray round would leave a fourfold slowdown
		// undecided (once: ×3.97 [−22.2%, ×4.39] over 9 rounds at 99.5%).
		t.Rounds = max(t.Rounds, stats.RoundsBeyond(c.Level, 3))
	}
	return t
}

// twinRegression judges a regression on the rounds where the baseline's
// definition of the platform ran beside this run's: paired.
func twinRegression(c *Check, x, twin *analysis.Cell, higherIsBetter bool) {
	if noData(c, x, c.Platform) || noData(c, twin, "the baseline's "+c.Platform) {
		return
	}
	d := stats.Compare(twin.Stats(), x.Stats(), higherIsBetter, c.Level)
	c.N, c.BaseN, c.Paired = d.N, len(twin.Values), d.Paired
	c.Against = "the baseline's definition of " + c.Platform + ", re-run in the same rounds"
	judgeChange(c, d, fmt.Sprintf("change vs the baseline's %s re-run beside it (paired, %d rounds)", c.Platform, d.N))
}
