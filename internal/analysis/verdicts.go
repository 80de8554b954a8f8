package analysis

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
)

// Judged is an overhead with its verdict.
type Judged struct {
	stats.Estimate
	stats.Judgement
	// X and Ref are the two sides' trials, failed and measured; Uneven is
	// set when the verdict was made inconclusive because the sides' failed
	// shares differ: failed trials drop out of the pairing, and which
	// rounds fail is not chance (the slowest time out).
	X, Ref Side
	Uneven bool
}

// Side is one side of a comparison: its platform and how many of its
// trials failed, of how many.
type Side struct {
	Platform       string
	Failed, Trials int
}

// AnyFailed is whether a trial failed on either side.
func (j Judged) AnyFailed() bool { return j.X.Failed > 0 || j.Ref.Failed > 0 }

// Pair is a comparison: the platform in column X against the one in Ref.
type Pair struct{ X, Ref int }

// Of is a run's analysis, or the defaults for a run that has none.
func Of(info result.RunInfo) result.Analysis {
	if info.Analysis != nil {
		return *info.Analysis
	}
	var names, types []string
	for _, p := range info.Platforms {
		names, types = append(names, p.Name), append(types, cmp.Or(p.Info["role"], p.Type))
	}
	return result.Analysis{Negligible: stats.DefaultMargin, Compare: scenario.DefaultComparisons(names, types)}
}

// ResourceOf is the summary line a workload type's metric speaks for.
func ResourceOf(typ, metric string) string {
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

func isNoisy(w string) bool  { return strings.HasPrefix(w, "noisy") }
func isFarOff(w string) bool { return strings.Contains(w, "were far off the others") }

// judge compares column x of a row with column ref.
func (t Table) judge(r Row, x, ref int) *Judged {
	a, b := r.Cells[x], r.Cells[ref]
	if len(a.Values) == 0 || len(b.Values) == 0 {
		return nil
	}
	e := stats.Compare(b.Stats(), a.Stats(), r.Higher(), t.Confidence)
	j := &Judged{Estimate: e, Judgement: stats.Judge(e, t.Analysis.Margin(r.Workload, r.Metric)),
		X:   Side{t.Platforms[x].Name, a.Failed, a.Failed + len(a.Values)},
		Ref: Side{t.Platforms[ref].Name, b.Failed, b.Failed + len(b.Values)},
	}
	if j.AnyFailed() {
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
				f.CrossesHardware = t.CrossesHardware(t.Pairs[pi])
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
	// one; Where is its row.
	Worst *Judged
	Where *Row
	// CrossesHardware is set when the pair's platforms ran on different
	// CPU models: the verdict includes the hardware's difference.
	CrossesHardware bool
	// Corrected is how many cells' overhead or better the line did not
	// keep: with Hochberg's correction over its Cells they do not exclude zero.
	Corrected int
	// Failed is how many of its Cells had every trial failed on one side;
	// FailedWhere is the first such row and FailedOn that side's column.
	// Worst is nil when the verdict is stats.Failed.
	Failed      int
	FailedWhere *Row
	FailedOn    int
}

func (t Table) finding(res string, pi int) (Finding, bool) {
	f := Finding{Resource: res, Pair: t.Pairs[pi], Count: map[stats.Verdict]int{}}
	type cell struct {
		j   *Judged
		row *Row
	}
	var cells []cell
	p := t.Pairs[pi]
	for i := range t.Rows {
		r := &t.Rows[i]
		if r.Resource != res && !slices.Contains(r.Failing, res) {
			continue
		}
		if r.Versus[pi] == nil {
			// A side whose every trial failed: nothing to compare, and
			// the line must say so.
			for _, c := range []int{p.X, p.Ref} {
				if cl := r.Cells[c]; len(cl.Values) == 0 && cl.Failed > 0 {
					if f.Failed++; f.FailedWhere == nil {
						f.FailedWhere, f.FailedOn = r, c
					}
					break
				}
			}
			continue
		}
		cells = append(cells, cell{r.Versus[pi], r})
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
	for i, j := range stats.Line(es, js, t.Confidence) {
		if j.Verdict != cells[i].j.Verdict {
			corrected := *cells[i].j
			corrected.Judgement = j
			cells[i].j = &corrected
			f.Corrected++
		}
		f.Count[j.Verdict]++
		f.Cells++
	}
	pick := func(v stats.Verdict, better func(a, b *Judged) bool) {
		for _, c := range cells {
			if c.j.Verdict == v && (f.Worst == nil || better(c.j, f.Worst)) {
				f.Worst, f.Where = c.j, c.row
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

// CrossesHardware is whether the pair's platforms ran on different CPU
// models (a remote machine against the controller's host): the verdict
// then includes the hardware's difference, not only the platforms'.
func (t Table) CrossesHardware(p Pair) bool {
	a, b := t.Platforms[p.X], t.Platforms[p.Ref]
	return a.Machine != "" && b.Machine != "" && a.Machine != b.Machine
}

// Undecided lists the cells (workload variant on a platform) of the
// comparisons in the summary that want more rounds: both sides of each
// comparison that is inconclusive, too few, or wider than precision.
func (t Table) Undecided(precision float64) []result.Cell {
	var out []result.Cell
	for _, r := range t.Rows {
		if r.Resource == "" {
			continue
		}
		for pi, j := range r.Versus {
			if j == nil || !stats.Undecided(j.Estimate, j.Judgement, precision) {
				continue
			}
			for _, col := range []int{t.Pairs[pi].X, t.Pairs[pi].Ref} {
				c := result.Cell{Workload: r.Workload, Label: r.Label, Platform: t.Platforms[col].Name}
				if !slices.Contains(out, c) {
					out = append(out, c)
				}
			}
		}
	}
	return out
}
