package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// OpenMetrics writes the table as OpenMetrics text (Prometheus's text format
// reads it too), for node_exporter's textfile collector: per cell its
// median, interval and trials, and per comparison with the baseline the
// overhead, its interval and the verdict. Labels name the run, scenario,
// workload, variant, platform, metric and unit.
func OpenMetrics(w io.Writer, t Table) error {
	type family struct {
		name, help string
		lines      []string
	}
	fams := []*family{
		{name: "vmbench_median", help: "Median of a metric over a cell's measured trials, in the unit label's base unit."},
		{name: "vmbench_ci_low", help: "Low end of the median's confidence interval."},
		{name: "vmbench_ci_high", help: "High end of the median's confidence interval."},
		{name: "vmbench_trials", help: "Measured trials behind the cell."},
		{name: "vmbench_overhead", help: "Overhead of the platform versus the baseline: the extra cost per unit of work, as a fraction (0.1 = 10% more)."},
		{name: "vmbench_overhead_low", help: "Low end of the overhead's interval."},
		{name: "vmbench_overhead_high", help: "High end of the overhead's interval."},
		{name: "vmbench_verdict", help: "1 for the verdict on the overhead (negligible, overhead, better, inconclusive, too_few)."},
	}
	add := func(f int, labels string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) { // no such value: too few trials for an interval
			return
		}
		fams[f].lines = append(fams[f].lines, fmt.Sprintf("%s{%s} %s", fams[f].name, labels, strconv.FormatFloat(v, 'g', -1, 64)))
	}
	for _, r := range t.Rows {
		for i, c := range r.Cells {
			if c.Summary.N == 0 {
				continue
			}
			l := labelSet("run", t.RunID, "scenario", t.Scenario, "workload", r.Workload, "variant", r.Label,
				"platform", t.Platforms[i].Name, "metric", r.Metric, "unit", r.Unit)
			add(0, l, c.Summary.Center)
			add(1, l, c.Summary.Lo)
			add(2, l, c.Summary.Hi)
			add(3, l, float64(c.Summary.N))
			if d := c.Delta; d != nil {
				lv := l + "," + labelSet("versus", t.Baseline)
				add(4, lv, d.Overhead)
				add(5, lv, d.Lo)
				add(6, lv, d.Hi)
				add(7, lv+","+labelSet("verdict", string(d.Verdict)), 1)
			}
		}
	}
	for _, f := range fams {
		if len(f.lines) == 0 {
			continue
		}
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", f.name, f.help, f.name)
		for _, l := range f.lines {
			fmt.Fprintln(w, l)
		}
	}
	_, err := fmt.Fprintln(w, "# EOF")
	return err
}

// labelSet renders name="value" pairs, the values escaped.
func labelSet(kv ...string) string {
	var parts []string
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+`="`+esc.Replace(kv[i+1])+`"`)
	}
	return strings.Join(parts, ",")
}
