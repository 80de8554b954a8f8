package report

import (
	"fmt"
	"html"
	"html/template"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
)

// report.html reads as a publication: one colour per platform on the whole
// page, charts that grow downward and scale to the page, text in the
// page's own font, a table per workload with its parameters as columns, and
// notes folded under the cells they are about.

// chartFont is the face of the charts' text metrics; svg names it and the
// fonts of its metrics to the browser.
var chartFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// palette is Okabe and Ito's, which colour-blind readers tell apart.
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x00, 0x9E, 0x73, 0xff}, // green
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0xCC, 0x79, 0xA7, 0xff}, // purple
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x99, 0x88, 0x22, 0xff}, // olive
	{0x33, 0x33, 0x33, 0xff}, // near black
}

// platformColor is the colour of a platform in every chart of the page:
// by its place among the run's platforms.
func (t Table) platformColor(name string) color.RGBA {
	i := slices.IndexFunc(t.Platforms, func(c analysis.Column) bool { return c.Name == name })
	if i < 0 {
		return palette[len(palette)-1]
	}
	return palette[i%len(palette)]
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// colorKey is the page's legend: each platform's colour, once, at the top
// and above every chart that draws platforms.
func (t Table) colorKey() template.HTML {
	var b strings.Builder
	b.WriteString(`<p class="key">`)
	for _, p := range t.Platforms {
		fmt.Fprintf(&b, `<span><i style="background:%s"></i>%s</span> `, hexColor(t.platformColor(p.Name)), html.EscapeString(p.Name))
	}
	b.WriteString(`</p>`)
	return template.HTML(b.String())
}

// dotChart plots, per row of the panel with a baseline value, each
// platform's performance relative to the baseline, 1/(1+overhead) (or for
// a cost panel its cost, 1+overhead), with the overhead's interval as a
// horizontal whisker: one row per cell, so that it grows downward, on a
// log axis, and colours from the page's key (no legend of its own).
func dotChart(t Table, g panel) (string, error) {
	rel := func(o float64) float64 {
		if g.cost {
			return 1 + o
		}
		return 1 / (1 + o)
	}
	type point struct{ y, x, lo, hi float64 }
	series := map[string][]point{}
	var names []string
	for _, r := range t.Rows {
		if !g.rows(r) {
			continue
		}
		drawn := false
		for i, c := range r.Cells {
			if d := c.Delta; d != nil && !math.IsNaN(d.Overhead) {
				p := point{y: float64(len(names)), x: rel(d.Overhead)}
				p.lo, p.hi = p.x, p.x
				if !math.IsNaN(d.Lo) {
					p.lo, p.hi = min(rel(d.Lo), rel(d.Hi)), max(rel(d.Lo), rel(d.Hi))
				}
				name := t.Platforms[i].Name
				series[name] = append(series[name], p)
				drawn = true
			}
		}
		if !drawn {
			continue
		}
		names = append(names, strings.TrimSpace(strings.Join([]string{r.Workload, r.Label, r.Metric}, " ")))
	}
	if len(names) == 0 {
		return "", nil
	}
	// Top to bottom in table order: the first row at the top.
	slices.Reverse(names)
	flip := func(y float64) float64 { return float64(len(names)-1) - y }
	xlabel := "performance relative to " + t.Baseline + " (log scale)"
	if g.cost {
		xlabel = "cost relative to " + t.Baseline + " (log scale)"
	}
	p := rowsPlot(xlabel, names, 9)
	minX, maxX := 1.0, 1.0
	k := 0
	for _, col := range t.Platforms {
		pts := series[col.Name]
		if len(pts) == 0 {
			continue
		}
		xy := make(plotter.XYs, len(pts))
		errs := make(plotter.XErrors, len(pts))
		off := 0.18 * (float64(k) - float64(len(series)-1)/2)
		for j, pt := range pts {
			xy[j].X, xy[j].Y = pt.x, flip(pt.y)+off
			errs[j].Low, errs[j].High = pt.x-pt.lo, pt.hi-pt.x
			minX, maxX = math.Min(minX, pt.lo), math.Max(maxX, pt.hi)
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return "", err
		}
		sc.Color = t.platformColor(col.Name)
		sc.Shape = draw.CircleGlyph{}
		sc.Radius = vg.Points(3.5)
		eb, err := plotter.NewXErrorBars(struct {
			plotter.XYs
			plotter.XErrors
		}{xy, errs})
		if err != nil {
			return "", err
		}
		eb.Color, eb.CapWidth = sc.Color, vg.Points(5)
		p.Add(eb, sc)
		k++
	}
	// The baseline: a dashed vertical line at 1.
	one, err := plotter.NewLine(plotter.XYs{{X: 1, Y: -0.5}, {X: 1, Y: float64(len(names)) - 0.5}})
	if err != nil {
		return "", err
	}
	one.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	one.Color = t.platformColor(t.Baseline)
	p.Add(one)
	p.X.Min, p.X.Max = minX/1.15, maxX*1.15
	p.Y.Min, p.Y.Max = -0.5, float64(len(names))-0.5
	return svg(p, 9*vg.Inch, vg.Length(0.9+0.3*float64(len(names)))*vg.Inch)
}

// section is one workload's part of report.html: its table, with the
// variant's parameters as columns and each cell marked with the numbers of
// its notes, and those notes.
type section struct {
	Title  string
	Header []string
	Rows   [][]template.HTML
	Notes  []numberedNote
}

type numberedNote struct {
	N    int
	Text string
}

// sections splits the table by workload.
func (t Table) sections() []section {
	var out []section
	n := 0
	for _, r := range t.Rows {
		if i := slices.IndexFunc(out, func(s section) bool { return s.Title == r.Workload }); i < 0 {
			out = append(out, section{Title: r.Workload})
		}
	}
	for si := range out {
		s := &out[si]
		rows := t.rowsOf(s.Title)
		keys := paramKeys(rows)
		for _, k := range keys {
			if k == "" {
				k = "variant"
			}
			s.Header = append(s.Header, k)
		}
		s.Header = append(s.Header, "metric")
		for _, p := range t.Platforms {
			name := p.Name
			if p.Accel != "" {
				name += " (" + p.Accel + ")"
			}
			s.Header = append(s.Header, name)
			if p.Name != t.Baseline {
				s.Header = append(s.Header, p.Name+" vs "+t.Baseline)
			}
		}
		// The notes of this workload, numbered across the page.
		marks := map[string][]int{} // label/metric/platform → note numbers
		for _, cn := range t.CellNotes {
			if cn.Workload != s.Title {
				continue
			}
			n++
			s.Notes = append(s.Notes, numberedNote{n, cn.Text})
			for _, p := range cn.Platforms {
				k := cn.Label + "\x00" + cn.Metric + "\x00" + p
				marks[k] = append(marks[k], n)
			}
		}
		for _, r := range rows {
			var rec []template.HTML
			for _, k := range keys {
				rec = append(rec, template.HTML(html.EscapeString(paramCell(r.Label, k))))
			}
			metric := r.Metric
			if r.Unit != "" {
				metric += " (" + r.Unit + ")"
			}
			rec = append(rec, template.HTML(html.EscapeString(metric)))
			for i, p := range t.Platforms {
				cell := html.EscapeString(cellText(r.Cells[i], r.Unit, units.Format))
				var links []string
				for _, m := range append(marks[r.Label+"\x00\x00"+p.Name], marks[r.Label+"\x00"+r.Metric+"\x00"+p.Name]...) {
					links = append(links, fmt.Sprintf(`<a href="#note-%d">%d</a>`, m, m))
				}
				if len(links) > 0 {
					cell += "<sup>" + strings.Join(links, ",") + "</sup>"
				}
				rec = append(rec, template.HTML(cell))
				if p.Name != t.Baseline {
					rec = append(rec, template.HTML(html.EscapeString(deltaText(r.Cells[i]))))
				}
			}
			s.Rows = append(s.Rows, rec)
		}
	}
	return out
}

// rowsOf are the rows of a workload.
func (t Table) rowsOf(workload string) []analysis.Row {
	var out []analysis.Row
	for _, r := range t.Rows {
		if r.Workload == workload {
			out = append(out, r)
		}
	}
	return out
}

// paramKeys are the parameters the rows' variants set, in order of first
// appearance: the parameter columns of a workload's table. A label's words
// that are no parameter (compare's "native:") make a first column of their
// own, variantWords.
func paramKeys(rows []analysis.Row) []string {
	var keys []string
	for _, r := range rows {
		if variantWords(r.Label) != "" && !slices.Contains(keys, "") {
			keys = append([]string{""}, keys...)
		}
		for _, f := range strings.Fields(r.Label) {
			if k, _, ok := strings.Cut(f, "="); ok && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// variantWords are the words of a label that are no parameter.
func variantWords(label string) string {
	var out []string
	for _, f := range strings.Fields(label) {
		if !strings.Contains(f, "=") {
			out = append(out, strings.TrimSuffix(f, ":"))
		}
	}
	return strings.Join(out, " ")
}

// paramCell is a row's value in a parameter column ("": the variant words).
func paramCell(label, key string) string {
	if key == "" {
		return variantWords(label)
	}
	return labelParams(label)[key]
}

// logTicks125 marks a log axis at 1, 2 and 5 times the powers of ten in its
// range, each labelled, so that a range within one decade (a cost of 1 to
// 6) is read off as well as one over several; unlabelled minor ticks at the
// other integers times the powers of ten when the range spans more than
// two decades, where 2 and 5 would crowd.
type logTicks125 struct{}

func (logTicks125) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	steps := []float64{1, 2, 5}
	if hi/lo > 300 {
		steps = []float64{1}
	}
	var out []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		mag := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := m * mag
			if v < lo || v > hi {
				continue
			}
			label := ""
			if slices.Contains(steps, m) {
				label = strconv.FormatFloat(v, 'g', 3, 64)
			}
			out = append(out, plot.Tick{Value: v, Label: label})
		}
	}
	return out
}

// rowsPlot is a plot of named rows (the first name at the bottom) against
// a log axis of ratios, its row labels in points of size labelPt.
func rowsPlot(xlabel string, names []string, labelPt float64) *plot.Plot {
	p := plot.New()
	p.X.Label.Text = xlabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks125{}
	p.NominalY(names...)
	p.Y.Tick.Label.Font.Size = vg.Points(labelPt)
	p.X.Tick.Label.Font.Size = vg.Points(9)
	return p
}

// headlineChart is the summary's first comparison (vm vs container in the
// default scenario) drawn: a row per resource, its deciding cell's cost
// relative to the reference with the interval, on a grey band of ±the
// cell's equivalence margin: a whole interval inside the band is
// negligible, one wholly outside it is an overhead (or better) beyond the
// margin. "" when the run has no comparison with a decided cell.
func headlineChart(t Table) (title, caption, out string, err error) {
	if len(t.Pairs) == 0 {
		return "", "", "", nil
	}
	pair := t.Pairs[0]
	type row struct {
		name         string
		x, lo, hi, m float64
	}
	var rows []row
	for _, f := range t.Summary {
		if f.Pair != pair || f.Worst == nil || math.IsNaN(f.Worst.Overhead) {
			continue
		}
		w := f.Worst
		r := row{name: f.Resource, x: 1 + w.Overhead, lo: 1 + w.Overhead, hi: 1 + w.Overhead, m: w.Margin}
		if !math.IsNaN(w.Lo) && !math.IsNaN(w.Hi) {
			r.lo, r.hi = 1+w.Lo, 1+w.Hi
		}
		if r.lo <= 0 { // a log axis: a cost ratio is above zero
			continue
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return "", "", "", nil
	}
	x, ref := t.Platforms[pair.X].Name, t.Platforms[pair.Ref].Name
	names := make([]string, len(rows))
	for i, r := range rows { // the summary's first line at the top
		names[len(rows)-1-i] = r.name
	}
	p := rowsPlot("cost on "+x+" relative to "+ref+" (log scale)", names, 10)
	minX, maxX := 1.0, 1.0
	xy := make(plotter.XYs, len(rows))
	errs := make(plotter.XErrors, len(rows))
	for i, r := range rows {
		y := float64(len(rows) - 1 - i)
		band, err := plotter.NewPolygon(plotter.XYs{{X: 1 - r.m, Y: y - 0.4}, {X: 1 + r.m, Y: y - 0.4}, {X: 1 + r.m, Y: y + 0.4}, {X: 1 - r.m, Y: y + 0.4}})
		if err != nil {
			return "", "", "", err
		}
		band.Color, band.LineStyle.Width = color.Gray{Y: 0xdd}, 0
		p.Add(band)
		xy[i].X, xy[i].Y = r.x, y
		errs[i].Low, errs[i].High = r.x-r.lo, r.hi-r.x
		minX, maxX = math.Min(minX, math.Min(r.lo, 1-r.m)), math.Max(maxX, math.Max(r.hi, 1+r.m))
	}
	eb, err := plotter.NewXErrorBars(struct {
		plotter.XYs
		plotter.XErrors
	}{xy, errs})
	if err != nil {
		return "", "", "", err
	}
	sc, err := plotter.NewScatter(xy)
	if err != nil {
		return "", "", "", err
	}
	sc.Color, sc.Shape, sc.Radius = t.platformColor(x), draw.CircleGlyph{}, vg.Points(4)
	eb.Color, eb.CapWidth, eb.LineStyle.Width = sc.Color, vg.Points(6), vg.Points(1.5)
	one, err := plotter.NewLine(plotter.XYs{{X: 1, Y: -0.5}, {X: 1, Y: float64(len(rows)) - 0.5}})
	if err != nil {
		return "", "", "", err
	}
	one.Dashes, one.Color = []vg.Length{vg.Points(4), vg.Points(2)}, t.platformColor(ref)
	p.Add(one, eb, sc)
	p.X.Min, p.X.Max = minX/1.15, maxX*1.15
	p.Y.Min, p.Y.Max = -0.5, float64(len(rows))-0.5
	out, err = svg(p, 9*vg.Inch, vg.Length(0.9+0.4*float64(len(rows)))*vg.Inch)
	margin := "±" + pctAbs(rows[0].m)
	for _, r := range rows {
		if r.m != rows[0].m {
			margin = "each cell's own"
		}
	}
	caption = fmt.Sprintf("The summary's first column: for each resource, the cell that decides its verdict, as the cost of the same work on %s relative to %s (1 = the same, 2 = twice the cost), with its %s interval. "+
		"The grey band is the equivalence margin (%s): an interval wholly inside it is negligible, one wholly outside it an overhead beyond the margin; the dashed line is %s.",
		x, ref, stats.LevelText(t.Confidence), margin, ref)
	return "Headline: " + x + " vs " + ref, caption, out, err
}
