package report

import (
	"cmp"
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strings"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/result"
)

// FleetTable is a fleet run's own section: its hosts, where they differ,
// and each cell's overhead on every host and across the fleet.
type FleetTable struct {
	Hosts    []result.FleetHost
	Warnings []string
	Header   []string
	Rows     [][]string
	// Points are the rows' numbers for the host-spread chart.
	Points []FleetPoint
	Names  []string // the hosts with a run, the chart's dots in order
}

// FleetPoint is one row of the fleet table in numbers: each host's
// overhead (NaN where it has none) and the fleet's, with its interval.
type FleetPoint struct {
	Label            string
	Hosts            []float64
	Fleet, Low, High float64
}

// fleetLegend says how the fleet's column is computed.
const fleetLegend = "Each host's overhead is judged from its own rounds, as in a run of one host. fleet: the mean over the hosts of each host's median per-round cost ratio, so that every host weighs the same, with an interval at the run's level from Student's t over the hosts' overheads (the hosts a sample of those the fleet stands for): it holds the spread between hosts as well as the trial noise, and is wide with few hosts, which say little of a fleet; with one host it is that host's own. spread: the highest host's overhead minus the lowest's."

// fleet builds the fleet section from the hosts' own tables.
func (t *Table) fleet(info result.RunInfo, samples []result.Sample) {
	if info.Fleet == nil {
		return
	}
	ft := &FleetTable{Hosts: info.Fleet.Hosts, Warnings: info.Fleet.Warnings}
	t.Fleet = ft
	hosts := analysis.Hosts(info, samples)
	for _, h := range hosts {
		ft.Names = append(ft.Names, h.Name)
	}
	ft.Header = append([]string{"workload", "variant", "metric", "platform"}, ft.Names...)
	ft.Header = append(ft.Header, "fleet", "spread")
	for _, fr := range t.Table.Fleet(hosts) {
		r := fr.Row
		rec := []string{r.Workload, r.Label, r.Metric, fr.Platform}
		pt := FleetPoint{Label: strings.Join(strings.Fields(strings.Join([]string{r.Workload, r.Label, r.Metric, "on", fr.Platform}, " ")), " ")}
		for _, j := range fr.Hosts {
			if j == nil {
				rec = append(rec, "—")
				pt.Hosts = append(pt.Hosts, math.NaN())
				continue
			}
			rec = append(rec, judgedText(*j))
			pt.Hosts = append(pt.Hosts, j.Overhead)
		}
		f := fr.Fleet
		for _, w := range f.Warnings {
			if !slices.Contains(ft.Warnings, w) {
				ft.Warnings = append(ft.Warnings, w)
			}
		}
		text := pct(f.Overhead)
		if !math.IsNaN(f.Lo) {
			text += " " + interval(f)
		}
		spread := "—"
		if !math.IsNaN(fr.Spread) {
			spread = fmt.Sprintf("%.1f points", 100*fr.Spread)
		}
		ft.Rows = append(ft.Rows, append(rec, fmt.Sprintf("%s (%d hosts)", text, f.N), spread))
		pt.Fleet, pt.Low, pt.High = f.Overhead, f.Lo, f.Hi
		ft.Points = append(ft.Points, pt)
	}
}

// hostRows are the fleet's hosts as rows: name, status, CPU, kernel, the
// guests' accelerators, and why a failed host has no run.
func (f *FleetTable) hostRows() ([]string, [][]string) {
	var rows [][]string
	for _, h := range f.Hosts {
		var acc []string
		for p, a := range h.Accel {
			acc = append(acc, p+"="+a)
		}
		rows = append(rows, []string{h.Name, h.Status, cmp.Or(h.Host.CPUModel, "—"), cmp.Or(h.Host.Kernel, "—"), cmp.Or(strings.Join(acc, " "), "—"), cmp.Or(h.Doctor, "—"), cmp.Or(h.Error, "")})
	}
	return []string{"host", "status", "CPU", "kernel", "accelerators", "doctor", "why not"}, rows
}

// spreadChart draws the fleet's rows as an SVG: a line per row, a dot per
// host at its overhead (the hosts' colours in the key), and the fleet's
// estimate as a black tick on its interval, in grey. The axis is the
// overhead in percent, zero dashed.
func (f *FleetTable) spreadChart() template.HTML {
	if f == nil || len(f.Points) == 0 {
		return ""
	}
	lo, hi := 0.0, 0.0
	for _, p := range f.Points {
		for _, v := range append(slices.Clone(p.Hosts), p.Fleet, p.Low, p.High) {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	pad := (hi - lo) * 0.05
	if pad == 0 {
		pad = 0.01
	}
	lo, hi = lo-pad, hi+pad
	const label, width, row, top = 330, 960, 22, 30
	x := func(v float64) float64 { return label + (v-lo)/(hi-lo)*(width-label-20) }
	height := top + row*len(f.Points) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="100%%" role="img" aria-label="overhead per host and for the fleet">`, width, height)
	for i, name := range f.Names {
		c := palette[i%len(palette)]
		fmt.Fprintf(&b, `<circle cx="%d" cy="12" r="5" fill="%s"/><text x="%d" y="16" font-size="12">%s</text>`, label+i*120, hexColor(c), label+i*120+9, html.EscapeString(name))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#888" stroke-dasharray="4 3"/>`, x(0), top-6, x(0), height-6)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">0%%</text>`, x(0), height)
	for i, p := range f.Points {
		y := top + row*i + row/2
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>`, label-8, y+4, html.EscapeString(p.Label))
		if !math.IsNaN(p.Low) {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#bbb" stroke-width="6"/>`, x(p.Low), y, x(p.High), y)
		}
		if !math.IsNaN(p.Fleet) {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-width="2"><title>fleet %s</title></line>`, x(p.Fleet), y-7, x(p.Fleet), y+7, pct(p.Fleet))
		}
		for h, v := range p.Hosts {
			if !math.IsNaN(v) {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%d" r="4" fill="%s"><title>%s %s</title></circle>`, x(v), y, hexColor(palette[h%len(palette)]), html.EscapeString(f.Names[h]), pct(v))
			}
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11">%s</text><text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>`, label, height, pct(lo), width-20, height, pct(hi))
	b.WriteString("</svg>")
	return template.HTML(b.String())
}
