package report

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/capacity"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/untrusted"
)

// CSV writes every sample, one row per metric (a failed trial is one row
// with its error), for spreadsheets and data frames.
func CSV(w io.Writer, samples []result.Sample) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"run_id", "workload", "type", "variant", "platform", "trial", "warmup", "start", "duration_s", "metric", "unit", "value", "conditions", "error"})
	for _, s := range samples {
		// Text cells from a scenario, a workload or a stored run are kept
		// from reading as a spreadsheet's formulas; numbers stay numbers.
		c := untrusted.CSVCell
		base := []string{c(s.RunID), c(s.Workload), c(s.Type), c(s.Label), c(s.Platform), strconv.Itoa(s.Trial), strconv.FormatBool(s.Warmup),
			s.Start.UTC().Format(time.RFC3339Nano), strconv.FormatFloat(s.Duration, 'g', -1, 64)}
		conds, errText := c(kv(s.Conditions, ";")), c(s.Error)
		if len(s.Metrics) == 0 {
			cw.Write(append(base, "", "", "", conds, errText))
		}
		for _, m := range s.Metrics {
			cw.Write(append(slices.Clone(base), c(m.Name), c(m.Unit), strconv.FormatFloat(m.Value, 'g', -1, 64), conds, errText))
		}
	}
	cw.Flush()
	return cw.Error()
}

// Benchfmt writes the measured trials in the Go benchmark format with
// golang.org/x/perf/benchfmt: one line per trial, its workload variant and
// platform in the name (platform=… a key, so that `benchstat -col /platform
// bench.txt` compares platforms), and each metric in a unit of its own,
// <metric>-<unit> with its better direction, so that benchstat, which makes
// one table per unit, makes one per metric. The run's labels are file
// configuration lines (`benchstat -col commit` compares runs by label).
func Benchfmt(w io.Writer, info result.RunInfo, samples []result.Sample) error {
	bw := benchfmt.NewWriter(w)
	units := map[string]bool{}
	for _, s := range samples {
		for _, m := range s.Metrics {
			units[benchUnit(m)] = result.Higher(m.Unit, m.Better)
		}
	}
	for _, u := range slices.Sorted(maps.Keys(units)) {
		better := "lower"
		if units[u] {
			better = "higher"
		}
		for _, kv := range [][2]string{{"better", better}, {"assume", "nothing"}} {
			if err := bw.Write(&benchfmt.UnitMetadata{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: u, Key: kv[0]}, OrigUnit: u, Value: kv[1]}); err != nil {
				return err
			}
		}
	}
	var res benchfmt.Result
	for _, kv := range [][2]string{{"goos", "linux"}, {"goarch", "amd64"}, {"cpu", info.Host.CPUModel},
		{"vmbench-run", info.RunID}, {"vmbench-scenario", info.Scenario.Name}} {
		res.Config = append(res.Config, benchfmt.Config{Key: kv[0], Value: []byte(kv[1]), File: true})
	}
	for _, k := range slices.Sorted(maps.Keys(info.Labels)) { // benchstat -col commit
		res.Config = append(res.Config, benchfmt.Config{Key: k, Value: []byte(info.Labels[k]), File: true})
	}
	// benchstat takes the first column it meets as the base: baseline first,
	// then the platforms in run order.
	rank := map[string]int{info.Baseline: -1}
	for i, p := range info.Platforms {
		if p.Name != info.Baseline {
			rank[p.Name] = i
		}
	}
	samples = slices.Clone(samples)
	slices.SortStableFunc(samples, func(a, b result.Sample) int { return rank[a.Platform] - rank[b.Platform] })
	for _, s := range samples {
		if s.Warmup || s.Error != "" || len(s.Metrics) == 0 {
			continue
		}
		name := title(s.Workload)
		for _, part := range strings.Fields(s.Label) {
			name += "/" + clean(part)
		}
		res.Name = benchfmt.Name(name + "/platform=" + clean(s.Platform))
		res.Iters = 1
		res.Values = res.Values[:0]
		for _, m := range s.Metrics {
			res.Values = append(res.Values, benchfmt.Value{Value: m.Value, Unit: benchUnit(m)})
		}
		if err := bw.Write(&res); err != nil {
			return err
		}
	}
	return nil
}

// benchUnit is a metric's unit in bench.txt: <metric>-<unit>, seconds
// named "sec" as benchstat names them (host_cpu-sec, throughput-B/s).
func benchUnit(m result.Metric) string {
	u := m.Unit
	if u == "s" {
		u = "sec"
	}
	return clean(m.Name) + "-" + u
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + clean(s[1:])
}

// clean keeps a name part free of what the benchmark format splits on.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '/' || r == '\t' {
			return '_'
		}
		return r
	}, s)
}

func kv(m map[string]string, sep string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, sep)
}

// verdict is a comparison in report.json.
type verdict struct {
	Platform     string        `json:"platform"`
	Versus       string        `json:"versus"`
	Verdict      stats.Verdict `json:"verdict"`
	Text         string        `json:"text"`
	Overhead     *float64      `json:"overhead,omitempty"`
	Lo           *float64      `json:"lo,omitempty"`
	Hi           *float64      `json:"hi,omitempty"`
	Paired       bool          `json:"paired"`
	N            int           `json:"n"`
	Margin       float64       `json:"margin"`
	BeyondMargin bool          `json:"beyond_margin,omitempty"`
	MoreRounds   int           `json:"more_rounds,omitempty"`
}

func (t Table) verdictJSON(p analysis.Pair, j *analysis.Judged) verdict {
	v := verdict{Platform: t.Platforms[p.X].Name, Verdict: j.Verdict, Text: judgedText(*j), Overhead: units.Finite(j.Overhead), Lo: units.Finite(j.Lo), Hi: units.Finite(j.Hi),
		Paired: j.Paired, N: j.N, Margin: j.Margin, BeyondMargin: j.BeyondMargin, MoreRounds: j.More}
	if p.Ref >= 0 {
		v.Versus = t.Platforms[p.Ref].Name
	}
	return v
}

// ReportSchema names the shape of report.json (results/README.md documents
// it); it changes when a field changes meaning or goes.
const ReportSchema = "vmbench.report/v2"

// JSON writes the summarised table: what report.md shows, as numbers. Kind
// is "run" for a run's table, "compare" for two runs' (where the platforms
// are each run's platforms, "A"/"B" in the names, and the comparisons are
// B versus A).
func JSON(w io.Writer, t Table) error {
	type cell struct {
		Platform string   `json:"platform"`
		N        int      `json:"n"`
		Failed   int      `json:"failed,omitempty"`
		Median   *float64 `json:"median,omitempty"`
		Lo       *float64 `json:"ci_lo,omitempty"`
		Hi       *float64 `json:"ci_hi,omitempty"`
		CV       *float64 `json:"cv,omitempty"`
		Overhead *verdict `json:"overhead,omitempty"` // vs the baseline platform
	}
	type row struct {
		Workload string            `json:"workload"`
		Variant  string            `json:"variant"`
		Params   map[string]string `json:"params"` // the parameters that make the variant
		Metric   string            `json:"metric"`
		Unit     string            `json:"unit"`
		Better   string            `json:"better"` // higher or lower
		Resource string            `json:"resource,omitempty"`
		Cells    []cell            `json:"cells"`
		Versus   []verdict         `json:"comparisons,omitempty"`
	}
	type finding struct {
		Resource string `json:"resource"`
		verdict
		Cells   map[stats.Verdict]int `json:"cells"`
		Where   string                `json:"decided_by"`
		Warning string                `json:"warning,omitempty"`
	}
	out := struct {
		Schema    string            `json:"schema"`
		Kind      string            `json:"kind"`
		RunID     string            `json:"run_id"`
		Scenario  string            `json:"scenario"`
		Baseline  string            `json:"baseline"`
		Platforms []analysis.Column `json:"platforms"`
		Banners   []string          `json:"banners,omitempty"`
		Notes     []string          `json:"notes,omitempty"`
		Level     float64           `json:"level"`
		Margin    float64           `json:"negligible"`
		Summary   []finding         `json:"summary,omitempty"`
		Rows      []row             `json:"rows"`
		Density   *density          `json:"density,omitempty"`
	}{Schema: ReportSchema, Kind: t.kind(), RunID: t.RunID, Scenario: t.Scenario, Baseline: t.Baseline, Platforms: t.Platforms, Banners: t.Banners, Notes: t.Notes, Level: t.Confidence, Margin: t.Analysis.Negligible}
	for _, f := range t.Summary {
		jf := finding{Resource: f.Resource, Cells: f.Count, Where: t.decidedBy(f), Warning: t.hardwareWarning(f)}
		if f.Worst != nil {
			jf.verdict = t.verdictJSON(f.Pair, f.Worst)
		} else { // every trial failed on a side of its cells
			jf.verdict = verdict{Platform: t.Platforms[f.Pair.X].Name, Versus: t.Platforms[f.Pair.Ref].Name, Verdict: f.Verdict, Text: t.findingShort(f)}
		}
		out.Summary = append(out.Summary, jf)
	}
	for _, r := range t.Rows {
		jr := row{Workload: r.Workload, Variant: r.Label, Params: labelParams(r.Label), Metric: r.Metric, Unit: r.Unit, Better: better(r), Resource: r.Resource}
		for pi, j := range r.Versus {
			if j != nil {
				jr.Versus = append(jr.Versus, t.verdictJSON(t.Pairs[pi], j))
			}
		}
		for i, c := range r.Cells {
			jc := cell{Platform: t.Platforms[i].Name, N: c.Summary.N, Failed: c.Failed}
			if c.Summary.N > 0 {
				jc.Median, jc.Lo, jc.Hi, jc.CV = units.Finite(c.Summary.Center), units.Finite(c.Summary.Lo), units.Finite(c.Summary.Hi), units.Finite(c.Summary.CV)
			}
			if d := c.Delta; d != nil {
				v := t.verdictJSON(analysis.Pair{X: i, Ref: slices.IndexFunc(t.Platforms, func(p analysis.Column) bool { return p.Name == t.Baseline })}, d)
				jc.Overhead = &v
			}
			jr.Cells = append(jr.Cells, jc)
		}
		out.Rows = append(out.Rows, jr)
	}
	out.Density = t.densityJSON()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// density is a density sweep in report.json: each platform's levels and
// its capacity on the run's host, as vmbench capacity computes it (which
// adds the hosts a fleet needs).
type density struct {
	HostCores  int               `json:"host_cores"`
	HostMemory *float64          `json:"host_memory_bytes"` // for instances: MemAvailable less the guard
	Platforms  []densityPlatform `json:"platforms"`
}

type densityPlatform struct {
	Name   string              `json:"name"`
	Type   string              `json:"type"`
	Accel  string              `json:"accel,omitempty"`
	Levels []capacity.LevelDoc `json:"levels"`
	// HostUnits are the units of the levels' host metrics.
	HostUnits map[string]string   `json:"host_units"`
	Capacity  *capacity.ResultDoc `json:"capacity"` // null when the scenario could not be loaded to judge the SLO
}

func (t Table) densityJSON() *density {
	if len(t.Density) == 0 {
		return nil
	}
	d := &density{HostCores: t.Capacity.Host.Cores, HostMemory: units.Finite(t.Capacity.Host.Memory), Platforms: []densityPlatform{}}
	for _, p := range t.Density {
		dp := densityPlatform{Name: p.Name, Type: p.Type, Accel: p.Accel, Levels: []capacity.LevelDoc{}, HostUnits: p.HostUnits}
		for _, l := range p.Levels {
			dp.Levels = append(dp.Levels, l.Doc())
		}
		for _, c := range t.Capacity.Results {
			if c.Platform.Name == p.Name {
				doc := c.Doc()
				dp.Capacity = &doc
			}
		}
		d.Platforms = append(d.Platforms, dp)
	}
	return d
}

// labelParams reads a variant's label ("threads=2 duration=1s") back into
// its parameters.
func labelParams(label string) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Fields(label) {
		if k, v, ok := strings.Cut(f, "="); ok {
			out[k] = v
		}
	}
	return out
}

// better is which way the row's metric is better: "higher" or "lower".
func better(r analysis.Row) string {
	if r.Higher() {
		return "higher"
	}
	return "lower"
}

func (t Table) kind() string {
	if t.Compared {
		return "compare"
	}
	return "run"
}
