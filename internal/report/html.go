package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/capacity"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/workload"
)

// HTML writes report.html: the report.md content plus SVG charts, in one
// self-contained file (no scripts, styles or images from elsewhere).
func HTML(w io.Writer, t Table) error {
	plot.DefaultFont = chartFont // before any plot is made; nothing else draws
	var overview, charts []chart
	if title, caption, svg, err := headlineChart(t); err != nil {
		return fmt.Errorf("headline chart: %w", err)
	} else if svg != "" {
		overview = append(overview, chart{Title: title, Caption: caption, SVG: template.HTML(svg)})
	}
	for _, g := range panels(t) {
		svg, err := dotChart(t, g)
		if err != nil {
			return fmt.Errorf("%s chart: %w", g.title, err)
		}
		if svg != "" {
			overview = append(overview, chart{Title: g.title, Caption: g.caption, SVG: template.HTML(svg), Keyed: true})
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
			charts = append(charts, chart{Title: d.title, Caption: d.caption, SVG: template.HTML(svg), Keyed: true})
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
				Caption: "Every " + l.Name + " the measured trials recorded (HDR histograms, merged per platform" + latencyCounts(t, l) + "), by percentile: the x axis stretches the tail (90, 99, 99.9), the y axis is logarithmic.",
				SVG:     template.HTML(svg), Keyed: true})
		}
	}
	for _, tl := range t.Timelines {
		svg, err := timelineChart(t, tl)
		if err != nil {
			return fmt.Errorf("timeline chart: %w", err)
		}
		if svg != "" {
			charts = append(charts, chart{Title: "Resources over one trial: " + strings.TrimSpace(tl.Workload+" "+tl.Label),
				Caption: "The first measured trial on each platform, from the samplers (series.jsonl). Above: CPU of the platform's host processes (the agent; runc and the container; all QEMU threads) in cores, and, dashed, the whole host busy. Below: their proportional set size (PSS).",
				SVG:     template.HTML(svg), Keyed: true})
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
		findings = append(findings, f.Resource+", "+t.pairName(f.Pair)+": "+t.findingDetail(f))
	}
	var profiles []profileTable
	for _, p := range t.Profiles {
		profiles = append(profiles, profileTable{Title: p.title(), Header: p.header(t.Baseline), Rows: p.records(t.Baseline)})
	}
	// The notes on cells are under their workload's table; the others here.
	var runNotes []string
	for _, n := range t.Notes {
		if !slices.ContainsFunc(t.CellNotes, func(c CellNote) bool { return c.Text == n }) {
			runNotes = append(runNotes, n)
		}
	}
	var fleetHosts, fleetCells profileTable
	if f := t.Fleet; f != nil {
		fleetHosts.Header, fleetHosts.Rows = f.hostRows()
		fleetCells.Header, fleetCells.Rows = f.Header, f.Rows
	}
	return htmlPage.Execute(w, struct {
		T             Table
		Key           template.HTML
		Sections      []section
		Families      []profileTable
		FamilyLegend  string
		FleetHosts    profileTable
		FleetCells    profileTable
		FleetLegend   string
		FleetChart    template.HTML
		RunNotes      []string
		Legend        string
		Overview      []chart
		Detail        []chart
		Profiles      []profileTable
		ProfileLegend string
		Env           [][2]string
		SummaryTitle  string
		SummaryHeader []string
		SummaryRows   [][]string
		Findings      []string
		Density       []profileTable
		Capacity      capacitySection
		DensityLegend string
		ExitHeader    []string
		ExitRows      [][]string
		ExitLegend    string
	}{t, t.colorKey(), t.sections(), t.families(), familyLegend, fleetHosts, fleetCells, fleetLegend, t.Fleet.spreadChart(), runNotes, t.legend(), overview, charts, profiles, profileLegend(t.Baseline), t.environment(), t.summaryTitle(), sh, sr, findings, density, t.capacitySection(), densityLegend, eh, er, exitLegend})
}

type profileTable struct {
	Title  string
	Header []string
	Rows   [][]string
	Keys   int // the columns that name a row (a matrix's options), repeated when a wide table splits
}

// panel is one performance chart: the rows it plots and how.
type panel struct {
	title, caption string
	rows           func(analysis.Row) bool
	cost           bool // plot the cost ratio, 1+overhead, instead of performance
}

// panels are the performance charts: the workloads' own metrics, then one
// per cost metric, so that each chart's rows read in the same unit.
func panels(t Table) []panel {
	out := []panel{{
		title:   "Performance relative to " + t.Baseline,
		caption: "Each point is a platform's performance relative to the baseline's, 1/(1+overhead) (log scale; 1 = same as the baseline, 0.5 = half as fast or twice the cost); whiskers are the overhead's " + stats.LevelText(t.Confidence) + " interval, paired round by round where rounds are complete.",
		rows:    func(r analysis.Row) bool { return !isCost(r.Metric) },
	}}
	for _, m := range workload.CostMetrics {
		out = append(out, panel{
			title:   fmt.Sprintf("%s relative to %s", m.Name, t.Baseline),
			caption: fmt.Sprintf("%s: %s. Each point is a platform's cost relative to the baseline's, 1+overhead (log scale; 2 = twice what the baseline costs); whiskers are the overhead's %s interval.", m.Name, m.Help, stats.LevelText(t.Confidence)),
			rows:    func(r analysis.Row) bool { return r.Metric == m.Name },
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
	Keyed          bool // its colours are the platforms'
}

// pageStyle is the style of vmbench's HTML pages: report.html and
// history.html read alike.
const pageStyle = `:root{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif;color:#222;font-size:15px;line-height:1.4}
body{margin:0 auto;padding:1.5em 2em;max-width:1200px}
h2{margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:.6em 0}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
td{overflow-wrap:break-word}
th{background:#f3f3f3}
.scroll{overflow-x:auto;max-width:100%}
svg{max-width:100%;height:auto;display:block}
.key span{margin-right:1.2em;white-space:nowrap}
.key i{display:inline-block;width:.75em;height:.75em;border-radius:50%;margin-right:.35em;vertical-align:baseline}
.warn{background:#fff4d6;border-left:4px solid #e0a800;padding:.5em 1em;margin:.5em 0}
figure{margin:1.5em 0}figcaption,.small{font-size:13px;color:#555;max-width:60em}
sup a{text-decoration:none;font-size:10px;margin-left:1px}
details{margin:.4em 0}summary{cursor:pointer;color:#555;font-size:13px}
details li{font-size:13px}
@media print{:root{font-size:11px}body{max-width:none;padding:0}figure,table,tr{break-inside:avoid}h2{break-after:avoid}a{color:inherit}}
`

var htmlPage = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>vmbench report: {{.T.Scenario}}</title>
<style>
` + pageStyle + `</style></head><body>
<h1>vmbench report: {{.T.Scenario}}</h1>
<p>Run <code>{{.T.RunID}}</code>, baseline platform <code>{{.T.Baseline}}</code>. Each platform has one colour on this page:</p>
{{.Key}}
{{range .T.Banners}}<div class="warn"><b>Warning:</b> {{.}}</div>
{{end}}
{{if .SummaryRows}}<h2>Summary</h2><p>{{.SummaryTitle}}.</p>
<div class="scroll"><table><tr>{{range .SummaryHeader}}<th>{{.}}</th>{{end}}</tr>
{{range .SummaryRows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></div>
<details><summary>Which cells decide each verdict</summary><ul>{{range .Findings}}<li>{{.}}</li>{{end}}</ul></details>{{end}}
{{range .Density}}<h2>Density sweep: {{.Title}}</h2>
<div class="scroll"><table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></div>
{{end}}{{if .Density}}<p class="small">{{.DensityLegend}}</p>{{end}}
{{with .Capacity}}{{if .Rows}}<h2>{{.Title}}</h2>
<div class="scroll"><table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></div>
<ul class="small">{{range .Lines}}<li>{{.}}</li>{{end}}</ul>{{end}}{{end}}
{{range .Overview}}<figure><h2>{{.Title}}</h2>{{$.Key}}{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}
{{range .Sections}}<h2>Workload {{.Title}}</h2>
<div class="scroll"><table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></div>
{{if .Notes}}<details><summary>{{len .Notes}} note(s) on these cells (the numbers in the cells)</summary><ul>{{range .Notes}}<li id="note-{{.N}}"><b>{{.N}}</b>. {{.Text}}</li>{{end}}</ul></details>{{end}}
{{end}}{{if .Sections}}<p class="small">Cells: median ±95% confidence interval, n trials; "X vs {{.T.Baseline}}": the verdict on X's overhead with its interval. How they are computed: <a href="#methodology">Methodology</a>.</p>{{end}}
{{if .T.Fleet}}<h2>Fleet: {{len .T.Fleet.Hosts}} hosts</h2>
<div class="scroll"><table><tr>{{range .FleetHosts.Header}}<th>{{.}}</th>{{end}}</tr>
{{range .FleetHosts.Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></div>
{{range .T.Fleet.Warnings}}<div class="warn"><b>Warning:</b> {{.}}</div>{{end}}
<figure><h3>Overhead per host and for the fleet</h3>{{.FleetChart}}<figcaption>A dot per host at its overhead over {{.T.Baseline}}; the black tick is the fleet's overhead, the grey bar its interval (Student's t over the hosts).</figcaption></figure>
<p class="small">{{.FleetLegend}}</p>
<div class="scroll"><table><tr>{{range .FleetCells.Header}}<th>{{.}}</th>{{end}}</tr>
{{range .FleetCells.Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></div>
{{end}}{{if .Families}}<h2>Matrices</h2><p class="small">{{.FamilyLegend}}</p>{{end}}
{{range .Families}}<h3>{{.Title}}</h3>
<div class="scroll"><table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></div>
{{end}}{{range .Detail}}<figure><h2>{{.Title}}</h2>{{if .Keyed}}{{$.Key}}{{end}}{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}
{{if .Profiles}}<h2>Where the CPU time goes</h2>
<p class="small">{{.ProfileLegend}}</p>
{{range .Profiles}}<h3>{{.Title}}</h3>
<div class="scroll"><table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range $i, $c := .}}<td>{{if eq $i 0}}<code>{{$c}}</code>{{else}}{{$c}}{{end}}</td>{{end}}</tr>
{{end}}</table></div>
{{end}}{{end}}
{{if .ExitRows}}<h2>Where the guests' exits go (KVM)</h2>
<p class="small">{{.ExitLegend}}</p>
<div class="scroll"><table><tr>{{range .ExitHeader}}<th>{{.}}</th>{{end}}</tr>
{{range .ExitRows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></div>
{{end}}
{{if .RunNotes}}<h2>Notes on the run</h2><details><summary>{{len .RunNotes}} note(s)</summary><ul>{{range .RunNotes}}<li>{{.}}</li>{{end}}</ul></details>{{end}}
<h2 id="methodology">Methodology</h2>
<p class="small">{{.Legend}}</p>
<p class="small">Trials are interleaved: each round runs every variant once on every platform, the platforms' order rotating from round to round, so that drift of the host spreads over all of them; warmup trials are left out. Medians and their intervals come from golang.org/x/perf/benchmath; the overheads compare platforms round by round where rounds are complete. Each trial's host CPU and footprint are its platform's host processes' (the agent; runc and the container; QEMU and the guest).</p>
<h2>Environment</h2>
<div class="scroll"><table>{{range .Env}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>{{end}}</table></div>
</body></html>
`))

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
	p.Legend.Padding = vg.Points(2) // between its rows
	// Phases in greys, dark at the bottom: colours are the platforms'.
	greys := []color.Gray{{Y: 0x44}, {Y: 0x88}, {Y: 0xbb}, {Y: 0xdd}}
	var below *plotter.BarChart
	var bars []*plotter.BarChart
	for i := range phases {
		b, err := plotter.NewBarChart(vals[i], vg.Points(40))
		if err != nil {
			return "", err
		}
		b.Color = greys[i%len(greys)]
		b.LineStyle.Width = 0
		if below != nil {
			b.StackOn(below)
		}
		p.Add(b)
		bars = append(bars, b)
		below = b
	}
	// The legend reads top down as the stack does.
	for i := len(bars) - 1; i >= 0; i-- {
		p.Legend.Add(phases[i], bars[i])
	}
	var top float64
	for j := range names {
		var sum float64
		for i := range phases {
			sum += vals[i][j]
		}
		top = math.Max(top, sum)
	}
	p.Y.Min, p.Y.Max = 0, top*1.1
	p.Y.Tick.Marker = stepTicks{}
	p.X.Min, p.X.Max = -0.5, float64(len(names))+1 // the legend stands right of the bars
	return svg(p, vg.Length(math.Max(5, 1.5*float64(len(names))))*vg.Inch, 3.5*vg.Inch)
}

// stepTicks marks an axis from 0 every 1, 2 or 5 times a power of ten,
// 4 to 10 marks over the range, labelled without trailing zeros.
type stepTicks struct{}

func (stepTicks) Ticks(lo, hi float64) []plot.Tick {
	if hi <= lo {
		return nil
	}
	mag := math.Pow(10, math.Floor(math.Log10(hi-lo)))
	step := mag
	for _, f := range []float64{0.1, 0.2, 0.5, 1} {
		if (hi-lo)/(f*mag) <= 10 {
			step = f * mag
			break
		}
	}
	var out []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 4, 64)})
	}
	return out
}

// capacitySection is the sweep's capacity for report.html.
type capacitySection struct {
	Title         string
	Header, Lines []string
	Rows          [][]string
}

func (t Table) capacitySection() capacitySection {
	title, h, rows, lines := t.capacityTable()
	return capacitySection{Title: title, Header: h, Rows: rows, Lines: lines}
}

// svg draws a plot as an SVG element for the page, w wide and h high plus
// a margin on the right, so that the last tick's label is not cut off at
// the edge. Its text asks for Liberation Sans or a font of its metrics
// (Arial, Helvetica), and each string is held by textLength to the width
// the plot laid it out at with those metrics: a browser that has none of
// them draws its own font squeezed or stretched, and no label into the
// plot beside it.
func svg(p *plot.Plot, w, h vg.Length) (string, error) {
	const margin = vg.Length(14)
	c := &measuredCanvas{Canvas: vgsvg.New(w+margin, h)}
	p.Draw(draw.Crop(draw.New(c), 0, -margin, 0, 0))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	out := b.String()
	if i := strings.Index(out, "<svg"); i > 0 {
		out = out[i:]
	}
	var sb strings.Builder
	for i := 0; ; i++ {
		j := strings.Index(out, "<text ")
		if j < 0 || i >= len(c.widths) {
			sb.WriteString(out)
			break
		}
		sb.WriteString(out[:j])
		fmt.Fprintf(&sb, `<text textLength="%.4g" lengthAdjust="spacingAndGlyphs" `, c.widths[i].Points())
		out = out[j+len("<text "):]
	}
	return fontFamily.ReplaceAllString(sb.String(), "font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;"), nil
}

// fontFamily is the family the plot's font names; the page asks for it
// and the fonts of the same metrics (Arimo, Arial, Helvetica) by name.
var fontFamily = regexp.MustCompile(`font-family:[^;"]*;`)

// measuredCanvas is an SVG canvas that keeps the width of each string it
// draws, as the plot's font measures it, in the order of the <text>
// elements it writes.
type measuredCanvas struct {
	*vgsvg.Canvas
	widths []vg.Length
}

func (c *measuredCanvas) FillString(f font.Face, pt vg.Point, s string) {
	c.widths = append(c.widths, f.Width(s))
	c.Canvas.FillString(f, pt, s)
}

// timelineChart draws a Timeline as two plots, one above the other: the
// platforms' CPU (and the host's, dashed) in cores, and their PSS in MiB.
func timelineChart(t Table, tl Timeline) (string, error) {
	if len(tl.Lines) == 0 {
		return "", nil
	}
	cpu, mem := plot.New(), plot.New()
	cpu.X.Label.Text, cpu.Y.Label.Text = "seconds into the trial", "cores"
	mem.X.Label.Text, mem.Y.Label.Text = "seconds into the trial", "PSS (MiB)"
	cpu.Y.Min, mem.Y.Min = 0, 0
	var maxCPU, maxMem float64
	for _, l := range tl.Lines {
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
		c := t.platformColor(l.Platform)
		own.Color, host.Color, pss.Color = c, c, c
		own.Width, pss.Width = vg.Points(1.5), vg.Points(1.5)
		host.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		cpu.Add(own, host)
		mem.Add(pss)
		for i := range l.T {
			maxCPU = max(maxCPU, l.CPU[i], l.HostCPU[i])
			maxMem = max(maxMem, l.PSS[i]/(1<<20))
		}
	}
	// No legend inside: the colour key above the charts names the lines.
	cpu.Y.Max, mem.Y.Max = math.Max(1, maxCPU)*1.05, math.Max(1, maxMem)*1.05
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

// counts are the events behind each platform's curve, for the caption:
// "; native 387,953 events, vm 16,303".
func latencyCounts(t Table, l analysis.Latency) string {
	var parts []string
	for i, h := range l.Hists {
		if h != nil && h.Count() >= 2 {
			parts = append(parts, t.Platforms[i].Name+" "+thousands(h.Count()))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; events: " + strings.Join(parts, ", ")
}

// thousands writes n with thousands separators: 387,953.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// latencyChart draws the percentile curve of a Latency on each platform,
// HdrHistogram's way: the x axis stretches the tail, so that p99 and p99.9
// get as much room as the median.
func latencyChart(t Table, l analysis.Latency) (string, error) {
	p := plot.New()
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (µs)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
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
		ln.Color = t.platformColor(t.Platforms[i].Name)
		ln.Width = vg.Points(1.5)
		p.Add(ln) // the colour key names it, the caption counts its events
		drawn++
	}
	if drawn == 0 {
		return "", nil
	}
	p.X.Min, p.X.Max = 0, xmax
	p.X.Tick.Marker = ninesTicks{max: xmax}
	return svg(p, 7*vg.Inch, 4*vg.Inch)
}
