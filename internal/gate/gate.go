// Package gate is the last stage of the pipeline for CI: it evaluates the
// scenario's gates on a stored run (and, for regression gates, a baseline
// run), gives each a verdict with the numbers behind it, and renders the
// verdicts as a table, JUnit XML and Markdown.
//
// A verdict is decided on the evidence of an interval: a gate fails only
// when the whole interval is on the wrong side of its bound, passes only
// when the whole interval is on the right side, and is inconclusive when the
// interval straddles the bound — so that neither noise nor a lack of data
// decides a build. Comparisons within a run are paired round by round
// (stats.Compare). The interval's level is 95% (1−alpha for regression
// gates) split over the looks the data gets: the run's own, and each retry.
package gate

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/capacity"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
)

// Status is a verdict.
type Status string

// Verdicts.
const (
	Pass         Status = "pass"
	Fail         Status = "FAIL"
	Inconclusive Status = "inconclusive"
	Skipped      Status = "skipped"
	// Error: the check could not be made where it had to be, as on a
	// fleet host that failed under hosts: all. It fails the gate run.
	Error Status = "error"
)

// History is the kind of a check vmbench gate --history makes: a
// persistent change point in the stored runs' history of a cell.
const History = "history"

// Check is one gate judged on one variant of its workload on one platform.
type Check struct {
	Gate     string // the gate's name
	Path     string // where the gate is written: gates[2]
	Kind     string
	Workload string
	Label    string // the variant, "threads=2"; "" for a workload without parameters
	Metric   string
	Unit     string
	Platform string
	Against  string // what the platform is compared with, in words
	// Reference is the platform of the same run whose trials the check also
	// depends on: versus of a relative gate, the baseline platform of an
	// overhead regression; "" when none.
	Reference string
	Status    Status
	// Value is the aggregate (absolute, in Unit) or the overhead (relative
	// and regression, a fraction); Lo and Hi its 95% interval, NaN when
	// there is none.
	Value, Lo, Hi float64
	Bound         float64
	Upper         bool    // absolute: Value must stay ≤ Bound (else ≥)
	AtLeast       bool    // relative: the overhead must be ≥ Bound (min_overhead)
	Level         float64 // of [Lo, Hi]
	Paired        bool    // relative and negligible: paired round by round
	Alpha         float64 // regression
	N, BaseN      int     // values behind Value; and behind the comparison's other side
	Window        int     // a history check: the last runs it looks in
	Reason        string  // the verdict in words, with its numbers
	higher        bool    // larger values of the metric are better
}

// Cells returns the cells of this run the check depends on.
func (c Check) Cells() []result.Cell {
	out := []result.Cell{{Workload: c.Workload, Label: c.Label, Platform: c.Platform}}
	if c.Reference != "" {
		out = append(out, result.Cell{Workload: c.Workload, Label: c.Label, Platform: c.Reference})
	}
	return out
}

// Baseline is the run a regression gate compares with: a run directory or
// a file written by `vmbench baseline save`.
type Baseline struct {
	Source  string // what the user named
	Info    result.RunInfo
	Samples []result.Sample
}

// Report is every check of a run.
type Report struct {
	RunID    string
	Start    time.Time // when the run started
	Seconds  float64   // how long it ran
	Hostname string    // where
	Looks    int       // the looks the intervals' level is split over
	Baseline string    // the baseline's run id; "" when none was given
	Checks   []Check
	Warnings []string // comparability of the baseline, gates that could not be judged
}

// Count returns how many checks have the status.
func (r Report) Count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// Failed reports whether any check failed or could not be made.
func (r Report) Failed() bool { return r.Count(Fail)+r.Count(Error) > 0 }

// Empty reports whether the gates judged nothing: every check skipped (no
// baseline, a baseline that covers none of the cells, emulated platforms),
// or none at all. Such a gate call passes only by checking nothing.
func (r Report) Empty() bool { return len(r.Checks) == r.Count(Skipped) }

// RetryCells lists, without repeats, the cells of the inconclusive checks.
func (r Report) RetryCells() []result.Cell {
	var out []result.Cell
	for _, c := range r.Checks {
		if c.Status != Inconclusive || c.Kind == History {
			continue // a history is not decided by more trials of this run
		}
		for _, cell := range c.Cells() {
			if !slices.Contains(out, cell) {
				out = append(out, cell)
			}
		}
	}
	return out
}

// Evaluate judges the gates of s on a run's samples. base may be nil: the
// regression gates are then skipped, each with a reason. looks is how
// many times the data is judged in all (1, plus the run's adaptive looks
// and the retry rounds vmbench gate may add): the intervals' level is
// split over them.
func Evaluate(s *scenario.Scenario, info result.RunInfo, samples []result.Sample, base *Baseline, looks int) Report {
	r := Report{RunID: info.RunID, Looks: max(looks, 1), Start: info.Start, Hostname: info.Host.Hostname}
	if !info.End.IsZero() {
		r.Seconds = info.End.Sub(info.Start).Seconds()
	}
	cur := analysis.NewIndex(samples)
	if m := result.Missing(info, samples); m != "" {
		r.Warnings = append(r.Warnings, m)
	}
	var prev *analysis.Index
	if base != nil {
		r.Baseline = base.Info.RunID
		prev = analysis.NewIndex(base.Samples)
		r.Warnings = append(r.Warnings, comparability(base, info)...)
		if m := result.Missing(base.Info, base.Samples); m != "" {
			r.Warnings = append(r.Warnings, "the baseline: "+m)
		}
	}
	var capacities map[string]capacity.Result
	for _, g := range s.Gates {
		if g.Kind == scenario.PerHost || g.Kind == scenario.DensityLoss {
			if capacities == nil {
				capacities = capacitiesOf(s, info, samples)
			}
			for _, p := range g.Platforms {
				r.Checks = append(r.Checks, capacityCheck(g, p, capacities))
			}
			continue
		}
		if g.Hosts != "" && info.Fleet != nil {
			r.Checks = append(r.Checks, perHost(s, g, info, samples, base, r.Looks)...)
			continue
		}
		for _, v := range variants(s, g) {
			for _, p := range g.Platforms {
				c := Check{
					Gate: g.Name, Path: g.Path, Kind: g.Kind, Workload: g.Workload, Label: v.label,
					Metric: g.Metric, Unit: v.unit, Platform: p, Bound: g.Bound, Upper: g.Upper, AtLeast: g.AtLeast,
					Lo: math.NaN(), Hi: math.NaN(), Level: stats.Level(r.Looks), higher: v.higher,
				}
				own := lookup(cur, cellKey(g.Workload, v.label, g.Metric, p))
				x := own
				switch g.Kind {
				case scenario.Absolute:
					absolute(&c, g, x)
				case scenario.Relative, scenario.Equivalence:
					c.Against, c.Reference = g.Versus, g.Versus
					if info.Fleet != nil {
						fleetRelative(&c, info, samples)
						break
					}
					relative(&c, x, lookup(cur, cellKey(g.Workload, v.label, g.Metric, g.Versus)))
				case scenario.Regression:
					c.Alpha = g.Alpha
					c.Level = stats.LevelAt(g.Alpha, r.Looks)
					if base == nil {
						c.Status, c.Value = Skipped, math.NaN()
						c.Reason = "no baseline given (vmbench gate --baseline RUN_OR_FILE)"
						break
					}
					c.Against = "baseline run"
					// The baseline's definition of the platform re-run
					// beside it: paired. (As overhead vs the run's baseline
					// platform, the ratio is the same: that platform cancels.)
					if twin := lookup(cur, cellKey(g.Workload, v.label, g.Metric, result.TwinName(p, base.Info.RunID))); twin != nil {
						twinRegression(&c, x, twin, v.higher)
						break
					}
					if g.Of == "overhead" {
						c.Against, c.Reference = "baseline run, as overhead vs "+info.Baseline, info.Baseline
						x = overheads(cur, cellKey(g.Workload, v.label, g.Metric, p), info.Baseline, v.higher)
						regression(&c, x, overheads(prev, cellKey(g.Workload, v.label, g.Metric, p), base.Info.Baseline, v.higher), false)
						acrossBusyRuns(&c, samples, base.Samples)
						break
					}
					regression(&c, x, lookup(prev, cellKey(g.Workload, v.label, g.Metric, p)), v.higher)
					acrossBusyRuns(&c, samples, base.Samples)
				}
				unfinished(&c, p, own)
				if c.Reference != "" && info.Fleet == nil {
					unfinished(&c, c.Reference, lookup(cur, cellKey(g.Workload, v.label, g.Metric, c.Reference)))
				}
				r.Checks = append(r.Checks, c)
			}
		}
	}
	if base == nil && slices.ContainsFunc(s.Gates, func(g scenario.Gate) bool { return g.Kind == scenario.Regression }) {
		r.Warnings = append(r.Warnings, "the regression gates were skipped: no baseline was given")
	}
	return r
}

// unfinished fails a passing check whose cell on platform lost trials:
// failed, or stalled at a rate of 0 (analysis.NewIndex). A gate does not
// pass on the trials that happened to finish: the ones that did not are a
// cost that no value shows.
func unfinished(c *Check, platform string, x *analysis.Cell) {
	if c.Status != Pass || x == nil || x.Failed == 0 {
		return
	}
	c.Status = Fail
	c.Reason += fmt.Sprintf("; but %d of %d trial(s) on %s did not finish (%s): a gate does not pass on the trials that did", x.Failed, x.Failed+len(x.Values), platform, x.Err)
}

// cellKey names a metric of a workload variant on a platform.
func cellKey(workload, label, metric, platform string) analysis.Key {
	return analysis.Key{Workload: workload, Label: label, Metric: metric, Platform: platform}
}

// lookup is a cell's metric with the cell's failed trials counted in it;
// nil when the cell has neither.
func lookup(x *analysis.Index, k analysis.Key) *analysis.Cell {
	c, ok := x.Lookup(k)
	if !ok {
		return nil
	}
	return &c
}

// overheads pairs each measured trial of a cell with the trial of the
// same round on the run's baseline platform, and returns the cost ratios
// (x/base for times, base/x for rates): what the platform costs relative
// to the baseline, round by round, so that drift of the host between runs,
// which moves both, cancels out. Failures are counted as in lookup.
func overheads(x *analysis.Index, k analysis.Key, basePlatform string, higher bool) *analysis.Cell {
	own := lookup(x, k)
	if own == nil {
		return nil
	}
	ref, _ := x.Lookup(cellKey(k.Workload, k.Label, k.Metric, basePlatform))
	at := map[int64]float64{}
	for i, r := range ref.Rounds {
		at[r] = ref.Values[i]
	}
	order := make([]int, len(own.Values))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(own.Rounds[a], own.Rounds[b]) })
	out := &analysis.Cell{Failed: own.Failed, Err: own.Err}
	for _, i := range order {
		b, ok := at[own.Rounds[i]]
		v := own.Values[i]
		if !ok || b == 0 || v == 0 {
			continue
		}
		if higher {
			out.Values = append(out.Values, b/v)
		} else {
			out.Values = append(out.Values, v/b)
		}
	}
	return out
}

type variant struct {
	label, unit string
	higher      bool // larger values are better (result.Higher)
}

// variants lists the variants of the gate's workload that it selects.
func variants(s *scenario.Scenario, g scenario.Gate) []variant {
	if g.Workload == workload.Boot {
		m := metricOf(workload.BootMetrics, g.Metric)
		return []variant{{"", m.Unit, result.Higher(m.Unit, m.Better)}}
	}
	var out []variant
	for _, w := range s.Workloads {
		if w.Name != g.Workload {
			continue
		}
		impl, ok := workloads.Lookup(w.Type)
		if !ok {
			continue
		}
		for _, v := range scenario.Variants(w) {
			params, _ := workload.Complete(impl, v.Given)
			if g.Matches(params) {
				m := metricOf(w.Metrics(), g.Metric)
				out = append(out, variant{v.Label, m.Unit, result.Higher(m.Unit, m.Better)})
			}
		}
	}
	return out
}

func metricOf(metrics []workload.MetricInfo, name string) workload.MetricInfo {
	for _, m := range metrics {
		if m.Name == name {
			return m
		}
	}
	return workload.MetricInfo{}
}

// noData fails a check that has nothing to judge: a run whose trials all
// failed, or whose platform never started, does not pass a gate.
func noData(c *Check, x *analysis.Cell, where string) bool {
	if x != nil && len(x.Values) > 0 {
		return false
	}
	c.Status, c.Value = Fail, math.NaN()
	switch {
	case x != nil && x.Failed > 0:
		c.Reason = fmt.Sprintf("no measurement on %s: %d trial(s) failed: %s", where, x.Failed, x.Err)
	default:
		c.Reason = fmt.Sprintf("no measurement on %s (did the platform start? see the report's notes)", where)
	}
	return true
}

func absolute(c *Check, g scenario.Gate, x *analysis.Cell) {
	if noData(c, x, c.Platform) {
		return
	}
	v := slices.Clone(x.Values)
	c.N = len(v)
	op, ok := "≤", "within"
	if !c.Upper {
		op = "≥"
	}
	bad := func(v float64) bool {
		if c.Upper {
			return v > c.Bound
		}
		return v < c.Bound
	}
	bound := units.Format(c.Bound, c.Unit)
	if g.Aggregate == "median" {
		s := stats.Summarize(v)
		c.Value = s.Center
		if !math.IsInf(s.Lo, 0) && !math.IsInf(s.Hi, 0) {
			c.Lo, c.Hi = s.Lo, s.Hi
			iv := fmt.Sprintf("median %s, 95%% interval [%s, %s]", units.Format(s.Center, c.Unit), units.Format(s.Lo, c.Unit), units.Format(s.Hi, c.Unit))
			switch {
			case bad(c.Lo) && bad(c.Hi):
				c.Status, c.Reason = Fail, fmt.Sprintf("%s: all of it breaks %s %s", iv, op, bound)
			case !bad(c.Lo) && !bad(c.Hi):
				c.Status, c.Reason = Pass, fmt.Sprintf("%s: all of it is %s %s", iv, op, bound)
			default:
				c.Status, c.Reason = Inconclusive, fmt.Sprintf("%s straddles the bound %s %s", iv, op, bound)
			}
			return
		}
		// benchmath gives no interval below 6 values at 95%.
		c.Status, ok = Pass, "within"
		if bad(c.Value) {
			c.Status, ok = Fail, "breaks"
		}
		why := fmt.Sprintf("only %d trial(s), too few for an interval: judged on the median alone", c.N)
		if g.Workload == workload.Boot {
			why = fmt.Sprintf("n=%d: one boot per guest start cannot carry an interval, so this is judged on the value alone; the startup workload boots a fresh guest every trial and gives a distribution", c.N)
		}
		c.Reason = fmt.Sprintf("median %s %s %s %s (%s)", units.Format(c.Value, c.Unit), ok, op, bound, why)
		return
	}
	c.Value = aggregate(g.Aggregate, v)
	c.Status = Pass
	if bad(c.Value) {
		c.Status, ok = Fail, "breaks"
	}
	c.Reason = fmt.Sprintf("%s of %d trials %s %s: %s %s", g.Aggregate, c.N, units.Format(c.Value, c.Unit), ok, op, bound)
}

// aggregate computes median, mean, min, max or pNN (nearest rank) of v.
func aggregate(name string, v []float64) float64 {
	sort.Float64s(v)
	switch name {
	case "mean":
		var sum float64
		for _, x := range v {
			sum += x
		}
		return sum / float64(len(v))
	case "min":
		return v[0]
	case "max":
		return v[len(v)-1]
	case "median":
		return stats.Summarize(v).Center
	}
	var q float64
	fmt.Sscanf(name, "p%g", &q)
	rank := int(math.Ceil(q / 100 * float64(len(v))))
	return v[max(rank-1, 0)]
}

// relative judges a platform's overhead over another of the same run: a
// max_overhead bound, or an equivalence margin (negligible:).
func relative(c *Check, x, base *analysis.Cell) {
	if noData(c, x, c.Platform) || noData(c, base, c.Against) {
		return
	}
	d := stats.Compare(base.Stats(), x.Stats(), c.higher, c.Level)
	c.N, c.BaseN = len(x.Values), len(base.Values)
	if math.IsNaN(d.Lo) {
		c.Value, c.Lo, c.Hi, c.Paired = d.Overhead, d.Lo, d.Hi, d.Paired
		c.Status = Inconclusive
		c.Reason = fmt.Sprintf("overhead vs %s %s: %d and %d values are too few for a %s interval (at least %d rounds): add repetitions, or --retry",
			c.Against, pct(d.Overhead), c.N, c.BaseN, stats.LevelText(c.Level), stats.MinRounds)
		return
	}
	judgeOverhead(c, d, "")
}

// fleetRelative judges a relative or negligible gate without hosts: on a
// fleet run: on the fleet's overhead (stats.Fleet, the mean of the hosts'
// with Student's t over them), not on the hosts' rounds pooled, which
// would count rounds of one host as evidence about the others.
func fleetRelative(c *Check, info result.RunInfo, samples []result.Sample) {
	var logs [][]float64
	var hosts int
	for _, h := range info.Fleet.Hosts {
		if h.Status != "ok" {
			continue
		}
		var mine []result.Sample
		for _, s := range samples {
			if s.Host == h.Name {
				mine = append(mine, s)
			}
		}
		m := analysis.NewIndex(mine)
		x, base := lookup(m, cellKey(c.Workload, c.Label, c.Metric, c.Platform)), lookup(m, cellKey(c.Workload, c.Label, c.Metric, c.Against))
		if x == nil || base == nil || len(x.Values) == 0 || len(base.Values) == 0 {
			continue
		}
		hosts++
		c.N, c.BaseN = c.N+len(x.Values), c.BaseN+len(base.Values)
		logs = append(logs, stats.PairLogs(base.Stats(), x.Stats(), c.higher))
	}
	if hosts == 0 {
		c.Status, c.Value = Skipped, math.NaN()
		c.Reason = "no host of the fleet measured both " + c.Platform + " and " + c.Against
		return
	}
	d := stats.Fleet(logs, c.Level)
	judgeOverhead(c, d, fmt.Sprintf(" (the fleet's %d hosts: Student's t over their overheads)", hosts))
}

// judgeOverhead judges an overhead's estimate d against the check's bound
// (max_overhead, min_overhead or a negligible margin); how says how d was
// made, when not the usual way.
func judgeOverhead(c *Check, d stats.Estimate, how string) {
	c.Value, c.Lo, c.Hi, c.Paired = d.Overhead, d.Lo, d.Hi, d.Paired
	bound := pct(c.Bound)
	if math.IsNaN(d.Lo) {
		c.Status = Inconclusive
		c.Reason = fmt.Sprintf("overhead vs %s %s%s: no interval", c.Against, pct(d.Overhead), how)
		return
	}
	iv := fmt.Sprintf("overhead vs %s %s%s, %s interval [%s, %s]", c.Against, pct(d.Overhead), how, stats.LevelText(c.Level), pct(d.Lo), pct(d.Hi))
	if c.Kind == scenario.Equivalence {
		switch {
		case d.Lo >= -c.Bound && d.Hi <= c.Bound:
			c.Status, c.Reason = Pass, fmt.Sprintf("%s: negligible, all of it within ±%s", iv, strings.TrimPrefix(bound, "+"))
		case d.Lo > c.Bound || d.Hi < -c.Bound:
			c.Status, c.Reason = Fail, fmt.Sprintf("%s: not negligible, all of it beyond ±%s", iv, strings.TrimPrefix(bound, "+"))
		default:
			c.Status, c.Reason = Inconclusive, fmt.Sprintf("%s straddles the margin ±%s", iv, strings.TrimPrefix(bound, "+"))
		}
		return
	}
	if c.AtLeast {
		switch {
		case d.Lo >= c.Bound:
			c.Status, c.Reason = Pass, fmt.Sprintf("%s: all of it ≥ %s", iv, bound)
		case d.Hi < c.Bound:
			c.Status, c.Reason = Fail, fmt.Sprintf("%s: all of it below %s", iv, bound)
		default:
			c.Status, c.Reason = Inconclusive, fmt.Sprintf("%s straddles the bound %s", iv, bound)
		}
		return
	}
	switch {
	case d.Lo > c.Bound:
		c.Status, c.Reason = Fail, fmt.Sprintf("%s: all of it above %s", iv, bound)
	case d.Hi <= c.Bound:
		c.Status, c.Reason = Pass, fmt.Sprintf("%s: all of it ≤ %s", iv, bound)
	default:
		c.Status, c.Reason = Inconclusive, fmt.Sprintf("%s straddles the bound %s", iv, bound)
	}
}

// regression judges the change of a cell against a baseline run. The two
// runs' trials cannot be paired, so the interval is a bootstrap of the
// medians; the gate passes only when all of it is within the threshold.
func regression(c *Check, x, base *analysis.Cell, higherIsBetter bool) {
	if noData(c, x, c.Platform) {
		return
	}
	if base == nil || len(base.Values) == 0 {
		c.Status, c.Value = Skipped, math.NaN()
		c.Reason = "the baseline has no measurement of this cell"
		return
	}
	d := stats.Compare(stats.Values{V: base.Values}, stats.Values{V: x.Values}, higherIsBetter, c.Level)
	c.N, c.BaseN = len(x.Values), len(base.Values)
	judgeChange(c, d, "change vs baseline")
}

// judgeChange judges a regression's estimate d against the check's bound;
// what names the comparison.
func judgeChange(c *Check, d stats.Estimate, what string) {
	c.Value, c.Lo, c.Hi = d.Overhead, d.Lo, d.Hi
	bound := pct(c.Bound)
	change := fmt.Sprintf("%s %s", what, pct(d.Overhead))
	switch {
	case math.IsNaN(d.Lo):
		c.Status, c.Reason = Inconclusive, fmt.Sprintf("%s: %d and %d values are too few for a %s interval (at least %d each)", change, c.N, c.BaseN, stats.LevelText(c.Level), stats.MinRoundsAt(c.Level))
	case d.Lo > c.Bound:
		c.Status, c.Reason = Fail, fmt.Sprintf("%s, %s interval [%s, %s]: all of it a regression beyond %s", change, stats.LevelText(c.Level), pct(d.Lo), pct(d.Hi), bound)
	case d.Hi <= c.Bound:
		c.Status, c.Reason = Pass, fmt.Sprintf("%s, %s interval [%s, %s]: all of it within %s", change, stats.LevelText(c.Level), pct(d.Lo), pct(d.Hi), bound)
	default:
		c.Status, c.Reason = Inconclusive, fmt.Sprintf("%s, %s interval [%s, %s]: straddles the threshold %s; the evidence decides neither (--retry adds rounds)", change, stats.LevelText(c.Level), pct(d.Lo), pct(d.Hi), bound)
	}
}

// capacitiesOf is every platform's capacity from a density sweep, as
// vmbench capacity computes it, by platform name.
func capacitiesOf(s *scenario.Scenario, info result.RunInfo, samples []result.Sample) map[string]capacity.Result {
	out := map[string]capacity.Result{}
	for _, c := range capacity.PlanRun(s, info, samples).Results {
		out[c.Platform.Name] = c
	}
	return out
}

// capacityCheck judges a capacity gate on the per-host interval: it passes
// only when the whole interval keeps the bound. Emulated (TCG) sweeps size
// nothing: their checks are skipped.
func capacityCheck(g scenario.Gate, platform string, caps map[string]capacity.Result) Check {
	c := Check{Gate: g.Name, Path: g.Path, Kind: g.Kind, Platform: platform, Bound: g.Bound, Unit: "n",
		Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Level: stats.Confidence}
	r, ok := caps[platform]
	if !ok {
		c.Status, c.Reason = Fail, fmt.Sprintf("no density levels measured on %s (did its first instance start? see the report)", platform)
		return c
	}
	emulated := func(p capacity.Result) bool { return p.Platform.Accel == "tcg" }
	switch g.Kind {
	case scenario.PerHost:
		c.Against, c.Value, c.Lo, c.Hi = "this host", float64(r.PerHost), float64(r.PerHostLo), float64(r.PerHostHi)
		iv := fmt.Sprintf("%d instances per host [%d, %d], bound by %s", r.PerHost, r.PerHostLo, r.PerHostHi, r.Binding)
		switch {
		case emulated(r):
			c.Status, c.Reason = Skipped, iv+": the platform ran under TCG, and emulation sizes nothing"
		case c.Lo >= g.Bound:
			c.Status, c.Reason = Pass, fmt.Sprintf("%s: all of it ≥ %g", iv, g.Bound)
		case c.Hi < g.Bound:
			c.Status, c.Reason = Fail, fmt.Sprintf("%s: all of it below %g", iv, g.Bound)
		default:
			c.Status, c.Reason = Inconclusive, fmt.Sprintf("%s straddles %g", iv, g.Bound)
		}
	case scenario.DensityLoss:
		c.Against, c.Reference, c.Unit = g.Versus, g.Versus, "ratio"
		v, ok := caps[g.Versus]
		if !ok || v.PerHost == 0 {
			c.Status, c.Reason = Fail, fmt.Sprintf("no capacity measured on %s to compare with", g.Versus)
			return c
		}
		loss := func(k, kv int) float64 { return 1 - float64(k)/float64(max(kv, 1)) }
		c.Value, c.Lo, c.Hi = loss(r.PerHost, v.PerHost), loss(r.PerHostHi, v.PerHostLo), loss(r.PerHostLo, v.PerHostHi)
		iv := fmt.Sprintf("%s fits %d per host, %s %d: density loss %s [%s, %s]", platform, r.PerHost, g.Versus, v.PerHost, pct(c.Value), pct(c.Lo), pct(c.Hi))
		switch {
		case emulated(r) || emulated(v):
			c.Status, c.Reason = Skipped, iv+": a platform ran under TCG, and emulation sizes nothing"
		case c.Hi <= g.Bound:
			c.Status, c.Reason = Pass, fmt.Sprintf("%s: all of it ≤ %s", iv, pct(g.Bound))
		case c.Lo > g.Bound:
			c.Status, c.Reason = Fail, fmt.Sprintf("%s: all of it above %s", iv, pct(g.Bound))
		default:
			c.Status, c.Reason = Inconclusive, fmt.Sprintf("%s straddles %s", iv, pct(g.Bound))
		}
	}
	return c
}

// levelText is "95%", "98.33%".

func pct(f float64) string { return units.Overhead(f) }

// comparability warns about what makes the baseline a poor reference.
func comparability(base *Baseline, info result.RunInfo) []string {
	var out []string
	if base.Info.Scenario.SHA256 != "" && base.Info.Scenario.SHA256 != info.Scenario.SHA256 {
		out = append(out, fmt.Sprintf("the baseline %s ran a different scenario file (sha256 %.12s, this run %.12s)", base.Info.RunID, base.Info.Scenario.SHA256, info.Scenario.SHA256))
	}
	for _, d := range result.HostDifferences(base.Info.Host, info.Host) {
		out = append(out, "baseline: "+d)
	}
	for _, pa := range base.Info.Platforms {
		for _, pb := range info.Platforms {
			if pa.Name == pb.Name && pa.Info["accel"] != pb.Info["accel"] {
				out = append(out, fmt.Sprintf("platform %s ran under %q in the baseline and %q now: its numbers are not comparable", pa.Name, pa.Info["accel"], pb.Info["accel"]))
			}
		}
	}
	return out
}

// perHost judges a gate with hosts: on each host of a fleet run apart, and
// combines the hosts' verdicts per cell: all must pass (one failing fails
// it), or any one must (all failing fails it); otherwise inconclusive.
func perHost(s *scenario.Scenario, g scenario.Gate, info result.RunInfo, samples []result.Sample, base *Baseline, looks int) []Check {
	one := *s
	g1 := g
	g1.Hosts = ""
	one.Gates = []scenario.Gate{g1}
	var out []Check
	var failed []string // hosts without samples
	k := 0
	for _, h := range info.Fleet.Hosts {
		if h.Status == "ok" {
			k++
		}
	}
	for _, h := range info.Fleet.Hosts {
		if h.Status != "ok" {
			failed = append(failed, fmt.Sprintf("%s %s (%s)", h.Name, h.Status, cmp.Or(h.Error, h.Doctor, "no run")))
			continue
		}
		var mine []result.Sample
		for _, x := range samples {
			if x.Host == h.Name {
				mine = append(mine, x)
			}
		}
		// The claim that some host differs is made k times, once per
		// host: it is judged at the level split over the hosts
		// (Bonferroni): under hosts: all, a host's FAIL; under hosts:
		// any, a host's pass. The other claim needs every host, and no
		// correction.
		hi := result.RunInfo{RunID: info.RunID, Baseline: info.Baseline, Start: info.Start}
		each := Evaluate(&one, hi, mine, base, looks).Checks
		split := Evaluate(&one, hi, mine, base, looks*k).Checks
		for i := range each {
			each[i] = perHostStatus(g.Hosts, each[i], split[i])
		}
		for _, c := range each {
			i := slices.IndexFunc(out, func(o Check) bool { return o.Label == c.Label && o.Platform == c.Platform })
			c.Reason = h.Name + ": " + string(c.Status) + ", " + c.Reason
			if i < 0 {
				c.Gate = cmp.Or(g.Name, c.Gate)
				out = append(out, c)
				continue
			}
			o := &out[i]
			o.Reason += "; " + c.Reason
			o.Status = combine(g.Hosts, o.Status, c.Status)
		}
	}
	if len(out) == 0 && len(failed) > 0 {
		// No host measured anything: one check stands for the gate.
		out = append(out, Check{Gate: g.Name, Path: g.Path, Kind: g.Kind, Workload: g.Workload, Metric: g.Metric,
			Platform: strings.Join(g.Platforms, ", "), Bound: g.Bound, Upper: g.Upper, AtLeast: g.AtLeast, Status: Skipped})
	}
	for i := range out {
		if len(failed) > 0 {
			// A host that was not measured cannot be said to keep the
			// bound: hosts: all cannot pass without it.
			out[i].Reason = strings.TrimPrefix(out[i].Reason+"; ", "; ") + "not measured: " + strings.Join(failed, "; ")
			if g.Hosts == "all" && out[i].Status != Fail {
				out[i].Status = Error
			}
		}
		out[i].Reason = fmt.Sprintf("hosts: %s — %s", g.Hosts, out[i].Reason)
		out[i].Value, out[i].Lo, out[i].Hi = math.NaN(), math.NaN(), math.NaN()
	}
	return out
}

// perHostStatus is one host's check under hosts: all or any: the claim
// made of some host (all: it fails; any: it passes) stands only at the
// level split over the hosts (split), the other at the check's own (each).
func perHostStatus(hosts string, each, split Check) Check {
	claim, other := Fail, Pass
	if hosts == "any" {
		claim, other = Pass, Fail
	}
	switch {
	case split.Status == claim:
		return split
	case each.Status == other:
		return each
	case each.Status == claim: // beyond the bound at its own level only
		each.Status = Inconclusive
		each.Reason += fmt.Sprintf("; not at the level split over the fleet's hosts (%s)", stats.LevelText(split.Level))
	}
	return each
}

// combine folds one more host's verdict into the verdict so far.
func combine(hosts string, so, next Status) Status {
	rank := map[Status]int{Fail: 0, Inconclusive: 1, Skipped: 1, Pass: 2}
	if hosts == "all" {
		if rank[next] < rank[so] {
			return next
		}
		return so
	}
	if rank[next] > rank[so] {
		return next
	}
	return so
}

// acrossBusyRuns keeps a regression judged across runs from a verdict when
// other load kept the host busy during either run's trials of the cell: the
// two runs met different loads, which a comparison across runs cannot tell
// from a regression (on a loaded CI runner an unchanged run once read
// "+61.0% [+29.0%, ×2.07]" against its baseline). Paired comparisons within
// a run, and the baseline's platform re-run beside this run's, are not
// affected: their rounds share the load.
func acrossBusyRuns(c *Check, samples, base []result.Sample) {
	if c.Status != Fail && c.Status != Pass {
		return
	}
	cell := func(s result.Sample) bool {
		return s.Workload == c.Workload && s.Label == c.Label && (s.Platform == c.Platform || s.Platform == c.Reference)
	}
	now, _ := result.Pressure(samples, cell)
	then, _ := result.Pressure(base, cell)
	if now < result.Busy && then < result.Busy {
		return
	}
	c.Reason = fmt.Sprintf("%s — but the host was busy (some task waited for a CPU %.0f%% of this run's trials of the cell, %.0f%% of the baseline's; vmbench counts %.0f%% as busy): runs that met different loads cannot tell load from a regression, so no verdict; on a quiet host, or with --retry where the baseline defined the platform otherwise (it re-runs that definition beside this one), it decides",
		c.Reason, 100*now, 100*then, 100*result.Busy)
	c.Status = Inconclusive
}
