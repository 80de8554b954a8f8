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

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/capacity"
	"github.com/vmbench/vmbench/internal/hostinfo"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/units"
)

// Table is a run summarised for people: its numbers (analysis.Table) and
// what the report says around them.
type Table struct {
	analysis.Table
	RunID       string
	Scenario    string
	Interrupted bool
	Host        result.Host
	Tools       map[string]string
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
	// Compared is set on the table of two runs (Compare): its columns are
	// the runs, A and B.
	Compared bool
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

// Build makes the table of a run. Warmup trials are left out.
func Build(info result.RunInfo, samples []result.Sample) Table {
	t := Table{
		Table: analysis.Build(info, samples),
		RunID: info.RunID, Scenario: info.Scenario.Name,
		Interrupted: info.Interrupted, Host: info.Host, Tools: info.Tools,
	}
	for _, p := range info.Platforms {
		if p.Type == scenario.Remote {
			t.Notes = append(t.Notes, remoteNotes(p)...)
		}
		if p.Error != "" {
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
	t.Density = capacity.Sweeps(info, samples)
	if len(t.Density) > 0 {
		if s, err := scenario.Stored(info); err == nil {
			t.Capacity = capacity.PlanRun(s, info, samples)
		} else {
			t.Banners = append(t.Banners, "the stored scenario does not load with this vmbench, so the sweep is not sized: "+strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	t.fleet(info, samples)
	t.cellNotes()
	return t
}

// cellNotes are the notes about the analysis' events in cells, each
// grouped over the platforms that met the same thing: "memory op=copy on
// native, container: ...".
func (t *Table) cellNotes() {
	type noteKey struct{ workload, label, metric, msg string }
	at := map[noteKey]int{}
	for _, e := range t.Events {
		k := noteKey{e.Workload, e.Label, e.Metric, t.eventText(e)}
		i, ok := at[k]
		if !ok {
			i = len(t.CellNotes)
			at[k] = i
			t.CellNotes = append(t.CellNotes, CellNote{Workload: k.workload, Label: k.label, Metric: k.metric, Msg: k.msg})
		}
		if n := &t.CellNotes[i]; !slices.Contains(n.Platforms, e.Platform) {
			n.Platforms = append(n.Platforms, e.Platform)
		}
	}
	for i := range t.CellNotes {
		n := &t.CellNotes[i]
		what := strings.TrimSpace(strings.Join([]string{n.Workload, n.Label, n.Metric}, " "))
		n.Text = fmt.Sprintf("%s on %s: %s", what, strings.Join(n.Platforms, ", "), n.Msg)
		t.Notes = append(t.Notes, n.Text)
	}
}

// eventText is how an event in a cell reads in a note.
func (t *Table) eventText(e analysis.Event) string {
	switch e.Kind {
	case analysis.Failed:
		return "failed: " + e.Text
	case analysis.Stalled:
		return "a trial measured a rate of 0 (it stalled): counted as failed"
	case analysis.Outlying:
		var vs []string
		for _, v := range e.Outliers {
			vs = append(vs, units.Format(v, e.Unit))
		}
		return fmt.Sprintf("%d of %d values are outliers (beyond 1.5× the interquartile range): %s; kept, the median is robust to them", len(e.Outliers), e.N, strings.Join(vs, ", "))
	case analysis.FarOff:
		return "vs " + t.Baseline + ": " + e.Text
	}
	return e.Text
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

// cellText is how a cell reads: "3.84 GB/s ±2% n=6".
func cellText(c analysis.Cell, unit string, format func(float64, string) string) string {
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

// deltaText is how a cell's overhead reads: its verdict and interval.
func deltaText(c analysis.Cell) string {
	if c.Delta == nil {
		return ""
	}
	return judgedText(*c.Delta)
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
