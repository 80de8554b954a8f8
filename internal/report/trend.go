package report

import (
	"html/template"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/units"
)

// TrendPage is history.html: the series of a scenario's cells run after
// run, in report.html's style and colours.
type TrendPage struct {
	Title     string
	Intro     []string
	Warnings  []string
	Platforms []string // in the runs' order: each has its colour
	Header    []string // the table of change points
	Rows      [][]string
	Trends    []Trend
	Legend    string
}

// Trend is one series drawn: a point per run with its interval, the
// levels between change points, and a dashed line where each starts.
type Trend struct {
	Title    string
	Platform string // the series' colour
	Overhead bool   // Values are overheads (fractions), drawn in percent
	Unit     string
	Runs     []string // the x axis' labels, one per run
	X        []int    // the run of each value
	Values   []float64
	Lo, Hi   []float64
	// Levels are the segments between change points: from run From to
	// run To (exclusive), at Level.
	Levels  []TrendLevel
	Changes []int // the first run of each new level
	Caption string
}

// TrendLevel is one segment of a series between change points.
type TrendLevel struct {
	From, To int
	Level    float64
}

var trendPage = template.Must(template.New("history").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.P.Title}}</title>
<style>
` + pageStyle + `</style></head><body>
<h1>{{.P.Title}}</h1>
{{range .P.Intro}}<p>{{.}}</p>
{{end}}{{.Key}}
{{range .P.Warnings}}<div class="warn"><b>Warning:</b> {{.}}</div>
{{end}}
<h2>Change points</h2>
{{if .P.Rows}}<div class="scroll"><table><tr>{{range .P.Header}}<th>{{.}}</th>{{end}}</tr>
{{range .P.Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></div>{{else}}<p>None: no series moved beyond the smallest change.</p>{{end}}
<p class="small">{{.P.Legend}}</p>
{{range .Charts}}<figure><h2>{{.Title}}</h2>{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}
</body></html>
`))

// TrendHTML renders history.html.
func TrendHTML(w io.Writer, p TrendPage) error {
	plot.DefaultFont = chartFont
	t := Table{}
	for _, name := range p.Platforms {
		t.Platforms = append(t.Platforms, analysis.Column{Name: name})
	}
	var charts []chart
	for _, tr := range p.Trends {
		svg, err := trendChart(tr, t.platformColor(tr.Platform))
		if err != nil {
			return err
		}
		charts = append(charts, chart{Title: tr.Title, SVG: template.HTML(svg), Caption: tr.Caption})
	}
	return trendPage.Execute(w, struct {
		P      TrendPage
		Key    template.HTML
		Charts []chart
	}{p, t.colorKey(), charts})
}

// trendChart draws a series: its values with their intervals, joined,
// the level of each segment in grey and a dashed line at each change.
func trendChart(tr Trend, c color.RGBA) (string, error) {
	y := func(v float64) float64 {
		if tr.Overhead {
			return 100 * v
		}
		return v
	}
	p := plot.New()
	p.X.Label.Text = "run"
	p.Y.Label.Text = tr.Unit
	if tr.Overhead {
		p.Y.Label.Text = "overhead (%)"
	}
	p.X.Tick.Label.Font.Size, p.Y.Tick.Label.Font.Size = vg.Points(8), vg.Points(9)
	p.X.Tick.Marker = runTicks(tr.Runs)
	p.X.Tick.Label.Rotation, p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = math.Pi/4, draw.XRight, draw.YCenter
	lo, hi := math.Inf(1), math.Inf(-1)
	xy, errs := make(plotter.XYs, len(tr.Values)), make(plotter.YErrors, len(tr.Values))
	for i, v := range tr.Values {
		xy[i].X, xy[i].Y = float64(tr.X[i]), y(v)
		l, h := y(v), y(v)
		if !math.IsNaN(tr.Lo[i]) {
			l, h = y(tr.Lo[i]), y(tr.Hi[i])
		}
		errs[i].Low, errs[i].High = xy[i].Y-l, h-xy[i].Y
		lo, hi = math.Min(lo, l), math.Max(hi, h)
	}
	if len(xy) == 0 {
		return "", nil
	}
	for _, l := range tr.Levels {
		seg, err := plotter.NewLine(plotter.XYs{{X: float64(l.From) - 0.4, Y: y(l.Level)}, {X: float64(l.To) - 0.6, Y: y(l.Level)}})
		if err != nil {
			return "", err
		}
		seg.Color, seg.Width = color.RGBA{0x99, 0x99, 0x99, 0xff}, vg.Points(3)
		p.Add(seg)
	}
	line, err := plotter.NewLine(xy)
	if err != nil {
		return "", err
	}
	line.Color, line.Width = c, vg.Points(0.8)
	sc, err := plotter.NewScatter(xy)
	if err != nil {
		return "", err
	}
	sc.Color, sc.Shape, sc.Radius = c, draw.CircleGlyph{}, vg.Points(3)
	eb, err := plotter.NewYErrorBars(struct {
		plotter.XYs
		plotter.YErrors
	}{xy, errs})
	if err != nil {
		return "", err
	}
	eb.Color, eb.CapWidth = c, vg.Points(4)
	p.Add(line, eb, sc)
	pad := math.Max((hi-lo)*0.08, 0.5)
	p.Y.Min, p.Y.Max = lo-pad, hi+pad
	for _, at := range tr.Changes {
		cl, err := plotter.NewLine(plotter.XYs{{X: float64(at) - 0.5, Y: p.Y.Min}, {X: float64(at) - 0.5, Y: p.Y.Max}})
		if err != nil {
			return "", err
		}
		cl.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		cl.Color = color.RGBA{0xD5, 0x5E, 0x00, 0xff}
		p.Add(cl)
	}
	p.X.Min, p.X.Max = -0.6, float64(len(tr.Runs))-0.4
	return svg(p, 9*vg.Inch, 3.2*vg.Inch)
}

// runTicks labels the x axis with the runs, every one where they fit.
type runTicks []string

func (r runTicks) Ticks(lo, hi float64) []plot.Tick {
	step := max(1, len(r)/30)
	var out []plot.Tick
	for i := range r {
		t := plot.Tick{Value: float64(i)}
		if i%step == 0 {
			t.Label = r[i]
		}
		out = append(out, t)
	}
	return out
}

// TrendValue is a series' value as the history pages write it.
func TrendValue(v float64, overhead bool, unit string) string {
	if math.IsNaN(v) {
		return "—"
	}
	if overhead {
		return units.Overhead(v)
	}
	return units.Format(v, unit)
}
