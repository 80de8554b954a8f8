package history

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/vmbench/vmbench/internal/report"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/untrusted"
)

// Schema names the layout of vmbench history --json.
const Schema = "vmbench.history/v1"

// RunName is how the pages name a run: its place, and the label it is
// ordered by or its id.
func (h History) RunName(i int, order string) string {
	r := h.Runs[i]
	if v, ok := r.Labels[order]; ok {
		return fmt.Sprintf("#%d %s=%s", i+1, order, v)
	}
	return fmt.Sprintf("#%d %s", i+1, r.ID)
}

// around is what changed in the labels from the run before a change
// point to the run it starts at: "commit=c07→c08".
func (h History) around(at int) string {
	if at == 0 {
		return ""
	}
	a, b := h.Runs[at-1].Labels, h.Runs[at].Labels
	var out []string
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if a[k] != b[k] {
			out = append(out, fmt.Sprintf("%s=%s→%s", k, a[k], b[k]))
		}
	}
	return strings.Join(out, " ")
}

func (s Search) describe() string {
	return fmt.Sprintf("E-Divisive means; each split significant at %s by up to %d permutations; changes under %s merged away; at least %d runs a level",
		stats.LevelText(s.Alpha), s.Permutations, strings.TrimPrefix(units.Overhead(s.MinChange), "+"), s.MinSize)
}

// warnings are what a reader must know before reading a change point.
func (h History) warnings() []string {
	var out []string
	for _, i := range h.Changed {
		out = append(out, fmt.Sprintf("the scenario file changed at run %s: its sha256 is %.12s, the run before's %.12s; a change point there may be the scenario's, not the system's", h.RunName(i, ""), h.Runs[i].SHA256, h.Runs[i-1].SHA256))
	}
	hosts := map[string]bool{}
	for _, r := range h.Runs {
		hosts[r.Host] = true
	}
	if len(hosts) > 1 {
		out = append(out, fmt.Sprintf("the runs come from %d hosts (%s): filter by a label to compare one host with itself", len(hosts), strings.Join(slices.Sorted(maps.Keys(hosts)), ", ")))
	}
	return out
}

// changeRows are the change points as table rows, overheads first.
func (h History) changeRows(order string) [][]string {
	var rows [][]string
	for _, overhead := range []bool{true, false} {
		for _, s := range h.Series {
			if s.Key.Overhead() != overhead {
				continue
			}
			for _, c := range s.Changes {
				way := "better"
				if c.Worse {
					way = "worse"
				}
				rows = append(rows, []string{
					s.Key.String(), h.RunName(c.At, order),
					fmt.Sprintf("%s [%s, %s]", units.Overhead(c.Magnitude), ratio(c.Lo), ratio(c.Hi)),
					fmt.Sprintf("%s → %s", report.TrendValue(c.Before, s.Key.Overhead(), s.Key.Unit), report.TrendValue(c.After, s.Key.Overhead(), s.Key.Unit)),
					way, h.around(c.At),
				})
			}
		}
	}
	return rows
}

func ratio(f float64) string {
	if math.IsNaN(f) {
		return "—"
	}
	return units.Overhead(f)
}

var changeHeader = []string{"series", "from run", "change [95%]", "level", "", "labels"}

// Text renders the history for a terminal.
func Text(w io.Writer, h History, order string) error {
	first, last := h.Runs[0], h.Runs[len(h.Runs)-1]
	// Names, labels and units come from stored runs: on one line each,
	// without a terminal's control characters.
	fmt.Fprintf(w, "History of scenario %s: %d runs, %s (%s) to %s (%s)\n", untrusted.Line(h.Scenario), len(h.Runs),
		first.ID, first.Start.UTC().Format("2006-01-02 15:04"), last.ID, last.Start.UTC().Format("2006-01-02 15:04"))
	for _, s := range h.warnings() {
		fmt.Fprintf(w, "warning: %s\n", untrusted.Line(s))
	}
	rows := h.changeRows(order)
	with := 0
	for _, s := range h.Series {
		if len(s.Changes) > 0 {
			with++
		}
	}
	fmt.Fprintf(w, "%d series, %d with change points (%s)\n", len(h.Series), with, h.Search.describe())
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "No change points.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(changeHeader, "\t"))
	for _, r := range rows {
		for i := range r {
			r[i] = untrusted.Line(r[i])
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// JSON writes the history as one document (schema vmbench.history/v1).
func JSON(w io.Writer, h History) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(struct {
		Schema string `json:"schema"`
		History
	}{Schema, h})
}

// MarshalJSON writes NaN (no interval) as null.
func (p Point) MarshalJSON() ([]byte, error) {
	type point Point
	return json.Marshal(struct {
		point
		Lo *float64 `json:"lo"`
		Hi *float64 `json:"hi"`
	}{point(p), num(p.Lo), num(p.Hi)})
}

// MarshalJSON writes NaN (no interval) as null.
func (c Change) MarshalJSON() ([]byte, error) {
	type change Change
	return json.Marshal(struct {
		change
		Lo *float64 `json:"lo"`
		Hi *float64 `json:"hi"`
	}{change(c), num(c.Lo), num(c.Hi)})
}

func num(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// HTML renders history.html: the change points, then a chart per
// overhead series and per value series that moved.
func HTML(w io.Writer, h History, order string) error {
	p := report.TrendPage{
		Title:    "vmbench history: " + h.Scenario,
		Warnings: h.warnings(),
		Header:   changeHeader,
		Rows:     h.changeRows(order),
		Legend:   "Change points: " + h.Search.describe() + ". The change is the level after over the level before (between the neighbouring change points), with Welch's 95% interval.",
	}
	first, last := h.Runs[0], h.Runs[len(h.Runs)-1]
	p.Intro = append(p.Intro, fmt.Sprintf("%d runs of scenario %s, from %s (%s) to %s (%s).", len(h.Runs), h.Scenario,
		first.ID, first.Start.UTC().Format("2006-01-02 15:04"), last.ID, last.Start.UTC().Format("2006-01-02 15:04")))
	var runs []string
	for i := range h.Runs {
		runs = append(runs, strings.TrimPrefix(h.RunName(i, order), fmt.Sprintf("#%d ", i+1)))
	}
	for _, overhead := range []bool{true, false} {
		for _, s := range h.Series {
			if s.Key.Overhead() != overhead || !overhead && len(s.Changes) == 0 || len(s.Points) < 2 {
				continue
			}
			p.Platforms = appendNew(p.Platforms, s.Key.Versus, s.Key.Platform)
			p.Trends = append(p.Trends, trend(s, runs))
		}
	}
	return report.TrendHTML(w, p)
}

func appendNew(list []string, names ...string) []string {
	for _, n := range names {
		if n != "" && !slices.Contains(list, n) {
			list = append(list, n)
		}
	}
	return list
}

// trend is a series as history.html draws it.
func trend(s Series, runs []string) report.Trend {
	t := report.Trend{Title: s.Key.String(), Platform: s.Key.Platform, Overhead: s.Key.Overhead(), Unit: s.Key.Unit, Runs: runs}
	for _, p := range s.Points {
		t.X = append(t.X, p.Run)
		t.Values, t.Lo, t.Hi = append(t.Values, p.Value), append(t.Lo, p.Lo), append(t.Hi, p.Hi)
	}
	z, idx := s.logs()
	bounds := []int{0}
	for _, c := range s.Changes {
		t.Changes = append(t.Changes, c.At)
		bounds = append(bounds, slices.IndexFunc(idx, func(j int) bool { return s.Points[j].Run >= c.At }))
	}
	bounds = append(bounds, len(z))
	for i := 0; i+1 < len(bounds); i++ {
		a, b := bounds[i], bounds[i+1]
		if b <= a {
			continue
		}
		level := math.Exp(mean(z[a:b]))
		if s.Key.Overhead() {
			level--
		}
		t.Levels = append(t.Levels, report.TrendLevel{From: s.Points[idx[a]].Run, To: s.Points[idx[b-1]].Run + 1, Level: level})
	}
	caption := "A point per run: the overhead with its interval at the run's level"
	if !s.Key.Overhead() {
		caption = "A point per run: the median with its 95% interval"
	}
	t.Caption = caption + "; grey: the level between change points; dashed: where a new level starts."
	return t
}
