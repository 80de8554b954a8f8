package gate

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"

	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/untrusted"
)

// Summary is the outcome in one line: "FAIL: 1 failed, 5 passed, 1 inconclusive".
func (r Report) Summary() string {
	verdict := "PASS"
	switch {
	case r.Failed():
		verdict = "FAIL"
	case r.Empty():
		verdict = "NOTHING CHECKED"
	}
	parts := []string{fmt.Sprintf("%d failed", r.Count(Fail)), fmt.Sprintf("%d passed", r.Count(Pass))}
	if n := r.Count(Error); n > 0 {
		parts = append(parts, fmt.Sprintf("%d error", n))
	}
	if n := r.Count(Inconclusive); n > 0 {
		parts = append(parts, fmt.Sprintf("%d inconclusive", n))
	}
	if n := r.Count(Skipped); n > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", n))
	}
	return verdict + ": " + strings.Join(parts, ", ")
}

// measured is a check's numbers in short: "+12.3% [+10.1, +14.0] at 95%".
func (c Check) measured() string {
	if math.IsNaN(c.Value) {
		return "—"
	}
	var s string
	if c.Kind == scenario.PerHost {
		return fmt.Sprintf("%g per host [%g, %g]", c.Value, c.Lo, c.Hi)
	}
	if c.Kind == scenario.Absolute {
		s = units.Format(c.Value, c.Unit)
		if !math.IsNaN(c.Lo) {
			s += fmt.Sprintf(" [%s, %s]", units.Format(c.Lo, c.Unit), units.Format(c.Hi, c.Unit))
		}
	} else {
		s = pct(c.Value)
		if !math.IsNaN(c.Lo) {
			s += fmt.Sprintf(" [%s, %s] at %s", pct(c.Lo), pct(c.Hi), stats.LevelText(c.Level))
		}
	}
	return s
}

// bound is a check's rule in short: "≤ 2ms", "≤ +10% vs native".
func (c Check) bound() string {
	switch c.Kind {
	case scenario.Absolute:
		op := "≥"
		if c.Upper {
			op = "≤"
		}
		return op + " " + units.Format(c.Bound, c.Unit)
	case scenario.Relative:
		if c.AtLeast {
			return fmt.Sprintf("≥ %s vs %s", pct(c.Bound), c.Against)
		}
		return fmt.Sprintf("≤ %s vs %s", pct(c.Bound), c.Against)
	case scenario.Equivalence:
		return fmt.Sprintf("within ±%s vs %s", strings.TrimPrefix(pct(c.Bound), "+"), c.Against)
	case scenario.PerHost:
		return fmt.Sprintf("≥ %g per host", c.Bound)
	case scenario.DensityLoss:
		return fmt.Sprintf("density loss ≤ %s vs %s", pct(c.Bound), c.Against)
	case History:
		return fmt.Sprintf("persistent change ≤ %s vs %s over the last %d runs", pct(c.Bound), c.Against, c.Window)
	}
	return fmt.Sprintf("≤ %s vs baseline", pct(c.Bound))
}

// what names the cell of a check: "cpu.throughput threads=1 on vm".
func (c Check) what() string {
	if c.Workload == "" {
		return "capacity on " + c.Platform
	}
	s := c.Workload + "." + c.Metric
	if c.Label != "" {
		s += " " + c.Label
	}
	return s + " on " + c.Platform
}

func (r Report) header() string {
	s := fmt.Sprintf("vmbench gates for run %s", r.RunID)
	if r.Baseline != "" {
		s += fmt.Sprintf(", baseline run %s", r.Baseline)
	}
	return s
}

var columns = []string{"verdict", "gate", "variant", "platform", "measured", "bound"}

func (c Check) record() []string {
	return []string{string(c.Status), c.Gate, c.Label, c.Platform, c.measured(), c.bound()}
}

// Text renders the verdicts for a terminal: a table, then why each check
// that did not pass did not.
func Text(w io.Writer, r Report) error {
	fmt.Fprintln(w, r.header())
	for _, s := range r.Warnings {
		fmt.Fprintf(w, "!! %s\n", untrusted.Line(s))
	}
	tw := tablewriter.NewWriter(w)
	tw.SetHeader(columns)
	tw.SetAutoFormatHeaders(false)
	tw.SetAutoWrapText(false)
	tw.SetAlignment(tablewriter.ALIGN_LEFT)
	for _, c := range r.Checks {
		rec := c.record()
		for i := range rec {
			rec[i] = untrusted.Line(rec[i])
		}
		tw.Append(rec)
	}
	tw.Render()
	for _, c := range r.Checks {
		if c.Status != Pass {
			fmt.Fprintf(w, "%s %s (%s): %s\n", c.Status, untrusted.Line(c.what()), c.Path, untrusted.Line(c.Reason))
		}
	}
	fmt.Fprintln(w, r.Summary())
	return nil
}

// Markdown renders the verdicts for a pull-request comment.
func Markdown(w io.Writer, r Report) error {
	icon := "✅"
	if r.Failed() {
		icon = "❌"
	}
	fmt.Fprintf(w, "## %s vmbench gates — %s\n\n", icon, r.Summary())
	fmt.Fprintf(w, "%s.\n\n", strings.TrimPrefix(r.header(), "vmbench gates for "))
	for _, s := range r.Warnings {
		fmt.Fprintf(w, "> **Warning:** %s\n\n", untrusted.Markdown(s))
	}
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(columns, " | "), strings.Repeat(" --- |", len(columns)))
	for _, c := range r.Checks {
		rec := c.record()
		for i := range rec {
			rec[i] = untrusted.Markdown(rec[i])
		}
		if c.Status == Fail || c.Status == Error {
			rec[0] = "**" + string(c.Status) + "**"
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(rec, " | "))
	}
	var why []string
	for _, c := range r.Checks {
		if c.Status != Pass {
			why = append(why, fmt.Sprintf("- **%s** %s (%s): %s", c.Status, untrusted.CodeSpan(c.what()), untrusted.Markdown(c.Path), untrusted.Markdown(c.Reason)))
		}
	}
	if len(why) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(why, "\n"))
	}
	fmt.Fprintln(w, "\nRelative, negligible and regression values are the extra cost per unit of work, with their interval at the level shown (95%, or 1 − alpha, split over the looks at the data). A gate passes only when its whole interval keeps the bound and fails only when its whole interval breaks it; inconclusive means the interval straddles the bound.")
	return nil
}

// JUnit XML as Jenkins's schema (junit-10.xsd) has it, which GitLab and
// GitHub's reporters read too: one test case per check, named by the gate
// and what it judged.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Time     string       `xml:"time,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Hostname  string      `xml:"hostname,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// JUnit renders the verdicts as JUnit XML. A failed check is a failure, its
// reason the message and its numbers the body; an inconclusive or skipped
// one is a skipped test case, so that it shows; a passed one says why in
// its system-out. The checks take no time of their own: the suite's time
// is the run's.
func JUnit(w io.Writer, r Report) error {
	seconds := strconv.FormatFloat(r.Seconds, 'f', 3, 64)
	suite := junitSuite{Name: "vmbench gates " + r.RunID, Time: seconds, Hostname: r.Hostname}
	if !r.Start.IsZero() {
		suite.Timestamp = r.Start.UTC().Format("2006-01-02T15:04:05")
	}
	for _, c := range r.Checks {
		tc := junitCase{Name: c.Gate + ": " + c.what(), Classname: "vmbench.gates." + c.Gate, Time: "0"}
		switch c.Status {
		case Fail:
			tc.Failure = &junitMessage{Message: c.Reason, Type: c.Kind, Text: fmt.Sprintf("measured %s, bound %s", c.measured(), c.bound())}
			suite.Failures++
		case Error:
			tc.Error = &junitMessage{Message: c.Reason, Type: c.Kind}
			suite.Errors++
		case Inconclusive, Skipped:
			tc.Skipped = &junitMessage{Message: string(c.Status) + ": " + c.Reason}
			suite.Skipped++
		default:
			tc.SystemOut = c.Reason
		}
		suite.Cases = append(suite.Cases, tc)
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{Name: "vmbench", Time: seconds, Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// GatesSchema names the shape of gates.json (results/README.md documents it).
const GatesSchema = "vmbench.gates/v1"

// ReadVerdict reads the verdict (pass, fail, inconclusive) and the count of
// failed gates from a run's gates.json; ok is false when the run was not
// gated or its gates.json is not of GatesSchema.
func ReadVerdict(dir string) (verdict string, failed int, ok bool) {
	b, err := os.ReadFile(filepath.Join(dir, "gates.json"))
	if err != nil {
		return "", 0, false
	}
	var g struct {
		Schema  string
		Verdict string
		Failed  int
	}
	if json.Unmarshal(b, &g) != nil || g.Schema != GatesSchema {
		return "", 0, false
	}
	return g.Verdict, g.Failed, true
}

// JSON renders the verdicts for programs: each check with its numbers
// (overheads and regressions as fractions, absolute values in their unit;
// null where there is no interval), and the counts.
func JSON(w io.Writer, r Report) error {
	type check struct {
		Gate     string   `json:"gate"`
		Path     string   `json:"path"`
		Kind     string   `json:"kind"`
		Workload string   `json:"workload,omitempty"`
		Variant  string   `json:"variant,omitempty"`
		Metric   string   `json:"metric,omitempty"`
		Unit     string   `json:"unit,omitempty"`
		Platform string   `json:"platform"`
		Against  string   `json:"against,omitempty"`
		Status   Status   `json:"status"`
		Value    *float64 `json:"value"`
		Lo       *float64 `json:"lo"`
		Hi       *float64 `json:"hi"`
		Bound    float64  `json:"bound"`
		Upper    bool     `json:"upper,omitempty"`
		AtLeast  bool     `json:"at_least,omitempty"` // min_overhead
		Level    float64  `json:"level,omitempty"`
		Paired   bool     `json:"paired,omitempty"`
		Alpha    float64  `json:"alpha,omitempty"`
		N        int      `json:"n"`
		BaseN    int      `json:"base_n,omitempty"`
		Reason   string   `json:"reason"`
	}
	out := struct {
		Schema       string    `json:"schema"`
		RunID        string    `json:"run_id"`
		Baseline     string    `json:"baseline_run,omitempty"`
		Verdict      string    `json:"verdict"` // pass or fail
		Failed       int       `json:"failed"`
		Passed       int       `json:"passed"`
		Inconclusive int       `json:"inconclusive"`
		Skipped      int       `json:"skipped"`
		Errors       int       `json:"errors,omitempty"` // checks that could not be made (a fleet host that failed)
		Warnings     []string  `json:"warnings,omitempty"`
		Checks       []check   `json:"checks"`
		Start        time.Time `json:"start"`
	}{Schema: GatesSchema, RunID: r.RunID, Baseline: r.Baseline, Verdict: "pass",
		Failed: r.Count(Fail), Passed: r.Count(Pass), Inconclusive: r.Count(Inconclusive), Skipped: r.Count(Skipped), Errors: r.Count(Error), Warnings: r.Warnings, Start: r.Start}
	if r.Failed() {
		out.Verdict = "fail"
	}
	for _, c := range r.Checks {
		out.Checks = append(out.Checks, check{Gate: c.Gate, Path: c.Path, Kind: c.Kind, Workload: c.Workload, Variant: c.Label,
			Metric: c.Metric, Unit: c.Unit, Platform: c.Platform, Against: c.Against, Status: c.Status,
			Value: units.Finite(c.Value), Lo: units.Finite(c.Lo), Hi: units.Finite(c.Hi), Bound: c.Bound, Upper: c.Upper, AtLeast: c.AtLeast, Level: c.Level,
			Paired: c.Paired, Alpha: c.Alpha, N: c.N, BaseN: c.BaseN, Reason: c.Reason})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
