package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
)

// Judged is an overhead with its verdict.
type Judged struct {
	stats.Estimate
	stats.Judgement
	// Failures says how many trials failed on either side, "" when none
	// did; Uneven is set when the verdict was made inconclusive because
	// the sides' failed shares differ: failed trials drop out of the
	// pairing, and which rounds fail is not chance (the slowest time out).
	Failures string
	Uneven   bool
}

// Pair is a comparison: the platform in column X against the one in Ref.
type Pair struct{ X, Ref int }

// analysisOf is the run's analysis, or the defaults for a run that has none.
func analysisOf(info result.RunInfo) result.Analysis {
	if info.Analysis != nil {
		return *info.Analysis
	}
	var names, types []string
	for _, p := range info.Platforms {
		names, types = append(names, p.Name), append(types, cmp.Or(p.Info["role"], p.Type))
	}
	return result.Analysis{Negligible: stats.DefaultMargin, Compare: scenario.DefaultComparisons(names, types)}
}

// resourceOf is the summary line a workload type's metric speaks for.
func resourceOf(typ, metric string) string {
	w, ok := workloads.Lookup(typ)
	if !ok {
		return ""
	}
	for _, m := range workload.AllMetrics(w) {
		if m.Name == metric {
			return m.Resource
		}
	}
	return ""
}

// resourcesOf are the summary lines a workload type's metrics speak for.
func resourcesOf(typ string) []string {
	var out []string
	if w, ok := workloads.Lookup(typ); ok {
		for _, m := range workload.AllMetrics(w) {
			if m.Resource != "" && !slices.Contains(out, m.Resource) {
				out = append(out, m.Resource)
			}
		}
	}
	return out
}

// judge compares column x of a row with column ref.
func (t Table) judge(r Row, x, ref int) *Judged {
	a, b := r.Cells[x], r.Cells[ref]
	if len(a.Values) == 0 || len(b.Values) == 0 {
		return nil
	}
	e := stats.Compare(b.values(), a.values(), r.higher(), t.Level)
	j := &Judged{Estimate: e, Judgement: stats.Judge(e, t.Analysis.Margin(r.Workload, r.Metric))}
	if a.Failed > 0 || b.Failed > 0 {
		j.Failures = fmt.Sprintf("%d of %d trials failed on %s, %d of %d on %s",
			a.Failed, a.Failed+len(a.Values), t.Platforms[x].Name, b.Failed, b.Failed+len(b.Values), t.Platforms[ref].Name)
		xs, rs := a.failedShare(), b.failedShare()
		// x's failures drop its slowest rounds: it looks better than it
		// is; the reference's failures make x look worse.
		switch v := j.Verdict; {
		case xs == rs:
		case v == stats.Negligible, v == stats.Better && xs > rs, v == stats.Overhead && rs > xs:
			j.Verdict, j.BeyondMargin, j.More, j.Uneven = stats.Inconclusive, false, 0, true
		}
	}
	return j
}

// failedShare is the share of the cell's trials that failed.
func (c Cell) failedShare() float64 {
	return float64(c.Failed) / float64(c.Failed+len(c.Values))
}

// compare judges every row on the analysis' pairs and sums them up per
// resource.
func (t *Table) compare(col map[string]int) {
	for _, c := range t.Analysis.Compare {
		x, okx := col[c[0]]
		ref, okr := col[c[1]]
		if okx && okr {
			t.Pairs = append(t.Pairs, Pair{x, ref})
		}
	}
	for i := range t.Rows {
		r := &t.Rows[i]
		for _, p := range t.Pairs {
			r.Versus = append(r.Versus, t.judge(*r, p.X, p.Ref))
		}
	}
	for _, res := range workload.Resources {
		for pi := range t.Pairs {
			if f, ok := t.finding(res, pi); ok {
				f.Warning = t.crossesHardware(t.Pairs[pi])
				t.Summary = append(t.Summary, f)
			}
		}
	}
}

// Finding is the verdict on one resource for one pair, over every cell
// (workload variant and metric) that speaks for the resource.
type Finding struct {
	Resource string
	Pair     Pair
	Verdict  stats.Verdict
	Count    map[stats.Verdict]int
	Cells    int
	// Worst is the cell that decides the verdict: the largest overhead,
	// the most improved, the first undecided, or the largest negligible
	// one; Where names it.
	Worst *Judged
	Where string
	// Warning is what makes the verdict read differently: a comparison
	// across hardware.
	Warning string
	// Corrected is how many cells' overhead or better the line did not
	// keep: with Hochberg's correction over its Cells they do not exclude zero.
	Corrected int
	// Failed is how many of its Cells had every trial failed on one side;
	// FailedWhere names the first. Worst is nil when the verdict is
	// stats.Failed.
	Failed      int
	FailedWhere string
}

func (t Table) finding(res string, pi int) (Finding, bool) {
	f := Finding{Resource: res, Pair: t.Pairs[pi], Count: map[stats.Verdict]int{}}
	type cell struct {
		j     *Judged
		where string
	}
	var cells []cell
	p := t.Pairs[pi]
	for _, r := range t.Rows {
		if r.Resource != res && !slices.Contains(r.Failing, res) {
			continue
		}
		where := strings.Join(strings.Fields(r.Workload+" "+r.Label+" "+r.Metric), " ")
		if r.Versus[pi] == nil {
			// A side whose every trial failed: nothing to compare, and
			// the line must say so.
			for _, c := range []int{p.X, p.Ref} {
				if cl := r.Cells[c]; len(cl.Values) == 0 && cl.Failed > 0 {
					if f.Failed++; f.FailedWhere == "" {
						f.FailedWhere = strings.TrimSuffix(where, " -") + " on " + t.Platforms[c].Name
					}
					break
				}
			}
			continue
		}
		cells = append(cells, cell{r.Versus[pi], where})
	}
	if len(cells) == 0 && f.Failed == 0 {
		return f, false
	}
	if f.Cells = f.Failed; f.Failed > 0 {
		f.Count[stats.Failed] = f.Failed
	}
	// The line's claims are corrected for its number of cells (Hochberg): a
	// cell's own verdict stands in its row, not always in the line.
	es, js := make([]stats.Estimate, len(cells)), make([]stats.Judgement, len(cells))
	for i, c := range cells {
		es[i], js[i] = c.j.Estimate, c.j.Judgement
	}
	for i, j := range stats.Line(es, js, t.Level) {
		if j.Verdict != cells[i].j.Verdict {
			cells[i].j = &Judged{Estimate: es[i], Judgement: j, Failures: cells[i].j.Failures, Uneven: cells[i].j.Uneven}
			f.Corrected++
		}
		f.Count[j.Verdict]++
		f.Cells++
	}
	pick := func(v stats.Verdict, better func(a, b *Judged) bool) {
		for _, c := range cells {
			if c.j.Verdict == v && (f.Worst == nil || better(c.j, f.Worst)) {
				f.Worst, f.Where = c.j, c.where
			}
		}
		f.Verdict = v
	}
	switch {
	case f.Count[stats.Overhead] > 0:
		pick(stats.Overhead, func(a, b *Judged) bool { return a.Overhead > b.Overhead })
	case f.Failed > 0:
		f.Verdict = stats.Failed
	case f.Count[stats.Inconclusive] > 0:
		pick(stats.Inconclusive, func(a, b *Judged) bool { return false })
	case f.Count[stats.Better] > 0:
		pick(stats.Better, func(a, b *Judged) bool { return a.Overhead < b.Overhead })
	case f.Count[stats.Negligible] > 0 && f.Count[stats.TooFew] == 0:
		pick(stats.Negligible, func(a, b *Judged) bool { return math.Abs(a.Overhead) > math.Abs(b.Overhead) })
	default:
		pick(stats.TooFew, func(a, b *Judged) bool { return false })
	}
	return f, true
}

// Short is a finding in a summary cell: "overhead +12% [+10, +14]".
func (f Finding) Short() string {
	s := f.short()
	if f.Failed > 0 && f.Verdict != stats.Failed {
		s += fmt.Sprintf("; failed: %d of %d cells", f.Failed, f.Cells)
	}
	return s
}

func (f Finding) short() string {
	j := f.Worst
	switch f.Verdict {
	case stats.Failed:
		return fmt.Sprintf("failed: %d of %d cells (%s)", f.Failed, f.Cells, f.FailedWhere)
	case stats.Negligible:
		return fmt.Sprintf("negligible (%d of %d within ±%s)", f.Count[stats.Negligible], f.Cells, pctAbs(j.Margin))
	case stats.TooFew:
		return fmt.Sprintf("too few rounds (n=%d)", j.N)
	case stats.Inconclusive:
		return fmt.Sprintf("inconclusive (%d of %d undecided)", f.Count[stats.Inconclusive], f.Cells)
	}
	s := fmt.Sprintf("%s %s %s", f.Verdict, pct(j.Overhead), interval(j.Estimate))
	if f.Warning != "" {
		s += " (crosses hardware)"
	}
	return s
}

// Detail says which cells the finding rests on.
func (f Finding) Detail() string {
	var parts []string
	for _, v := range []stats.Verdict{stats.Overhead, stats.Failed, stats.Better, stats.Inconclusive, stats.Negligible, stats.TooFew} {
		if n := f.Count[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, v))
		}
	}
	d := fmt.Sprintf("cells: %s", strings.Join(parts, ", "))
	if f.Worst != nil {
		d = fmt.Sprintf("%s: %s; %s", f.Where, f.Worst.Text(), d)
	}
	if f.Failed > 0 {
		d += fmt.Sprintf("; every trial failed on one side of %s", f.FailedWhere)
		if f.Failed > 1 {
			d += fmt.Sprintf(" and %d more", f.Failed-1)
		}
	}
	if f.Corrected > 0 {
		d += fmt.Sprintf(" (%d read inconclusive in this line: their own interval excludes zero, not with Hochberg's correction over the line's %d cells)", f.Corrected, f.Cells)
	}
	if f.Warning != "" {
		d += "; warning: " + f.Warning
	}
	return d
}

// crossesHardware says so when the pair's platforms ran on different CPU
// models (a remote machine against the controller's host): the verdict
// then includes the hardware's difference, not only the platforms'.
func (t Table) crossesHardware(p Pair) string {
	a, b := t.Platforms[p.X], t.Platforms[p.Ref]
	if a.Machine == "" || b.Machine == "" || a.Machine == b.Machine {
		return ""
	}
	return fmt.Sprintf("the comparison crosses hardware (%s on %s, %s on %s)", a.Name, a.Machine, b.Name, b.Machine)
}

// Text is how a verdict reads in every format: "negligible +0.3% [-0.8,
// +1.2]", "overhead +12.3% [+10.1, +14.0]", "inconclusive +1.0% [-2.1,
// +4.0], ~12 more rounds", "too few rounds (n=3)".
func (j Judged) Text() string {
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
	if j.Failures != "" {
		s += " (" + j.Failures + ")"
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
func (t Table) pairName(p Pair) string {
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
			i := slices.IndexFunc(t.Summary, func(f Finding) bool { return f.Resource == res && f.Pair == t.Pairs[pi] })
			if i < 0 {
				row = append(row, "—")
				continue
			}
			has = true
			row = append(row, t.Summary[i].Short())
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
		stats.LevelText(t.Level), pctAbs(t.Analysis.Negligible), pctAbs((1-t.Level)/2), stats.MinRoundsAt(t.Level))
	switch {
	case len(t.Analysis.Looks) > 1:
		s += fmt.Sprintf(" Adaptive: cells were judged after %s rounds", joinInts(t.Analysis.Looks))
		if t.Retries > 0 {
			s += fmt.Sprintf(", and vmbench gate --retry added %d round(s)", t.Retries)
		}
		s += fmt.Sprintf("; the 5%% error rate is split over the %d looks, hence the %s level.", t.Looks, stats.LevelText(t.Level))
	case t.Looks > 1:
		s += fmt.Sprintf(" vmbench gate --retry added %d round(s): the 5%% error rate is split over the %d looks at the data, hence the %s level.", t.Retries, t.Looks, stats.LevelText(t.Level))
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
