package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
)

// findingShort is a finding in a summary cell: "overhead +12% [+10, +14]".
func (t Table) findingShort(f analysis.Finding) string {
	s := t.findingVerdict(f)
	if f.Failed > 0 && f.Verdict != stats.Failed {
		s += fmt.Sprintf("; failed: %d of %d cells", f.Failed, f.Cells)
	}
	return s
}

func (t Table) findingVerdict(f analysis.Finding) string {
	j := f.Worst
	switch f.Verdict {
	case stats.Failed:
		return fmt.Sprintf("failed: %d of %d cells (%s)", f.Failed, f.Cells, t.failedWhere(f))
	case stats.Negligible:
		return fmt.Sprintf("negligible (%d of %d within ±%s)", f.Count[stats.Negligible], f.Cells, pctAbs(j.Margin))
	case stats.TooFew:
		return fmt.Sprintf("too few rounds (n=%d)", j.N)
	case stats.Inconclusive:
		return fmt.Sprintf("inconclusive (%d of %d undecided)", f.Count[stats.Inconclusive], f.Cells)
	}
	s := fmt.Sprintf("%s %s %s", f.Verdict, pct(j.Overhead), interval(j.Estimate))
	if f.CrossesHardware {
		s += " (crosses hardware)"
	}
	return s
}

// where names a row: "memory op=copy bandwidth".
func where(r *analysis.Row) string {
	return strings.Join(strings.Fields(r.Workload+" "+r.Label+" "+r.Metric), " ")
}

// failedWhere names the first cell of a finding whose every trial failed
// on one side: "memory op=copy on vm".
func (t Table) failedWhere(f analysis.Finding) string {
	return strings.TrimSuffix(where(f.FailedWhere), " -") + " on " + t.Platforms[f.FailedOn].Name
}

// decidedBy names the cell that decides a finding, or, when every trial
// failed on a side of its cells, the first of those.
func (t Table) decidedBy(f analysis.Finding) string {
	if f.Worst != nil {
		return where(f.Where)
	}
	return t.failedWhere(f)
}

// findingDetail says which cells the finding rests on.
func (t Table) findingDetail(f analysis.Finding) string {
	var parts []string
	for _, v := range []stats.Verdict{stats.Overhead, stats.Failed, stats.Better, stats.Inconclusive, stats.Negligible, stats.TooFew} {
		if n := f.Count[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, v))
		}
	}
	d := fmt.Sprintf("cells: %s", strings.Join(parts, ", "))
	if f.Worst != nil {
		d = fmt.Sprintf("%s: %s; %s", where(f.Where), judgedText(*f.Worst), d)
	}
	if f.Failed > 0 {
		d += fmt.Sprintf("; every trial failed on one side of %s", t.failedWhere(f))
		if f.Failed > 1 {
			d += fmt.Sprintf(" and %d more", f.Failed-1)
		}
	}
	if f.Corrected > 0 {
		d += fmt.Sprintf(" (%d read inconclusive in this line: their own interval excludes zero, not with Hochberg's correction over the line's %d cells)", f.Corrected, f.Cells)
	}
	if w := t.hardwareWarning(f); w != "" {
		d += "; warning: " + w
	}
	return d
}

// hardwareWarning says so when a finding's platforms ran on different CPU
// models (a remote machine against the controller's host): the verdict
// then includes the hardware's difference, not only the platforms'.
func (t Table) hardwareWarning(f analysis.Finding) string {
	if !f.CrossesHardware {
		return ""
	}
	a, b := t.Platforms[f.Pair.X], t.Platforms[f.Pair.Ref]
	return fmt.Sprintf("the comparison crosses hardware (%s on %s, %s on %s)", a.Name, a.Machine, b.Name, b.Machine)
}

// judgedText is how a verdict reads in every format: "negligible +0.3%
// [-0.8, +1.2]", "overhead +12.3% [+10.1, +14.0]", "inconclusive +1.0%
// [-2.1, +4.0], ~12 more rounds", "too few rounds (n=3)".
func judgedText(j analysis.Judged) string {
	if math.IsNaN(j.Overhead) {
		return "?"
	}
	if j.Verdict == stats.TooFew {
		return fmt.Sprintf("too few rounds (n=%d): %s", j.N, pct(j.Overhead))
	}
	s := fmt.Sprintf("%s %s %s", j.Verdict, pct(j.Overhead), interval(j.Estimate))
	switch {
	case (j.Verdict == stats.Overhead || j.Verdict == stats.Better) && !j.BeyondMargin:
		s += fmt.Sprintf(", maybe within ±%s", pctAbs(j.Margin))
	case j.Uneven:
		s += ", failed trials uneven between the sides"
	case j.Verdict == stats.Inconclusive && j.More > 0:
		s += fmt.Sprintf(", ~%d more rounds", j.More)
	case j.Verdict == stats.Inconclusive:
		s += ", near the margin"
	}
	if j.AnyFailed() {
		s += fmt.Sprintf(" (%d of %d trials failed on %s, %d of %d on %s)", j.X.Failed, j.X.Trials, j.X.Platform, j.Ref.Failed, j.Ref.Trials, j.Ref.Platform)
	}
	return s
}

// pct prints an overhead: "+12.3%", and from +100% on as a factor, "×2.4".
func pct(f float64) string { return units.Overhead(f) }

func pctAbs(f float64) string { return strconv.FormatFloat(100*f, 'g', 3, 64) + "%" }

func interval(e stats.Estimate) string {
	if math.IsNaN(e.Lo) {
		return ""
	}
	lo, hi := pct(e.Lo), pct(e.Hi)
	if strings.HasSuffix(lo, "%") && strings.HasSuffix(hi, "%") {
		lo, hi = strings.TrimSuffix(lo, "%"), strings.TrimSuffix(hi, "%")
	}
	return "[" + lo + ", " + hi + "]"
}

// pairName is "vm vs container".
func (t Table) pairName(p analysis.Pair) string {
	return t.Platforms[p.X].Name + " vs " + t.Platforms[p.Ref].Name
}

// summaryRows are the summary as a grid: a row per resource, a column per
// pair.
func (t Table) summaryRows() (header []string, rows [][]string) {
	header = []string{"resource"}
	for _, p := range t.Pairs {
		header = append(header, t.pairName(p))
	}
	for _, res := range workload.Resources {
		row := []string{res}
		has := false
		for pi := range t.Pairs {
			i := slices.IndexFunc(t.Summary, func(f analysis.Finding) bool { return f.Resource == res && f.Pair == t.Pairs[pi] })
			if i < 0 {
				row = append(row, "—")
				continue
			}
			has = true
			row = append(row, t.findingShort(t.Summary[i]))
		}
		if has {
			rows = append(rows, row)
		}
	}
	return header, rows
}

// verdictLegend says how verdicts are reached; the same in every format.
func (t Table) verdictLegend() string {
	s := fmt.Sprintf("Verdicts: the overhead's %s interval, paired round by round (Hodges-Lehmann estimate and Wilcoxon signed-rank interval of the per-round cost ratios) "+
		"where rounds are complete, else a bootstrap of the medians. negligible: the whole interval within ±%s (an equivalence test at α=%s per side); "+
		"overhead/better: the whole interval beyond zero (\"maybe within ±margin\" when it reaches into the margin); inconclusive: neither, with the rounds likely to decide it; "+
		"too few rounds: fewer than %d for an interval. Overheads from +100%% on read as factors (×2.00 = twice the cost). "+
		"A summary line keeps a cell's overhead/better only where Hochberg's correction over the line's cells does; it reads failed when a cell's every trial failed on a side, "+
		"and a comparison whose sides lost different shares of their trials is never negligible.",
		stats.LevelText(t.Confidence), pctAbs(t.Analysis.Negligible), pctAbs((1-t.Confidence)/2), stats.MinRoundsAt(t.Confidence))
	switch {
	case len(t.Analysis.Looks) > 1:
		s += fmt.Sprintf(" Adaptive: cells were judged after %s rounds", joinInts(t.Analysis.Looks))
		if t.Retries > 0 {
			s += fmt.Sprintf(", and vmbench gate --retry added %d round(s)", t.Retries)
		}
		s += fmt.Sprintf("; the 5%% error rate is split over the %d looks, hence the %s level.", t.Looks, stats.LevelText(t.Confidence))
	case t.Looks > 1:
		s += fmt.Sprintf(" vmbench gate --retry added %d round(s): the 5%% error rate is split over the %d looks at the data, hence the %s level.", t.Retries, t.Looks, stats.LevelText(t.Confidence))
	}
	return s
}

func joinInts(v []int) string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprint(x))
	}
	return strings.Join(s, ", ")
}
