// Package report is the last stage of the pipeline: it reads a run back
// (run.json and samples.jsonl) into a Table, rows of workload × variant ×
// metric and a column per platform, and renders it for terminals and as
// Markdown. Rendering never re-runs anything.
package report

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/capacity"
	"github.com/vmbench/vmbench/internal/hist"
	"github.com/vmbench/vmbench/internal/hostinfo"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
)

// Table is a run summarised for people.
type Table struct {
	RunID       string
	Scenario    string
	Baseline    string
	Interrupted bool
	Host        result.Host
	Tools       map[string]string
	Platforms   []Column
	Rows        []Row
	// Analysis is how comparisons are judged (the run's, or the defaults
	// for runs made before verdicts), and Level the intervals' level.
	Analysis result.Analysis
	Level    float64
	// Looks is how many times the data was judged (result.RunInfo.Looks),
	// Retries how many of them were vmbench gate --retry rounds.
	Looks, Retries int
	// Pairs are the comparisons of the summary, as column indices.
	Pairs   []Pair
	Summary []Finding // one per resource and pair that has cells
	// Density is a density sweep's levels per platform; nil for a run of
	// ordinary trials.
	Density []capacity.Platform
	// Capacity is the sweep's answer, as vmbench capacity computes it at
	// the scenario's SLO on the run's host; empty when the run has no
	// sweep or its stored scenario no longer loads.
	Capacity capacity.Plan
	Banners  []string // shown before the table: what changes how every number reads
	Notes    []string // shown after it: warnings about single cells or trials
	// CellNotes are the Notes about cells, with the cells they are about:
	// report.html marks each cell with its notes' numbers.
	CellNotes []CellNote
	Sampling  *Sampling  // nil: the run has no series.jsonl
	Timelines []Timeline // resource use over time, per workload variant
	Profiles  []Profile  // where the CPU time went, per workload variant
	Latencies []Latency  // latency histograms, per workload variant
	// Compared is set on the table of two runs (Compare): its columns are
	// the runs, A and B.
	Compared bool
	// Exits are the rows of KVM's exit statistics (workload.KVMExitMetrics),
	// kept apart from Rows: only vm platforms under KVM have them, and
	// they explain an overhead rather than compare platforms.
	Exits []Row
	// Fleet is a merged fleet run's section; nil for a run of one host.
	Fleet *FleetTable
}

// CellNote is a note about the cells of a workload variant (and a metric;
// "" for the whole variant) on some platforms.
type CellNote struct {
	Workload, Label, Metric string
	Platforms               []string
	Msg                     string
	Text                    string // as in Notes
}

// Latency is one latency histogram of a workload variant, every measured
// trial's merged, per platform.
type Latency struct {
	Workload, Label, Name string
	Hists                 []*hist.Hist // in Table.Platforms order; nil where none
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
	Failed  int     // trials of this row that failed on this platform
	Delta   *Judged // vs the baseline; nil for the baseline and empty cells
}

// higher is whether larger values of the row's metric are better.
func (r Row) higher() bool { return result.Higher(r.Unit, r.Better) }

// values are the cell's values with their rounds.
func (c Cell) values() stats.Values { return stats.Values{V: c.Values, Round: c.Rounds} }

// Build makes the table of a run. Warmup trials are left out.
func Build(info result.RunInfo, samples []result.Sample) Table {
	t := Table{
		RunID: info.RunID, Scenario: info.Scenario.Name, Baseline: info.Baseline,
		Interrupted: info.Interrupted, Host: info.Host, Tools: info.Tools,
		Analysis: analysisOf(info),
	}
	t.Looks, t.Retries = info.Looks(), len(info.Retries)
	t.Level = stats.Level(t.Looks)
	col := map[string]int{}
	for _, p := range info.Platforms {
		col[p.Name] = len(t.Platforms)
		c := Column{Name: p.Name, Type: p.Type, Accel: p.Info["accel"], Error: p.Error, Machine: info.Host.CPUModel}
		if p.Type == scenario.Remote {
			c.Machine = p.Info["machine_cpu_model"]
			t.Notes = append(t.Notes, remoteNotes(p)...)
		}
		t.Platforms = append(t.Platforms, c)
		if c.Error != "" {
			t.Notes = append(t.Notes, fmt.Sprintf("platform %s did not start: %s", p.Name, p.Error))
		}
		if n := p.Info["restarts"]; n != "" {
			t.Notes = append(t.Notes, fmt.Sprintf("platform %s: the guest died or wedged and was restarted %s time(s); see %s", p.Name, n, p.Info["console_log"]))
		}
	}
	t.Banners = Banners(info, samples)
	for _, r := range info.Retries {
		msg := fmt.Sprintf("retry round %d (vmbench gate --retry) added %d trials of %s", r.Round, r.Trials, strings.Join(r.Cells, "; "))
		if r.Error != "" {
			msg += ": " + r.Error
		}
		t.Notes = append(t.Notes, msg)
	}
	t.Notes = append(t.Notes, conditionNotes(samples, "vector", "the memory kernels ran in different instruction sets (%s): the comparison includes that; set the workload's vector to compare like with like")...)
	for _, r := range info.Resumes {
		t.Notes = append(t.Notes, fmt.Sprintf("resumed at %s (vmbench run --resume) with %d trials left; its platforms were started afresh", r.At.UTC().Format(time.RFC3339), r.Trials))
	}
	for _, l := range info.Adaptive {
		msg := fmt.Sprintf("adaptive: after %d rounds %d cell(s) were undecided", l.Reps, len(l.Undecided))
		if len(l.Undecided) > 0 {
			msg += " (" + strings.Join(l.Undecided, "; ") + ")"
		}
		if l.Trials > 0 {
			msg += fmt.Sprintf("; %d trials added", l.Trials)
		}
		if l.Stopped != "" {
			msg += "; stopped: " + l.Stopped
		}
		t.Notes = append(t.Notes, msg)
	}

	type key struct{ workload, typ, label, metric, unit string }
	rowOf := map[key]int{}
	row := func(k key) *Row {
		i, ok := rowOf[k]
		if !ok {
			i = len(t.Rows)
			rowOf[k] = i
			t.Rows = append(t.Rows, Row{Workload: k.workload, Label: k.label, Metric: k.metric, Unit: k.unit, Resource: resourceOf(k.typ, k.metric), Cells: make([]Cell, len(t.Platforms))})
		}
		return &t.Rows[i]
	}
	// Notes about a workload variant are grouped over the platforms that
	// reported the same thing: "memory op=copy on native, container: ...".
	type noteKey struct{ workload, label, metric, msg string }
	noteAt := map[noteKey]int{}
	var notePlatforms [][]string
	var noteKeys []noteKey
	note := func(workload, label, metric, platform, msg string) {
		k := noteKey{workload, label, metric, msg}
		i, ok := noteAt[k]
		if !ok {
			i = len(noteKeys)
			noteAt[k] = i
			noteKeys = append(noteKeys, k)
			notePlatforms = append(notePlatforms, nil)
		}
		if !slices.Contains(notePlatforms[i], platform) {
			notePlatforms[i] = append(notePlatforms[i], platform)
		}
	}
	t.Density = capacity.Sweeps(info, samples)
	if len(t.Density) > 0 {
		if s, err := scenario.Stored(info); err == nil {
			t.Capacity = capacity.PlanRun(s, info, samples)
		} else {
			t.Banners = append(t.Banners, "the stored scenario does not load with this vmbench, so the sweep is not sized: "+strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	for _, s := range samples {
		c, ok := col[s.Platform]
		if !ok || s.Warmup || s.Level > 0 {
			continue
		}
		if s.Error != "" {
			// A failed trial has no metrics; count it on every row the
			// workload variant has, or on a placeholder row.
			found := false
			for i := range t.Rows {
				r := &t.Rows[i]
				if r.Workload == s.Workload && r.Label == s.Label {
					r.Cells[c].Failed++
					found = true
				}
			}
			if !found {
				r := row(key{s.Workload, s.Type, s.Label, "-", ""})
				r.Cells[c].Failed++
				r.Failing = resourcesOf(s.Type)
			}
			note(s.Workload, s.Label, "", s.Platform, "failed: "+s.Error)
			continue
		}
		for _, m := range s.Metrics {
			r := row(key{s.Workload, s.Type, s.Label, m.Name, m.Unit})
			if r.Better == "" {
				r.Better = m.Better
			}
			if m.Value <= 0 && result.Higher(m.Unit, m.Better) {
				// A rate of zero is a stalled trial, the worst cost there
				// is: no ratio can pair it, so it counts as failed.
				r.Cells[c].Failed++
				note(s.Workload, s.Label, m.Name, s.Platform, "a trial measured a rate of 0 (it stalled): counted as failed")
				continue
			}
			r.Cells[c].Values = append(r.Cells[c].Values, m.Value)
			r.Cells[c].Rounds = append(r.Cells[c].Rounds, s.RoundKey())
		}
		for _, name := range slices.Sorted(maps.Keys(s.Histograms)) {
			t.latency(s.Workload, s.Label, name).merge(c, s.Histograms[name])
		}
		for _, w := range s.Warnings {
			note(s.Workload, s.Label, "", s.Platform, w)
		}
	}
	// Drop placeholder rows of variants that also have real rows.
	t.Rows = slices.DeleteFunc(t.Rows, func(r Row) bool {
		if r.Metric != "-" {
			return false
		}
		return slices.ContainsFunc(t.Rows, func(o Row) bool { return o.Metric != "-" && o.Workload == r.Workload && o.Label == r.Label })
	})

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
			values := slices.Clone(cell.Values)
			cell.Summary = stats.Summarize(values)
			for _, w := range cell.Summary.Warnings {
				if strings.HasPrefix(w, "noisy") {
					note(r.Workload, r.Label, r.Metric, t.Platforms[c].Name, w)
				}
			}
			if out := cell.Summary.Outliers; len(out) > 0 {
				var vs []string
				for _, v := range out {
					vs = append(vs, units.Format(v, r.Unit))
				}
				note(r.Workload, r.Label, r.Metric, t.Platforms[c].Name,
					fmt.Sprintf("%d of %d values are outliers (beyond 1.5× the interquartile range): %s; kept, the median is robust to them", len(out), len(cell.Values), strings.Join(vs, ", ")))
			}
			if hasBase && c != base && len(r.Cells[base].Values) > 0 {
				cell.Delta = t.judge(*r, c, base)
				for _, w := range cell.Delta.Warnings {
					if strings.Contains(w, "were far off the others") {
						note(r.Workload, r.Label, r.Metric, t.Platforms[c].Name, "vs "+t.Baseline+": "+w)
					}
				}
			}
		}
	}
	t.compare(col)
	t.fleet(info, samples)
	for i, k := range noteKeys {
		what := strings.TrimSpace(strings.Join([]string{k.workload, k.label, k.metric}, " "))
		t.Notes = append(t.Notes, fmt.Sprintf("%s on %s: %s", what, strings.Join(notePlatforms[i], ", "), k.msg))
		t.CellNotes = append(t.CellNotes, CellNote{Workload: k.workload, Label: k.label, Metric: k.metric, Platforms: notePlatforms[i], Msg: k.msg, Text: t.Notes[len(t.Notes)-1]})
	}
	return t
}

// Banners are what changes how every number of a run reads: platforms
// under TCG, the nested lab, the host's own warnings, an interrupted run,
// trials missing from the plan, a busy host. The report shows them before
// its table, vmbench capacity before its own.
func Banners(info result.RunInfo, samples []result.Sample) []string {
	var out []string
	for _, p := range info.Platforms {
		if p.Info["accel"] == "tcg" {
			out = append(out, fmt.Sprintf("platform %s ran under TCG (software emulation, no KVM): its numbers measure emulation, not virtualization overhead. %s", p.Name, p.Info["accel_reason"]))
		}
	}
	if l := info.Lab; l != nil {
		out = append(out, fmt.Sprintf("made in the nested lab: vmbench ran inside a guest (L1) under TCG with emulated SVM, and its vm platforms were guests (L2) under KVM inside L1. These numbers measure neither hardware KVM nor bare metal; the lab checks that the KVM path works. L1: %s, %d vCPUs, kvm module %s, cgroup %s.", l.L1.Kernel, l.L1.CPUs, l.L1.KVM, l.L1.Cgroup))
	}
	out = append(out, hostinfo.Warnings(info.Host)...)
	if info.Interrupted {
		out = append(out, "the run was interrupted: only the trials that finished are shown")
	}
	if m := result.Missing(info, samples); m != "" {
		out = append(out, m)
	}
	if p, n := result.Pressure(samples, func(s result.Sample) bool { return s.Level == 0 }); n > 0 && p >= result.Busy {
		out = append(out, fmt.Sprintf("the host was busy: some task waited for a CPU %.0f%% of the trials' time (the kernel's PSI). The comparisons here pair each round's trials, which met the same load; this run's numbers against another run's are not comparable", 100*p))
	}
	return out
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

func (l *Latency) merge(platform int, h *hist.Hist) {
	if l.Hists[platform] == nil {
		l.Hists[platform] = hist.New()
	}
	l.Hists[platform].Merge(h)
}

// text is how a cell reads: "3.84 GB/s ±2% n=6".
func (c Cell) text(unit string, format func(float64, string) string) string {
	switch {
	case len(c.Values) == 0 && c.Failed > 0:
		return fmt.Sprintf("failed (%d)", c.Failed)
	case len(c.Values) == 0:
		return "—"
	}
	s := format(c.Summary.Center, unit)
	if iv := c.Summary.Interval(); !math.IsNaN(iv) {
		s += fmt.Sprintf(" ±%.0f%%", 100*iv)
	}
	s += fmt.Sprintf(" n=%d", c.Summary.N)
	if c.Failed > 0 {
		s += fmt.Sprintf(" (%d failed)", c.Failed)
	}
	return s
}

// deltaText is how an overhead reads: its verdict and interval.
func (c Cell) deltaText() string {
	if c.Delta == nil {
		return ""
	}
	return c.Delta.Text()
}

// remoteNotes say what a remote platform is, and what of it vmbench could
// not measure.
func remoteNotes(p result.PlatformInfo) []string {
	in := p.Info
	out := []string{fmt.Sprintf("platform %s is a remote machine (kind %s, host %s): %s, %s CPUs, kernel %s; hypervisor: systemd-detect-virt %s, DMI %q, cpuid %s",
		p.Name, in["kind"], in["host"], orUnknown(in["machine_cpu_model"]), orUnknown(in["machine_cores"]), orUnknown(in["machine_kernel"]),
		orUnknown(in["machine_virt_systemd"]), in["machine_virt_dmi"], orUnknown(in["machine_virt_cpuid"]))}
	if nm := in["not_measured"]; nm != "" {
		out = append(out, fmt.Sprintf("platform %s: not measured: %s; its host CPU and footprint cells are empty, not zero", p.Name, nm))
	}
	if in["client"] == "controller" {
		out = append(out, fmt.Sprintf("platform %s: its network clients ran on the controller, so its network path crosses the physical network", p.Name))
	}
	if n := in["sessions_lost"]; n != "" {
		out = append(out, fmt.Sprintf("platform %s: its SSH session was lost %s time(s) and made again; see %s", p.Name, n, in["agent_log"]))
	}
	return out
}

// conditionNotes say which workload variants ran under different values of
// a workload's condition on different platforms (the memory kernels'
// vector=avx512 on the host, sse2 in a guest whose CPU model lacks it).
func conditionNotes(samples []result.Sample, key, msg string) []string {
	type variant struct{ workload, label string }
	seen := map[variant]map[string][]string{} // value → platforms
	var order []variant
	for _, s := range samples {
		v, ok := s.Conditions[key]
		if !ok || s.Error != "" {
			continue
		}
		k := variant{s.Workload, s.Label}
		if seen[k] == nil {
			seen[k] = map[string][]string{}
			order = append(order, k)
		}
		if !slices.Contains(seen[k][v], s.Platform) {
			seen[k][v] = append(seen[k][v], s.Platform)
		}
	}
	var out []string
	for _, k := range order {
		if len(seen[k]) < 2 {
			continue
		}
		var where []string
		for _, v := range slices.Sorted(maps.Keys(seen[k])) {
			where = append(where, v+" on "+strings.Join(seen[k][v], ", "))
		}
		what := strings.TrimSpace(k.workload + " " + k.label)
		out = append(out, what+": "+fmt.Sprintf(msg, strings.Join(where, "; ")))
	}
	return out
}
