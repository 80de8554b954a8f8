// Package analysis is a run's numbers: its measured trials indexed by cell
// (workload variant × metric × platform) with their rounds and failures,
// the comparisons between platforms with their verdicts, and the verdict
// of each summary line. The rules for which trials count are written here
// once. It formats nothing: report renders a Table, the gate and the
// runner's adaptive looks read it.
package analysis

import (
	"maps"
	"slices"

	"github.com/vmbench/vmbench/internal/hist"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/workload"
)

// Table is a run's measured cells and their comparisons.
type Table struct {
	Baseline  string
	Platforms []Column
	Rows      []Row
	// Exits are the rows of KVM's exit statistics (workload.KVMExitMetrics),
	// kept apart from Rows: only vm platforms under KVM have them, and
	// they explain an overhead rather than compare platforms.
	Exits []Row
	// Analysis is how comparisons are judged (the run's, or the defaults
	// for runs made before verdicts), and Confidence the intervals'.
	Analysis   result.Analysis
	Confidence float64
	// Looks is how many times the data was judged (result.RunInfo.Looks),
	// Retries how many of them were vmbench gate --retry rounds.
	Looks, Retries int
	// Pairs are the comparisons of the summary, as column indices.
	Pairs   []Pair
	Summary []Finding // one per resource and pair that has cells
	// Latencies are the latency histograms, per workload variant.
	Latencies []Latency
	// Events are what happened in single cells, in the order they were
	// met: the report's notes about cells.
	Events []Event
}

// Column is one platform.
type Column struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Accel string `json:"accel,omitempty"` // vm platforms: kvm or tcg
	Error string `json:"error,omitempty"` // the platform did not start
	// Machine is the CPU model the platform ran on: the host's, or a
	// remote machine's own.
	Machine string `json:"machine,omitempty"`
}

// Row is one metric of one workload variant.
type Row struct {
	Workload string
	Label    string
	Metric   string
	Unit     string
	Resource string // the summary line the metric speaks for; "" for none
	// Better is "higher" or "lower" where the metric says which way is
	// better (result.Metric.Better); "": its unit says.
	Better string
	// Failing are the summary lines of a row that stands for a variant
	// whose every trial failed on every platform (Metric "-"): the lines
	// its workload's metrics would speak for.
	Failing []string
	Cells   []Cell    // one per platform, in Table.Platforms order
	Versus  []*Judged // one per Table.Pairs; nil where a side has no values
}

// Cell is a row's values on one platform.
type Cell struct {
	Values  []float64
	Rounds  []int64 // the round of each value (Sample.RoundKey), for pairing
	Summary stats.Summary
	Failed  int // trials of this row that failed on this platform
	// Err is the first failed trial's error; Stall's only when no trial
	// failed with an error of its own.
	Err   string
	Delta *Judged // vs the baseline; nil for the baseline and empty cells
}

// Latency is one latency histogram of a workload variant, every measured
// trial's merged, per platform.
type Latency struct {
	Workload, Label, Name string
	Hists                 []*hist.Hist // in Table.Platforms order; nil where none
}

// Event is something that happened in one cell (Metric "": in every metric
// of the variant).
type Event struct {
	Workload, Label, Metric, Platform string
	Kind                              EventKind
	// Text is the trial's error or warning, or the statistics' warning.
	Text string
	// Outliers are the cell's outlying values (Kind Outlying), of N, in
	// Unit.
	Outliers []float64
	N        int
	Unit     string
}

// EventKind says what an Event is.
type EventKind int

const (
	// Failed: a trial failed (Text its error).
	Failed EventKind = iota
	// Stalled: a trial measured a rate of 0, and counts as failed.
	Stalled
	// Warned: a trial warned (Text).
	Warned
	// Noisy: the cell's values vary widely (Text, from stats.Summarize).
	Noisy
	// Outlying: some values lie beyond 1.5× the interquartile range.
	Outlying
	// FarOff: rounds of the cell's comparison with the baseline were far
	// off the others (Text, from stats.Compare).
	FarOff
)

// Higher is whether larger values of the row's metric are better.
func (r Row) Higher() bool { return result.Higher(r.Unit, r.Better) }

// Stats are the cell's values with their rounds, for stats.Compare.
func (c Cell) Stats() stats.Values { return stats.Values{V: c.Values, Round: c.Rounds} }

// Counted is whether a sample is one of the run's measured trials: not a
// warmup, not a density sweep's level.
func Counted(s result.Sample) bool { return !s.Warmup && s.Level == 0 }

// Swept is whether a sample is a measured trial of a density sweep's level:
// capacity.Sweeps groups those by level, round and instance.
func Swept(s result.Sample) bool { return !s.Warmup && s.Level > 0 }

// Key names a metric of a workload variant on a platform; Metric "" holds
// the failures of whole trials, which have no metrics.
type Key struct{ Workload, Label, Metric, Platform string }

// Index is a run's measured trials by Key, in the order they were first
// met, with what happened in them.
type Index struct {
	keys  []Key
	cells map[Key]*entry
	// Events are what happened in the trials, in the order met.
	Events []Event
	hists  []histKey
	hist   map[histKey]*hist.Hist
}

type entry struct {
	typ, unit, better string
	cell              Cell
}

type histKey struct{ workload, label, name, platform string }

// NewIndex indexes the measured trials of samples.
//
// A failed trial has no metrics: it counts under Metric "" of its variant
// and platform. A rate of zero is a stalled trial, the worst cost there
// is: no ratio can pair it, so it counts as failed in its metric.
func NewIndex(samples []result.Sample) *Index {
	x := &Index{cells: map[Key]*entry{}, hist: map[histKey]*hist.Hist{}}
	get := func(k Key, typ string) *entry {
		e := x.cells[k]
		if e == nil {
			e = &entry{typ: typ}
			x.cells[k] = e
			x.keys = append(x.keys, k)
		}
		return e
	}
	event := func(s result.Sample, metric string, kind EventKind, text string) {
		x.Events = append(x.Events, Event{Workload: s.Workload, Label: s.Label, Metric: metric, Platform: s.Platform, Kind: kind, Text: text})
	}
	for _, s := range samples {
		if !Counted(s) {
			continue
		}
		if s.Error != "" {
			fail(&get(Key{s.Workload, s.Label, "", s.Platform}, s.Type).cell, s.Error)
			event(s, "", Failed, s.Error)
			continue
		}
		for _, m := range s.Metrics {
			e := get(Key{s.Workload, s.Label, m.Name, s.Platform}, s.Type)
			if e.unit == "" {
				e.unit = m.Unit
			}
			if e.better == "" {
				e.better = m.Better
			}
			if m.Value <= 0 && result.Higher(m.Unit, m.Better) {
				fail(&e.cell, Stall)
				event(s, m.Name, Stalled, "")
				continue
			}
			e.cell.Values = append(e.cell.Values, m.Value)
			e.cell.Rounds = append(e.cell.Rounds, s.RoundKey())
		}
		for _, name := range slices.Sorted(maps.Keys(s.Histograms)) {
			k := histKey{s.Workload, s.Label, name, s.Platform}
			if x.hist[k] == nil {
				x.hist[k] = hist.New()
				x.hists = append(x.hists, k)
			}
			x.hist[k].Merge(s.Histograms[name])
		}
		for _, w := range s.Warnings {
			event(s, "", Warned, w)
		}
	}
	return x
}

// Lookup is a metric's cell with its variant's failed trials counted in
// it; false when the cell has neither values nor failures.
func (x *Index) Lookup(k Key) (Cell, bool) {
	var c Cell
	if e := x.cells[k]; e != nil {
		c = e.cell
	}
	if e := x.cells[Key{k.Workload, k.Label, "", k.Platform}]; e != nil && k.Metric != "" {
		addFailures(&c, e.cell)
	}
	return c, len(c.Values) > 0 || c.Failed > 0
}

// Build indexes a run's measured trials (NewIndex) into rows, a column per
// platform of the run, and judges its comparisons. A variant's failed
// trials count on every row of the variant, or, when it has no measured
// row at all, on a row of Metric "-".
func Build(info result.RunInfo, samples []result.Sample) Table {
	t := Table{Baseline: info.Baseline, Analysis: Of(info)}
	t.Looks, t.Retries = info.Looks(), len(info.Retries)
	t.Confidence = stats.Level(t.Looks)
	col := map[string]int{}
	for _, p := range info.Platforms {
		col[p.Name] = len(t.Platforms)
		c := Column{Name: p.Name, Type: p.Type, Accel: p.Info["accel"], Error: p.Error, Machine: info.Host.CPUModel}
		if p.Type == scenario.Remote {
			c.Machine = p.Info["machine_cpu_model"]
		}
		t.Platforms = append(t.Platforms, c)
	}
	x := NewIndex(samples)
	type key struct{ workload, typ, label, metric, unit string }
	rowOf := map[key]int{}
	row := func(k key) *Row {
		i, ok := rowOf[k]
		if !ok {
			i = len(t.Rows)
			rowOf[k] = i
			t.Rows = append(t.Rows, Row{Workload: k.workload, Label: k.label, Metric: k.metric, Unit: k.unit, Resource: ResourceOf(k.typ, k.metric), Cells: make([]Cell, len(t.Platforms))})
		}
		return &t.Rows[i]
	}
	type variant struct{ workload, label string }
	measured := map[variant]bool{}
	for _, k := range x.keys {
		if _, ok := col[k.Platform]; ok && k.Metric != "" {
			measured[variant{k.Workload, k.Label}] = true
		}
	}
	var failures []Key // of measured variants, counted once every row is made
	for _, k := range x.keys {
		c, ok := col[k.Platform]
		if !ok {
			continue
		}
		e := x.cells[k]
		switch {
		case k.Metric != "":
			r := row(key{k.Workload, e.typ, k.Label, k.Metric, e.unit})
			if r.Better == "" {
				r.Better = e.better
			}
			r.Cells[c] = e.cell
		case measured[variant{k.Workload, k.Label}]:
			failures = append(failures, k)
		default:
			r := row(key{k.Workload, e.typ, k.Label, "-", ""})
			r.Failing = resourcesOf(e.typ)
			r.Cells[c] = e.cell
		}
	}
	for _, k := range failures {
		for i := range t.Rows {
			if r := &t.Rows[i]; r.Workload == k.Workload && r.Label == k.Label {
				addFailures(&r.Cells[col[k.Platform]], x.cells[k].cell)
			}
		}
	}
	for _, k := range x.hists {
		if c, ok := col[k.platform]; ok {
			t.latency(k.workload, k.label, k.name).Hists[c] = x.hist[k]
		}
	}
	for _, e := range x.Events {
		if _, ok := col[e.Platform]; ok {
			t.Events = append(t.Events, e)
		}
	}

	t.Rows = slices.DeleteFunc(t.Rows, func(r Row) bool {
		if !slices.ContainsFunc(workload.KVMExitMetrics, func(m workload.MetricInfo) bool { return m.Name == r.Metric }) {
			return false
		}
		for c := range r.Cells {
			if len(r.Cells[c].Values) > 0 {
				r.Cells[c].Summary = stats.Summarize(slices.Clone(r.Cells[c].Values))
			}
		}
		t.Exits = append(t.Exits, r)
		return true
	})

	base, hasBase := col[info.Baseline]
	for i := range t.Rows {
		r := &t.Rows[i]
		for c := range r.Cells {
			cell := &r.Cells[c]
			if len(cell.Values) == 0 {
				continue
			}
			cell.Summary = stats.Summarize(slices.Clone(cell.Values))
			at := Event{Workload: r.Workload, Label: r.Label, Metric: r.Metric, Platform: t.Platforms[c].Name}
			for _, w := range cell.Summary.Warnings {
				if isNoisy(w) {
					at.Kind, at.Text = Noisy, w
					t.Events = append(t.Events, at)
				}
			}
			if out := cell.Summary.Outliers; len(out) > 0 {
				at.Kind, at.Text, at.Outliers, at.N, at.Unit = Outlying, "", out, len(cell.Values), r.Unit
				t.Events = append(t.Events, at)
			}
			if hasBase && c != base && len(r.Cells[base].Values) > 0 {
				cell.Delta = t.judge(*r, c, base)
				for _, w := range cell.Delta.Warnings {
					if isFarOff(w) {
						at.Kind, at.Text, at.Outliers, at.N, at.Unit = FarOff, w, nil, 0, ""
						t.Events = append(t.Events, at)
					}
				}
			}
		}
	}
	t.compare(col)
	return t
}

// fail counts a failed trial in a cell.
func fail(c *Cell, err string) {
	if c.Failed++; c.Err == "" {
		c.Err = err
	}
}

// Stall is the error of a trial that measured a rate of 0.
const Stall = "a trial measured a rate of 0 (it stalled)"

// addFailures counts a variant's failed trials in one of its cells.
func addFailures(c *Cell, failed Cell) {
	c.Failed += failed.Failed
	if c.Err == "" || c.Err == Stall && failed.Err != "" {
		c.Err = failed.Err
	}
}

// latency returns the Latency of a variant's histogram, adding it.
func (t *Table) latency(workload, label, name string) *Latency {
	for i, l := range t.Latencies {
		if l.Workload == workload && l.Label == label && l.Name == name {
			return &t.Latencies[i]
		}
	}
	t.Latencies = append(t.Latencies, Latency{Workload: workload, Label: label, Name: name, Hists: make([]*hist.Hist, len(t.Platforms))})
	return &t.Latencies[len(t.Latencies)-1]
}
