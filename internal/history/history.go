// Package history reads stored runs of one scenario as a history: per
// cell, the series of its overhead (and of each platform's own value) run
// after run, and the change points in it. A regression gate compares one
// run with one baseline and misses a slow creep of small steps; the
// history sees where the level moved, and since which run.
package history

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/report"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/stats"
)

// Key names a series: a workload variant's metric, on a platform, as an
// overhead versus another platform or (Versus "") as its own value.
type Key struct {
	Workload string `json:"workload"`
	Label    string `json:"variant,omitempty"`
	Metric   string `json:"metric"`
	Unit     string `json:"unit"`
	Platform string `json:"platform"`
	Versus   string `json:"versus,omitempty"`
	// Higher: larger values of the metric are better (a value series).
	Higher bool `json:"higher_is_better"`
}

// Overhead says whether the series is a platform's overhead over another.
func (k Key) Overhead() bool { return k.Versus != "" }

// String names the series: "cpu.throughput threads=1: vm vs native".
func (k Key) String() string {
	s := k.Workload + "." + k.Metric
	if k.Label != "" {
		s += " " + k.Label
	}
	if k.Overhead() {
		return s + ": " + k.Platform + " vs " + k.Versus
	}
	return s + " on " + k.Platform
}

// Cell is a series' point in one run: the overhead (a fraction of cost,
// +0.10 = 10% more) or the metric's median, with its interval; NaN
// bounds when the run had too few rounds for one.
type Cell struct {
	Key           Key
	Value, Lo, Hi float64
	Level         float64
	N             int
	Verdict       string // an overhead's verdict in its run
}

// Run is one stored run as the history reads it.
type Run struct {
	ID       string            `json:"run_id"`
	Start    time.Time         `json:"start"`
	Labels   map[string]string `json:"labels,omitempty"`
	Scenario string            `json:"scenario"`
	SHA256   string            `json:"scenario_sha256"`
	Host     string            `json:"host"`
	Cells    []Cell            `json:"-"`
}

// FromTable is a run's cells as its report judged them.
func FromTable(info result.RunInfo, t report.Table) Run {
	r := Run{ID: info.RunID, Start: info.Start, Labels: info.Labels, Scenario: info.Scenario.Name, SHA256: info.Scenario.SHA256, Host: info.Host.Hostname}
	for _, row := range t.Rows {
		if row.Metric == "-" {
			continue
		}
		k := Key{Workload: row.Workload, Label: row.Label, Metric: row.Metric, Unit: row.Unit, Higher: result.Higher(row.Unit, row.Better)}
		for i, c := range row.Cells {
			if len(c.Values) == 0 {
				continue
			}
			k.Platform = t.Platforms[i].Name
			r.Cells = append(r.Cells, Cell{Key: k, Value: c.Summary.Center, Lo: c.Summary.Lo, Hi: c.Summary.Hi, Level: 0.95, N: c.Summary.N})
		}
		for p, j := range row.Versus {
			if j == nil || math.IsNaN(j.Overhead) {
				continue
			}
			k := k
			k.Platform, k.Versus, k.Higher = t.Platforms[t.Pairs[p].X].Name, t.Platforms[t.Pairs[p].Ref].Name, false
			r.Cells = append(r.Cells, Cell{Key: k, Value: j.Overhead, Lo: j.Lo, Hi: j.Hi, Level: j.Level, N: j.N, Verdict: string(j.Verdict)})
		}
	}
	return r
}

// ReadRun reads one stored run's cells.
func ReadRun(dir string) (Run, error) {
	r, err := result.Open(dir)
	if err != nil {
		return Run{}, err
	}
	return FromTable(r.Info, report.Build(r.Info, r.Samples)), nil
}

// ReadResults reads every run under the results directories. A directory
// that is not a run (no run.json) is passed over; a run that does not read
// is an error naming it.
func ReadResults(dirs []string) ([]Run, error) {
	var runs []Run
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue // the latest link, files
			}
			dir := filepath.Join(d, e.Name())
			if _, err := os.Lstat(filepath.Join(dir, result.RunFile)); err != nil {
				continue
			}
			r, err := ReadRun(dir)
			if err != nil {
				return nil, fmt.Errorf("run %s does not read: %w (move it out of %s, or repair it)", dir, err, d)
			}
			runs = append(runs, r)
		}
	}
	return runs, nil
}

// Options choose and order the runs of a history.
type Options struct {
	// Scenario is the scenario's name, needed when the runs hold several.
	Scenario string
	// Labels keep the runs whose labels have these values.
	Labels map[string]string
	// Order is the label whose values order the runs (as numbers when all
	// are, else as text); "": by start time.
	Order  string
	Search Search
}

// History is the series of the cells of one scenario's runs.
type History struct {
	Scenario string `json:"scenario"`
	Runs     []Run  `json:"runs"`
	// Changed are the indices of the runs whose scenario file differs
	// (by sha256) from the run before.
	Changed []int    `json:"scenario_changed_at,omitempty"`
	Series  []Series `json:"series"`
	Search  Search   `json:"search"`
}

// Series is one cell's values run after run, and its change points.
type Series struct {
	Key     Key      `json:"key"`
	Points  []Point  `json:"points"`
	Changes []Change `json:"changes"`
}

// Point is the series' value in a run (an index into History.Runs).
type Point struct {
	Run     int     `json:"run"`
	Value   float64 `json:"value"`
	Lo      float64 `json:"lo"`
	Hi      float64 `json:"hi"`
	Verdict string  `json:"verdict,omitempty"`
}

// Change is a change point: the level of the series moved at run At.
type Change struct {
	At int `json:"run"` // the first run of the new level (History.Runs)
	// Magnitude is the change of the level as a ratio less one (+0.03:
	// 3% more), Lo and Hi its 95% interval; Before and After the levels
	// on either side, up to the neighbouring change points.
	Magnitude float64 `json:"magnitude"`
	Lo        float64 `json:"lo"`
	Hi        float64 `json:"hi"`
	Before    float64 `json:"before"`
	After     float64 `json:"after"`
	// Worse: the change costs more (an overhead up, a rate down).
	Worse bool `json:"worse"`
}

// Analyze chooses and orders the runs, builds every series and finds its
// change points. Runs of different scenarios are never mixed: with more
// than one among them, Options.Scenario must name one.
func Analyze(runs []Run, o Options) (History, error) {
	var kept []Run
	for _, r := range runs {
		if matches(r.Labels, o.Labels) {
			kept = append(kept, r)
		}
	}
	if len(kept) == 0 {
		if len(runs) == 0 {
			return History{}, errors.New("no stored runs")
		}
		return History{}, fmt.Errorf("none of the %d runs has the labels %s", len(runs), labelText(o.Labels))
	}
	byName := map[string]int{}
	for _, r := range kept {
		byName[r.Scenario]++
	}
	name := o.Scenario
	if name == "" && len(byName) > 1 {
		var s []string
		for _, n := range slices.Sorted(maps.Keys(byName)) {
			s = append(s, fmt.Sprintf("%s (%d runs)", n, byName[n]))
		}
		return History{}, fmt.Errorf("the runs are of %d scenarios, %s: name one with --scenario", len(byName), strings.Join(s, ", "))
	}
	if name == "" {
		name = kept[0].Scenario
	}
	if byName[name] == 0 {
		return History{}, fmt.Errorf("no run of scenario %q among the %d runs", name, len(kept))
	}
	kept = slices.DeleteFunc(kept, func(r Run) bool { return r.Scenario != name })
	if err := order(kept, o.Order); err != nil {
		return History{}, err
	}
	h := History{Scenario: name, Runs: kept, Search: o.Search}
	for i := 1; i < len(kept); i++ {
		if kept[i].SHA256 != kept[i-1].SHA256 {
			h.Changed = append(h.Changed, i)
		}
	}
	at := map[Key]int{}
	for i, r := range kept {
		for _, c := range r.Cells {
			j, ok := at[c.Key]
			if !ok {
				j = len(h.Series)
				at[c.Key] = j
				h.Series = append(h.Series, Series{Key: c.Key})
			}
			h.Series[j].Points = append(h.Series[j].Points, Point{Run: i, Value: c.Value, Lo: c.Lo, Hi: c.Hi, Verdict: c.Verdict})
		}
	}
	for i := range h.Series {
		h.Series[i].Changes = o.Search.changes(h.Series[i])
	}
	return h, nil
}

func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func labelText(l map[string]string) string {
	var s []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		s = append(s, k+"="+l[k])
	}
	return strings.Join(s, ",")
}

// order sorts the runs by start time, or by a label's value.
func order(runs []Run, label string) error {
	if label == "" {
		slices.SortStableFunc(runs, func(a, b Run) int { return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.ID, b.ID)) })
		return nil
	}
	numeric := true
	for _, r := range runs {
		v, ok := r.Labels[label]
		if !ok {
			return fmt.Errorf("run %s has no label %s to order by: give every run one (vmbench run --label %s=…), or order by time", r.ID, label, label)
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			numeric = false
		}
	}
	slices.SortStableFunc(runs, func(a, b Run) int {
		x, y := a.Labels[label], b.Labels[label]
		if numeric {
			fx, _ := strconv.ParseFloat(x, 64)
			fy, _ := strconv.ParseFloat(y, 64)
			return cmp.Or(cmp.Compare(fx, fy), a.Start.Compare(b.Start))
		}
		return cmp.Or(strings.Compare(x, y), a.Start.Compare(b.Start))
	})
	return nil
}

// logs is the series on a log scale, with the index of each point kept:
// values that cannot be logged (none, zero, negative) are left out.
func (s Series) logs() (z []float64, idx []int) {
	for i, p := range s.Points {
		v := p.Value
		if s.Key.Overhead() {
			v = 1 + v // the cost ratio
		}
		if v > 0 && !math.IsInf(v, 0) {
			z, idx = append(z, math.Log(v)), append(idx, i)
		}
	}
	return z, idx
}

// changes finds the series' change points and sizes them; those smaller
// than MinChange are merged away, the smallest first.
func (s Search) changes(ser Series) []Change {
	z, idx := ser.logs()
	cps := s.Split(z)
	for {
		cs := measure(z, cps, ser.Key)
		small := -1
		for i, c := range cs {
			if math.Abs(c.Magnitude) < s.MinChange && (small < 0 || math.Abs(c.Magnitude) < math.Abs(cs[small].Magnitude)) {
				small = i
			}
		}
		if small < 0 {
			for i := range cs {
				cs[i].At = ser.Points[idx[cs[i].At]].Run
			}
			return cs
		}
		cps = slices.Delete(cps, small, small+1)
	}
}

// measure sizes each change point of z against its neighbours.
func measure(z []float64, cps []int, k Key) []Change {
	var out []Change
	for i, cp := range cps {
		from, to := 0, len(z)
		if i > 0 {
			from = cps[i-1]
		}
		if i+1 < len(cps) {
			to = cps[i+1]
		}
		c := Shift(z[from:cp], z[cp:to])
		c.At = cp
		c.Worse = c.Magnitude > 0
		if !k.Overhead() {
			c.Before, c.After = math.Exp(mean(z[from:cp])), math.Exp(mean(z[cp:to]))
			c.Worse = c.Magnitude > 0 != k.Higher
		}
		out = append(out, c)
	}
	return out
}

// Shift is the change from the level of before to that of after (both on
// a log scale) as a ratio less one, with Welch's 95% interval.
func Shift(before, after []float64) Change {
	mb, ma := mean(before), mean(after)
	c := Change{Magnitude: math.Expm1(ma - mb), Lo: math.NaN(), Hi: math.NaN(), Before: math.Expm1(mb), After: math.Expm1(ma)}
	nb, na := float64(len(before)), float64(len(after))
	if nb < 2 || na < 2 {
		return c
	}
	vb, va := variance(before, mb)/nb, variance(after, ma)/na
	se := math.Sqrt(vb + va)
	if se == 0 {
		c.Lo, c.Hi = c.Magnitude, c.Magnitude
		return c
	}
	df := (vb + va) * (vb + va) / (vb*vb/(nb-1) + va*va/(na-1))
	t := stats.TQuantile(0.975, df)
	c.Lo, c.Hi = math.Expm1(ma-mb-t*se), math.Expm1(ma-mb+t*se)
	return c
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func variance(x []float64, m float64) float64 {
	s := 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return s / float64(len(x)-1)
}

// Persistent is the step in the series that began within the last n
// runs of the history and still holds at its end: from the level before
// the first change point among those runs to the level after the last
// change point, with its interval. ok is false when no change point falls
// within the last n runs.
func (h History) Persistent(s Series, n int) (c Change, ok bool) {
	z, idx := s.logs()
	pos := func(run int) int { // the first point at or after the run
		i, _ := slices.BinarySearchFunc(idx, run, func(j, run int) int { return cmp.Compare(s.Points[j].Run, run) })
		return i
	}
	first := slices.IndexFunc(s.Changes, func(c Change) bool { return c.At >= len(h.Runs)-n })
	if first < 0 {
		return Change{}, false
	}
	from := 0
	if first > 0 {
		from = pos(s.Changes[first-1].At)
	}
	at, last := pos(s.Changes[first].At), pos(s.Changes[len(s.Changes)-1].At)
	c = Shift(z[from:at], z[last:])
	c.At = s.Changes[first].At
	c.Worse = c.Magnitude > 0
	if !s.Key.Overhead() {
		c.Worse = c.Magnitude > 0 != s.Key.Higher
	}
	return c, true
}
