package report

import (
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// Export is what the Prometheus exposition carries beside the table: when
// the run ended, the vmbench that made it, and the gates' verdicts when the
// run was gated (gates.json).
type Export struct {
	End     time.Time
	Version string
	Gates   []GateStatus
}

// GateStatus is one check of vmbench gate.
type GateStatus struct {
	Gate, Platform, Variant, Status string
}

// Families is the run as Prometheus metric families, by Prometheus's own
// rules: one unit per family, named with its unit's suffix
// (vmbench_cell_median_seconds, …_bytes_per_second); the run id only on
// vmbench_run_info, so that series stay the same from run to run; labels
// bounded by the scenario (workload, variant, platform, metric); the
// summary's verdict per resource and comparison; the gates' verdicts; a
// density sweep's levels and its capacity (vmbench_density_…,
// vmbench_capacity_…, the level as an instances label); and the run's
// end as vmbench_run_end_timestamp_seconds (node_exporter's textfile
// collector refuses sample timestamps).
func Families(t Table, x Export) []*dto.MetricFamily {
	fams := map[string]*dto.MetricFamily{}
	var order []string
	// add adds a sample to the family name, whose unit (the name's
	// suffix; "" for none) OpenMetrics states on its # UNIT line.
	add := func(name, unit, help string, v float64, labels ...string) {
		if math.IsNaN(v) || math.IsInf(v, 0) { // no such value: too few trials for an interval
			return
		}
		f, ok := fams[name]
		if !ok {
			f = &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: dto.MetricType_GAUGE.Enum()}
			if unit != "" {
				f.Unit = proto.String(unit) // OpenMetrics' # UNIT, which the name ends with
			}
			fams[name] = f
			order = append(order, name)
		}
		m := &dto.Metric{Gauge: &dto.Gauge{Value: proto.Float64(v)}}
		for i := 0; i+1 < len(labels); i += 2 {
			m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(labels[i]), Value: proto.String(labels[i+1])})
		}
		f.Metric = append(f.Metric, m)
	}
	add("vmbench_run_info", "", "The run these series come from: 1, with its id, scenario, baseline and vmbench version as labels.", 1,
		"run_id", t.RunID, "scenario", t.Scenario, "baseline", t.Baseline, "version", x.Version)
	if !x.End.IsZero() {
		add("vmbench_run_end_timestamp_seconds", "seconds", "When the run ended, in seconds since the Unix epoch.", float64(x.End.UnixNano())/1e9)
	}
	for _, r := range t.Rows {
		suffix := unitSuffix(r.Unit)
		for i, c := range r.Cells {
			if c.Summary.N == 0 {
				continue
			}
			l := []string{"workload", r.Workload, "variant", r.Label, "platform", t.Platforms[i].Name, "metric", r.Metric}
			add("vmbench_cell_median_"+suffix, suffix, "Median of a metric over a cell's measured trials.", c.Summary.Center, l...)
			add("vmbench_cell_ci_low_"+suffix, suffix, "Low end of the median's confidence interval.", c.Summary.Lo, l...)
			add("vmbench_cell_ci_high_"+suffix, suffix, "High end of the median's confidence interval.", c.Summary.Hi, l...)
			add("vmbench_cell_trials", "", "Measured trials behind the cell.", float64(c.Summary.N), l...)
			if d := c.Delta; d != nil {
				lv := append(slices.Clone(l), "versus", t.Baseline)
				add("vmbench_overhead_ratio", "ratio", "Overhead versus the baseline: the extra cost per unit of work as a fraction (0.1 = 10% more).", d.Overhead, lv...)
				add("vmbench_overhead_low_ratio", "ratio", "Low end of the overhead's interval.", d.Lo, lv...)
				add("vmbench_overhead_high_ratio", "ratio", "High end of the overhead's interval.", d.Hi, lv...)
				add("vmbench_overhead_verdict", "", "1 for the verdict on the overhead versus the baseline (negligible, overhead, better, inconclusive, too few).", 1,
					append(lv, "verdict", string(d.Verdict))...)
			}
		}
	}
	for _, f := range t.Summary {
		l := []string{"resource", f.Resource, "platform", t.Platforms[f.Pair.X].Name, "versus", t.Platforms[f.Pair.Ref].Name}
		add("vmbench_resource_verdict", "", "1 for the summary's verdict on a resource for a comparison (the report's first table).", 1, append(slices.Clone(l), "verdict", string(f.Verdict))...)
		if f.Worst != nil {
			add("vmbench_resource_overhead_ratio", "ratio", "The overhead of the cell that decides the summary's verdict, as a fraction.", f.Worst.Overhead, l...)
			add("vmbench_resource_overhead_low_ratio", "ratio", "Low end of its interval.", f.Worst.Lo, l...)
			add("vmbench_resource_overhead_high_ratio", "ratio", "High end of its interval.", f.Worst.Hi, l...)
		}
	}
	for _, p := range t.Density {
		for _, l := range p.Levels {
			n := strconv.Itoa(l.N)
			for _, c := range l.Doc().Cells {
				if c.Median == nil {
					continue
				}
				suffix := unitSuffix(c.Unit)
				add("vmbench_density_instance_median_"+suffix, suffix, "A density level's median per instance of a metric, over every instance of every round.", *c.Median,
					"platform", p.Name, "instances", n, "workload", c.Workload, "variant", c.Variant, "metric", c.Metric)
			}
			for _, name := range slices.Sorted(maps.Keys(p.HostUnits)) {
				unit := p.HostUnits[name]
				if v, ok := l.HostMedian(name); ok && unit != "n" {
					suffix := unitSuffix(unit)
					add("vmbench_density_host_"+suffix, suffix, "What the host paid for a density level (MemAvailable's drop, PSS, CPU busy, PSI, …), median over its rounds.", v,
						"platform", p.Name, "instances", n, "metric", name)
				}
			}
		}
	}
	for _, c := range t.Capacity.Results {
		l := []string{"platform", c.Platform.Name}
		add("vmbench_capacity_instances_per_host", "", "Instances that fit on the run's host at the scenario's SLO (vmbench capacity).", float64(c.PerHost), l...)
		add("vmbench_capacity_instances_per_host_low", "", "Low end of its bootstrap interval.", float64(c.PerHostLo), l...)
		add("vmbench_capacity_instances_per_host_high", "", "High end of its bootstrap interval.", float64(c.PerHostHi), l...)
		add("vmbench_capacity_binding", "", "1 for the limit that binds the platform's density (SLO, memory, CPU, guard, none reached).", 1, append(slices.Clone(l), "limit", string(c.Binding))...)
		if c.MemPerInstance.PerInstance >= 0 {
			add("vmbench_capacity_memory_per_instance_bytes", "bytes", "Host memory each instance costs: the slope of MemAvailable's drop over the levels.", c.MemPerInstance.PerInstance, l...)
		}
		if c.CPUPerInstance.PerInstance >= 0 {
			add("vmbench_capacity_cpu_per_instance_cores", "cores", "Host CPU each instance costs: the slope of the instances' own CPU over the levels.", c.CPUPerInstance.PerInstance, l...)
		}
		for _, v := range c.SLO {
			pass := 0.0
			if v.Pass {
				pass = 1
			}
			add("vmbench_capacity_slo_pass", "", "1 where a density level kept the scenario's SLO, 0 where it did not.", pass, "platform", c.Platform.Name, "instances", strconv.Itoa(v.N))
		}
	}
	for _, g := range x.Gates {
		add("vmbench_gate_status", "", "1 for each check of vmbench gate, with its status (pass, fail, inconclusive, skipped, error).", 1,
			"gate", g.Gate, "platform", g.Platform, "variant", g.Variant, "status", g.Status)
	}
	out := make([]*dto.MetricFamily, 0, len(order))
	for _, name := range order {
		out = append(out, fams[name])
	}
	return out
}

// unitSuffix is the Prometheus name suffix of one of vmbench's units:
// base units spelled out (seconds, bytes), rates as _per_second.
func unitSuffix(unit string) string {
	words := map[string]string{"s": "seconds", "B": "bytes", "GB": "gigabytes", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds", "": "value"}
	per := map[string]string{"s": "second", "B": "byte", "GB": "gigabyte"} // a denominator is singular
	var parts []string
	for i, u := range strings.Split(unit, "/") {
		w, ok := words[u]
		if d, ok2 := per[u]; i > 0 && ok2 {
			w, ok = d, true
		}
		if !ok {
			w = strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
					return r
				}
				if r >= 'A' && r <= 'Z' {
					return r + 'a' - 'A'
				}
				return '_'
			}, u)
		}
		if i > 0 {
			parts = append(parts, "per")
		}
		parts = append(parts, w)
	}
	return strings.Join(parts, "_")
}

// OpenMetrics writes the families as OpenMetrics 1.0 text, # EOF last.
func OpenMetrics(w io.Writer, t Table, x Export) error {
	for _, f := range Families(t, x) {
		if _, err := expfmt.MetricFamilyToOpenMetrics(w, f); err != nil {
			return err
		}
	}
	_, err := expfmt.FinalizeOpenMetrics(w)
	return err
}

// PrometheusText writes the families in Prometheus's text format (0.0.4),
// which node_exporter's textfile collector reads.
func PrometheusText(w io.Writer, t Table, x Export) error {
	for _, f := range Families(t, x) {
		if _, err := expfmt.MetricFamilyToText(w, f); err != nil {
			return err
		}
	}
	return nil
}
