package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/vmbench/vmbench/internal/capacity"
	"github.com/vmbench/vmbench/internal/workload"
)

// HTML writes report.html: the report.md content plus SVG charts, in one
// self-contained file (no scripts, styles or images from elsewhere).
func HTML(w io.Writer, t Table) error {
	var charts []chart
	for _, g := range panels(t) {
		svg, err := performanceChart(t, g)
		if err != nil {
			return fmt.Errorf("%s chart: %w", g.title, err)
		}
		if svg != "" {
			charts = append(charts, chart{Title: g.title, Caption: g.caption, SVG: template.HTML(svg)})
		}
	}
	for _, d := range []struct {
		title, caption, ylabel string
		curve                  func(capacity.Platform) ([]float64, []float64)
	}{
		{"Density: work per instance", "The first headline metric of the sweep, median per instance at each level, relative to the platform's own first level: 1 is no loss, 0.5 is half as much work per instance.", "per instance, relative to the first level", perInstanceCurve},
		{"Density: host memory", "MemAvailable's drop from before the instances started, median over rounds.", "MemAvailable drop (GiB)", memoryCurve},
	} {
		svg, err := densityChart(t, d.curve, d.ylabel)
		if err != nil {
			return fmt.Errorf("density chart: %w", err)
		}
		if svg != "" {
			charts = append(charts, chart{Title: d.title, Caption: d.caption, SVG: template.HTML(svg)})
		}
	}
	if svg, err := bootChart(t); err != nil {
		return fmt.Errorf("boot chart: %w", err)
	} else if svg != "" {
		charts = append(charts, chart{Title: "Guest boot, launch to agent-ready",
			Caption: "Median of each phase: QEMU start and firmware, kernel until /init, agent until ready.",
			SVG:     template.HTML(svg)})
	}
	for _, l := range t.Latencies {
		svg, err := latencyChart(t, l)
		if err != nil {
			return fmt.Errorf("latency chart: %w", err)
		}
		if svg != "" {
			charts = append(charts, chart{Title: "Latency percentiles: " + strings.TrimSpace(l.Workload+" "+l.Label),
				Caption: "Every " + l.Name + " the measured trials recorded (HDR histograms, merged per platform), by percentile: the x axis stretches the tail (90, 99, 99.9), the y axis is logarithmic.",
				SVG:     template.HTML(svg)})
		}
	}
	for _, tl := range t.Timelines {
		svg, err := timelineChart(tl)
		if err != nil {
			return fmt.Errorf("timeline chart: %w", err)
		}
		if svg != "" {
			charts = append(charts, chart{Title: "Resources over one trial: " + strings.TrimSpace(tl.Workload+" "+tl.Label),
				Caption: "The first measured trial on each platform, from the samplers (series.jsonl). Left: CPU of the platform's host processes (the agent; runc and the container; all QEMU threads) in cores, and, dashed, the whole host busy. Right: their proportional set size (PSS).",
				SVG:     template.HTML(svg)})
		}
	}
	sh, sr := t.summaryRows()
	eh, er := t.exitTable()
	var density []profileTable
	for _, p := range t.Density {
		h, rows := densityRows(p)
		density = append(density, profileTable{Title: p.Name, Header: h, Rows: rows})
	}
	var findings []string
	for _, f := range t.Summary {
		findings = append(findings, f.Resource+", "+t.pairName(f.Pair)+": "+f.Detail())
	}
	var profiles []profileTable
	for _, p := range t.Profiles {
		profiles = append(profiles, profileTable{Title: p.title(), Header: p.header(t.Baseline), Rows: p.records(t.Baseline)})
	}
	return htmlPage.Execute(w, struct {
		T             Table
		Header        []string
		Rows          [][]string
		Legend        string
		Charts        []chart
		Profiles      []profileTable
		ProfileLegend string
		Env           [][2]string
		SummaryTitle  string
		SummaryHeader []string
		SummaryRows   [][]string
		Findings      []string
		Density       []profileTable
		DensityLegend string
		ExitHeader    []string
		ExitRows      [][]string
		ExitLegend    string
	}{t, t.header(), t.records(), t.legend(), charts, profiles, profileLegend(t.Baseline), t.environment(), t.summaryTitle(), sh, sr, findings, density, densityLegend, eh, er, exitLegend})
}

type profileTable struct {
	Title  string
	Header []string
	Rows   [][]string
}

// panel is one performance chart: the rows it plots and how.
type panel struct {
	title, caption string
	rows           func(Row) bool
	cost           bool // plot the cost ratio, 1+overhead, instead of performance
}

// panels are the performance charts: the workloads' own metrics, then one
// per cost metric, so that each chart's rows read in the same unit.
func panels(t Table) []panel {
	out := []panel{{
		title:   "Performance relative to " + t.Baseline,
		caption: "Each point is a platform's performance relative to the baseline's, 1/(1+overhead) (log scale; 1 = same as the baseline, 0.5 = half as fast or twice the cost); whiskers are the overhead's " + levelText(t.Level) + " interval, paired round by round where rounds are complete.",
		rows:    func(r Row) bool { return !isCost(r.Metric) },
	}}
	for _, m := range workload.CostMetrics {
		out = append(out, panel{
			title:   fmt.Sprintf("%s relative to %s", m.Name, t.Baseline),
			caption: fmt.Sprintf("%s: %s. Each point is a platform's cost relative to the baseline's, 1+overhead (log scale; 2 = twice what the baseline costs); whiskers are the overhead's %s interval.", m.Name, m.Help, levelText(t.Level)),
			rows:    func(r Row) bool { return r.Metric == m.Name },
			cost:    true,
		})
	}
	return out
}

func isCost(metric string) bool {
	return slices.ContainsFunc(workload.CostMetrics, func(m workload.MetricInfo) bool { return m.Name == metric })
}

type chart struct {
	Title, Caption string
	SVG            template.HTML
}

var htmlPage = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>vmbench report: {{.T.Scenario}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;white-space:nowrap}
th{background:#f3f3f3}
.warn{background:#fff4d6;border-left:4px solid #e0a800;padding:.5em 1em;margin:.5em 0}
figure{margin:2em 0}figcaption{font-size:13px;color:#555}
</style></head><body>
<h1>vmbench report: {{.T.Scenario}}</h1>
<p>Run <code>{{.T.RunID}}</code>, baseline platform <code>{{.T.Baseline}}</code>.</p>
{{range .T.Banners}}<div class="warn"><b>Warning:</b> {{.}}</div>
{{end}}
{{if .SummaryRows}}<h2>Summary</h2><p>{{.SummaryTitle}}.</p>
<table><tr>{{range .SummaryHeader}}<th>{{.}}</th>{{end}}</tr>
{{range .SummaryRows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
<details><summary>Which cells decide each verdict</summary><ul>{{range .Findings}}<li>{{.}}</li>{{end}}</ul></details>
<h2>All cells</h2>{{end}}
{{range .Density}}<h2>Density sweep: {{.Title}}</h2>
<table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{if .Density}}<p>{{.DensityLegend}}</p>{{end}}
{{if .Rows}}<table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
<p>{{.Legend}}</p>{{end}}
{{range .Charts}}<figure><h2>{{.Title}}</h2>{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}
{{if .Profiles}}<h2>Where the CPU time goes</h2>
<p>{{.ProfileLegend}}</p>
{{range .Profiles}}<h3>{{.Title}}</h3>
<table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range $i, $c := .}}<td>{{if eq $i 0}}<code>{{$c}}</code>{{else}}{{$c}}{{end}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{end}}
{{if .ExitRows}}<h2>Where the guests' exits go (KVM)</h2>
<p>{{.ExitLegend}}</p>
<table><tr>{{range .ExitHeader}}<th>{{.}}</th>{{end}}</tr>
{{range .ExitRows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}
{{if .T.Notes}}<h2>Notes</h2><ul>{{range .T.Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Environment</h2>
<table>{{range .Env}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>{{end}}</table>
</body></html>
`))

// performanceChart plots, per row of the panel with a baseline value, each
// platform's performance relative to the baseline, 1/(1+overhead), or for a
// cost panel its cost relative to the baseline, 1+overhead.
func performanceChart(t Table, g panel) (string, error) {
	var names []string
	type point struct{ x, y, lo, hi float64 }
	series := make([][]point, len(t.Platforms))
	rel := func(o float64) float64 {
		if g.cost {
			return 1 + o
		}
		return 1 / (1 + o)
	}
	for _, r := range t.Rows {
		if !g.rows(r) {
			continue
		}
		has := false
		for _, c := range r.Cells {
			if c.Delta != nil && !math.IsNaN(c.Delta.Overhead) {
				has = true
			}
		}
		if !has {
			continue
		}
		x := float64(len(names))
		names = append(names, strings.Join(append([]string{r.Workload}, append(strings.Fields(r.Label), r.Metric)...), "\n"))
		for i, c := range r.Cells {
			if d := c.Delta; d != nil && !math.IsNaN(d.Overhead) {
				p := point{x: x, y: rel(d.Overhead)}
				p.lo, p.hi = p.y, p.y
				if !math.IsNaN(d.Lo) {
					p.lo, p.hi = min(rel(d.Lo), rel(d.Hi)), max(rel(d.Lo), rel(d.Hi))
				}
				series[i] = append(series[i], p)
			}
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	p := plot.New()
	p.Y.Label.Text = "performance relative to " + t.Baseline
	if g.cost {
		p.Y.Label.Text = "cost relative to " + t.Baseline
	}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.NominalX(names...)
	p.X.Tick.Label.Font.Size = vg.Points(8)
	base := plotter.NewFunction(func(float64) float64 { return 1 })
	base.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	p.Add(base)
	p.Legend.Add(t.Baseline, base)
	p.Legend.Top = true
	minY, maxY := 1.0, 1.0
	k := 0
	for i, pts := range series {
		if len(pts) == 0 {
			continue
		}
		xy := make(plotter.XYs, len(pts))
		errs := make(plotter.YErrors, len(pts))
		for j, pt := range pts {
			xy[j].X = pt.x + 0.12*float64(k) - 0.06
			xy[j].Y = pt.y
			errs[j].Low, errs[j].High = pt.y-pt.lo, pt.hi-pt.y
			minY, maxY = math.Min(minY, pt.lo), math.Max(maxY, pt.hi)
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return "", err
		}
		sc.Color = plotutil.Color(k + 1)
		sc.Shape = plotutil.Shape(k)
		sc.Radius = vg.Points(4)
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{xy, errs})
		if err != nil {
			return "", err
		}
		eb.Color = sc.Color
		eb.CapWidth = vg.Points(8)
		p.Add(sc, eb)
		p.Legend.Add(t.Platforms[i].Name, sc)
		k++
	}
	p.Y.Min, p.Y.Max = minY/1.5, maxY*4 // room above for the legend
	p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
	return svg(p, vg.Length(math.Max(8, 2.6*float64(len(names))))*vg.Inch, 4.5*vg.Inch)
}

// bootChart stacks the boot phases of each guest.
func bootChart(t Table) (string, error) {
	var phases []string // after the whole, launch_to_ready
	for _, m := range workload.BootMetrics[1:] {
		phases = append(phases, m.Name)
	}
	vals := make([]plotter.Values, len(phases))
	var names []string
	for c, col := range t.Platforms {
		row := map[string]float64{}
		for _, r := range t.Rows {
			if r.Workload == workload.Boot && len(r.Cells[c].Values) > 0 {
				row[r.Metric] = r.Cells[c].Summary.Center
			}
		}
		if _, ok := row[workload.BootMetrics[0].Name]; !ok {
			continue
		}
		names = append(names, col.Name)
		for i, ph := range phases {
			vals[i] = append(vals[i], row[ph])
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	p := plot.New()
	p.Y.Label.Text = "seconds"
	p.NominalX(names...)
	p.Legend.Top = true
	p.Legend.XOffs = vg.Points(-10)
	var below *plotter.BarChart
	for i, ph := range phases {
		b, err := plotter.NewBarChart(vals[i], vg.Points(40))
		if err != nil {
			return "", err
		}
		b.Color = plotutil.Color(i)
		b.LineStyle.Width = 0
		if below != nil {
			b.StackOn(below)
		}
		p.Add(b)
		p.Legend.Add(ph, b)
		below = b
	}
	p.X.Min, p.X.Max = -0.5, float64(len(names))+1 // the legend stands right of the bars
	return svg(p, vg.Length(math.Max(5, 1.5*float64(len(names))))*vg.Inch, 3.5*vg.Inch)
}

// svg renders p as an SVG element for inlining (no XML prolog).
func svg(p *plot.Plot, w, h vg.Length) (string, error) {
	wt, err := p.WriterTo(w, h, "svg")
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	return s, nil
}

// timelineChart draws a Timeline as two plots side by side: the platforms'
// CPU (and the host's, dashed) in cores, and their PSS in MiB.
func timelineChart(tl Timeline) (string, error) {
	if len(tl.Lines) == 0 {
		return "", nil
	}
	cpu, mem := plot.New(), plot.New()
	cpu.X.Label.Text, cpu.Y.Label.Text = "seconds into the trial", "cores"
	mem.X.Label.Text, mem.Y.Label.Text = "seconds into the trial", "PSS (MiB)"
	cpu.Legend.Top, mem.Legend.Top = true, true
	cpu.Y.Min, mem.Y.Min = 0, 0
	var maxCPU, maxMem float64
	for k, l := range tl.Lines {
		xy := func(ys []float64, scale float64) plotter.XYs {
			out := make(plotter.XYs, len(l.T))
			for i := range l.T {
				out[i].X, out[i].Y = l.T[i], ys[i]*scale
			}
			return out
		}
		own, err := plotter.NewLine(xy(l.CPU, 1))
		if err != nil {
			return "", err
		}
		host, err := plotter.NewLine(xy(l.HostCPU, 1))
		if err != nil {
			return "", err
		}
		pss, err := plotter.NewLine(xy(l.PSS, 1.0/(1<<20)))
		if err != nil {
			return "", err
		}
		own.Color, host.Color, pss.Color = plotutil.Color(k), plotutil.Color(k), plotutil.Color(k)
		own.Width, pss.Width = vg.Points(1.5), vg.Points(1.5)
		host.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		cpu.Add(own, host)
		cpu.Legend.Add(l.Platform, own)
		mem.Add(pss)
		mem.Legend.Add(l.Platform, pss)
		for i := range l.T {
			maxCPU = max(maxCPU, l.CPU[i], l.HostCPU[i])
			maxMem = max(maxMem, l.PSS[i]/(1<<20))
		}
	}
	cpu.Y.Max, mem.Y.Max = math.Max(1, maxCPU)*1.35, math.Max(1, maxMem)*1.35 // room for the legend
	a, err := svg(cpu, 5*vg.Inch, 3*vg.Inch)
	if err != nil {
		return "", err
	}
	b, err := svg(mem, 5*vg.Inch, 3*vg.Inch)
	if err != nil {
		return "", err
	}
	return a + b, nil
}

// nines are the percentiles marked on a latency chart's axis, at
// -log10(1-q): each step right is ten times rarer.
var nines = []struct {
	q     float64
	label string
}{{0, "0"}, {0.5, "50"}, {0.9, "90"}, {0.99, "99"}, {0.999, "99.9"}, {0.9999, "99.99"}, {0.99999, "99.999"}}

type ninesTicks struct{ max float64 }

func (n ninesTicks) Ticks(min, max float64) []plot.Tick {
	var out []plot.Tick
	for _, t := range nines {
		if x := -math.Log10(1 - t.q); x <= n.max+1e-9 {
			out = append(out, plot.Tick{Value: x, Label: t.label})
		}
	}
	return out
}

// latencyChart draws the percentile curve of a Latency on each platform,
// HdrHistogram's way: the x axis stretches the tail, so that p99 and p99.9
// get as much room as the median.
func latencyChart(t Table, l Latency) (string, error) {
	p := plot.New()
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (µs)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	var xmax float64
	drawn := 0
	for i, h := range l.Hists {
		if h == nil || h.Count() < 2 {
			continue
		}
		// Percentiles beyond 1 - 1/n are not resolved by n events.
		top := math.Min(math.Log10(float64(h.Count())), 5)
		xmax = math.Max(xmax, top)
		var xy plotter.XYs
		for x := 0.0; x <= top+1e-9; x += 0.02 {
			xy = append(xy, plotter.XY{X: x, Y: math.Max(1e-3, 1e6*h.Quantile(1-math.Pow(10, -x)))}) // log scale: no 0
		}
		ln, err := plotter.NewLine(xy)
		if err != nil {
			return "", err
		}
		ln.Color = plotutil.Color(drawn)
		ln.Width = vg.Points(1.5)
		p.Add(ln)
		p.Legend.Add(fmt.Sprintf("%s (%d events)", t.Platforms[i].Name, h.Count()), ln)
		drawn++
	}
	if drawn == 0 {
		return "", nil
	}
	p.X.Min, p.X.Max = 0, xmax
	p.X.Tick.Marker = ninesTicks{max: xmax}
	return svg(p, 7*vg.Inch, 4*vg.Inch)
}
