package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/capacity"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
)

// densityCells are the per-instance cells a density table shows: the
// workload's own metrics that speak for a line of the summary (the host's
// costs have columns of their own).
func densityCells(p capacity.Platform) []capacity.Cell {
	var out []capacity.Cell
	for _, l := range p.Levels {
		for _, r := range l.Rounds {
			for c := range r.Inst {
				if resourceOfCell(c) != "" && c.Metric != "footprint" && c.Metric != "host_cpu_per_GB" && !slices.Contains(out, c) {
					out = append(out, c)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b capacity.Cell) int {
		return strings.Compare(a.Workload+a.Label+a.Metric, b.Workload+b.Label+b.Metric)
	})
	return out
}

// resourceOfCell needs the workload's type; a cell carries its scenario
// name, which is the type unless the scenario renamed it.
func resourceOfCell(c capacity.Cell) string {
	if r := analysis.ResourceOf(c.Workload, c.Metric); r != "" {
		return r
	}
	switch c.Metric {
	case "throughput", "bandwidth", "rate", "latency", "p99", "iops":
		return c.Metric
	}
	return ""
}

// densityRows are one platform's levels as table rows.
func densityRows(p capacity.Platform) (header []string, rows [][]string) {
	cells := densityCells(p)
	header = []string{"instances"}
	for _, c := range cells {
		header = append(header, strings.Join(strings.Fields(c.Workload+" "+c.Label+" "+c.Metric), " ")+" per instance")
	}
	header = append(header, "MemAvailable drop", "PSS total", "QEMU beyond guests", "host busy", "other load", "CPU pressure", "start of the last", "stopped")
	host := func(l capacity.Level, name, unit string) string {
		m, ok := l.HostMedian(name)
		switch {
		case !ok:
			return "—"
		case unit == "ratio":
			return fmt.Sprintf("%.1f%%", 100*m)
		}
		return units.Format(m, unit)
	}
	for _, l := range p.Levels {
		row := []string{fmt.Sprint(l.N)}
		for _, c := range cells {
			var v []float64
			for _, r := range l.Rounds {
				v = append(v, r.Inst[c]...)
			}
			if len(v) == 0 {
				row = append(row, "—")
				continue
			}
			s := stats.Summarize(v)
			row = append(row, units.Format(s.Center, c.Unit)+fmt.Sprintf(" n=%d", s.N))
		}
		row = append(row, host(l, workload.LevelMemDrop, "B"), host(l, workload.LevelPSSTotal, "B"), host(l, workload.LevelVMMOverhead, "B"),
			host(l, workload.LevelHostBusy, "cores"), host(l, workload.LevelForeignCPU, "cores"), host(l, workload.LevelPSICPUSome, "ratio"), host(l, workload.LevelStartLast, "s"), l.Stop)
		rows = append(rows, row)
	}
	return header, rows
}

// densityLegend explains the density tables.
const densityLegend = "Each level ran its instances at once, one round after another; per-instance columns are the median over every instance of every round. " +
	"Host columns are the median over rounds of the largest over the variants: MemAvailable's drop from before the instances started (gVisor's method), " +
	"the sum of the instances' peak PSS (Kata's), QEMU's PSS beyond the guest RAM mapping (Firecracker's), host CPU busy, other load (host busy less the instances' own CPU), and PSI. " +
	"`vmbench capacity RUN_DIR --instances N` turns them into instances per host at the SLO and hosts for a fleet."

// densityChart plots, per platform, a metric per instance relative to its
// value at the first level, against the instances (log₂ axis).
func densityChart(t Table, metric func(capacity.Platform) ([]float64, []float64), ylabel string) (string, error) {
	p := plot.New()
	p.X.Label.Text = "instances at once"
	p.Y.Label.Text = ylabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	any := false // no legend inside: the colour key above names the lines
	for i, sw := range t.Density {
		xs, ys := metric(sw)
		if len(xs) == 0 {
			continue
		}
		xy := make(plotter.XYs, len(xs))
		for j := range xs {
			xy[j].X, xy[j].Y = xs[j], ys[j]
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return "", err
		}
		l.Color, pts.Color, pts.Shape = t.platformColor(sw.Name), t.platformColor(sw.Name), plotutil.Shape(i)
		p.Add(l, pts)
		any = true
	}
	if !any {
		return "", nil
	}
	return svg(p, 7*vg.Inch, 4*vg.Inch)
}

// perInstanceCurve is the first headline cell's median per instance,
// relative to the first level.
func perInstanceCurve(p capacity.Platform) ([]float64, []float64) {
	cells := densityCells(p)
	if len(cells) == 0 {
		return nil, nil
	}
	c := cells[0]
	var xs, ys []float64
	base := math.NaN()
	for _, l := range p.Levels {
		var v []float64
		for _, r := range l.Rounds {
			v = append(v, r.Inst[c]...)
		}
		if len(v) == 0 {
			continue
		}
		m := stats.Summarize(v).Center
		if math.IsNaN(base) {
			base = m
		}
		xs, ys = append(xs, float64(l.N)), append(ys, m/base)
	}
	return xs, ys
}

// memoryCurve is MemAvailable's drop (median over rounds) in GiB.
func memoryCurve(p capacity.Platform) ([]float64, []float64) {
	var xs, ys []float64
	for _, l := range p.Levels {
		if m, ok := l.HostMedian(workload.LevelMemDrop); ok {
			xs, ys = append(xs, float64(l.N)), append(ys, m/(1<<30))
		}
	}
	return xs, ys
}

// capacityTable is the sweep's capacity on the run's host, as vmbench
// capacity prints it without the fleet's hosts: a title, the rows, and
// the lines under them (each platform's SLO by level, the warnings, the
// legend). No rows when the sweep was not sized.
func (t Table) capacityTable() (title string, header []string, rows [][]string, lines []string) {
	if len(t.Capacity.Results) == 0 {
		return "", nil, nil, nil
	}
	h := t.Capacity.Host
	title = fmt.Sprintf("Capacity on this host (%d CPUs, %s for instances)", h.Cores, units.Format(h.Memory, "B"))
	for _, c := range t.Capacity.Results {
		rows = append(rows, c.Row())
		lines = append(lines, c.SLOText())
	}
	for _, c := range t.Capacity.Results {
		lines = append(lines, c.Warnings...)
	}
	lines = append(lines, capacity.Legend+" vmbench capacity RUN_DIR --instances N gives the hosts a fleet of N needs.")
	return title, capacity.Header, rows, lines
}
