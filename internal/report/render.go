package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"

	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/untrusted"
)

// header returns the column titles: workload, variant, metric, then each
// platform followed, for non-baseline platforms, by its overhead column.
func (t Table) header() []string {
	h := []string{"workload", "variant", "metric"}
	for _, p := range t.Platforms {
		name := p.Name
		if p.Accel != "" {
			name += " (" + p.Accel + ")"
		}
		h = append(h, name)
		if p.Name != t.Baseline {
			h = append(h, p.Name+" vs "+t.Baseline)
		}
	}
	return h
}

func (t Table) records() [][]string {
	var out [][]string
	for _, r := range t.Rows {
		metric := r.Metric
		if r.Unit != "" {
			metric += " (" + r.Unit + ")"
		}
		rec := []string{r.Workload, r.Label, metric}
		for i, p := range t.Platforms {
			rec = append(rec, cellText(r.Cells[i], r.Unit, units.Format))
			if p.Name != t.Baseline {
				rec = append(rec, deltaText(r.Cells[i]))
			}
		}
		out = append(out, rec)
	}
	return out
}

// legend explains the cells; it is the same in every format.
func (t Table) legend() string {
	return fmt.Sprintf("Cells: median ±95%% confidence interval, n trials. \"X vs %s\": the verdict on X's overhead, the extra cost per unit of work on X "+
		"in a typical round (+10%% = 10%% more time or machines for the same work), with its interval in percent; where rounds far off the others make the mean cost per round differ by more than a point, a note gives that too. ", t.Baseline) + t.verdictLegend()
}

// summaryTitle heads the summary in every format.
func (t Table) summaryTitle() string {
	return fmt.Sprintf("Does it cost? Verdict per resource (negligible = the whole %s interval within ±%s)", stats.LevelText(t.Confidence), pctAbs(t.Analysis.Negligible))
}

// textTable returns a function that renders a table for a terminal, left
// aligned and unwrapped.
func textTable(w io.Writer) func(header []string, rows [][]string) {
	return func(header []string, rows [][]string) {
		tw := tablewriter.NewWriter(w)
		// Names, units and errors may come from a scenario, a workload or
		// a stored run: no escape sequence of theirs reaches the terminal.
		header = slices.Clone(header)
		for i := range header {
			header[i] = untrusted.Terminal(header[i])
		}
		clean := make([][]string, len(rows))
		for i, r := range rows {
			clean[i] = make([]string, len(r))
			for j, c := range r {
				clean[i][j] = untrusted.Terminal(c)
			}
		}
		rows = clean
		tw.SetHeader(header)
		tw.SetAutoFormatHeaders(false)
		tw.SetAutoWrapText(false)
		tw.SetAlignment(tablewriter.ALIGN_LEFT)
		tw.AppendBulk(rows)
		tw.Render()
	}
}

// Text renders the table for a terminal.
// Text is for a terminal of 160 columns: the summary, then a table per
// workload whose platform cells hold the value and, below it, the verdict
// versus the baseline; the notes on single cells are counted, not listed,
// except failed trials (report.md and report.html list them all).
func Text(w io.Writer, t Table) error {
	fmt.Fprintf(w, "vmbench run %s — scenario %q, baseline %s\n", t.RunID, t.Scenario, untrusted.Line(t.Baseline))
	for _, b := range t.Banners {
		fmt.Fprintf(w, "%s\n", wrap("!! "+b, 158, "   "))
	}
	if len(t.Summary) > 0 {
		fmt.Fprintf(w, "%s:\n", t.summaryTitle())
		h, rows := t.summaryRows()
		for _, cols := range fitColumns(h, rows, 1, 158) {
			textTable(w)(pickColumns(h, cols), pickRows(rows, cols))
		}
		var warned []string
		for _, f := range t.Summary {
			if msg := t.hardwareWarning(f); msg != "" && !slices.Contains(warned, msg) {
				warned = append(warned, msg)
				fmt.Fprintf(w, "%s\n", wrap("!! "+t.pairName(f.Pair)+": "+msg, 158, "   "))
			}
		}
	}
	for _, p := range t.Density {
		fmt.Fprintf(w, "Density sweep on %s:\n", p.Name)
		textTable(w)(densityRows(p))
	}
	if len(t.Density) > 0 {
		fmt.Fprintln(w, densityLegend)
		if title, h, rows, lines := t.capacityTable(); len(rows) > 0 {
			fmt.Fprintf(w, "%s:\n", title)
			textTable(w)(h, rows)
			for _, l := range lines {
				fmt.Fprintln(w, wrap(l, 158, "   "))
			}
		}
		if len(t.Rows) == 0 {
			return nil
		}
	}
	for _, s := range t.textSections() {
		fmt.Fprintf(w, "%s:\n", s.Title)
		keys := len(s.Header) - len(t.Platforms) // the parameters and the metric
		if len(t.Platforms) > 0 && t.Platforms[0].Name == t.Baseline {
			keys++ // and the baseline, which every verdict is against
		}
		for _, cols := range fitColumns(s.Header, s.Rows, keys, 158) {
			textTable(w)(pickColumns(s.Header, cols), pickRows(s.Rows, cols))
		}
	}
	fmt.Fprintln(w, wrap(t.legend(), 158, ""))
	if f := t.Fleet; f != nil {
		fmt.Fprintf(w, "Fleet: %d hosts\n", len(f.Hosts))
		textTable(w)(f.hostRows())
		for _, warn := range f.Warnings {
			fmt.Fprintf(w, "%s\n", wrap("!! "+warn, 158, "   "))
		}
		for _, cols := range fitColumns(f.Header, f.Rows, 4, 158) {
			textTable(w)(pickColumns(f.Header, cols), pickRows(f.Rows, cols))
		}
		fmt.Fprintln(w, wrap(fleetLegend, 158, ""))
	}
	for _, f := range t.families() {
		fmt.Fprintf(w, "Matrix %s:\n", f.Title)
		for _, cols := range fitColumns(f.Header, f.Rows, f.Keys, 158) {
			textTable(w)(pickColumns(f.Header, cols), pickRows(f.Rows, cols))
		}
	}
	if len(t.Exits) > 0 {
		fmt.Fprintln(w, "Where the guests' exits go (KVM; exits per second of trial, median):")
		textTable(w)(t.exitTable())
	}
	counted := 0
	for _, n := range t.Notes {
		i := slices.IndexFunc(t.CellNotes, func(c CellNote) bool { return c.Text == n })
		if i >= 0 && !strings.HasPrefix(t.CellNotes[i].Msg, "failed: ") {
			counted++
			continue
		}
		fmt.Fprintf(w, "%s\n", wrap("note: "+n, 158, "      "))
	}
	if counted > 0 {
		fmt.Fprintf(w, "%d more notes on single cells (noisy, outliers, workload warnings): report.md and report.html list them under each workload\n", counted)
	}
	return nil
}

// Markdown renders report.md.
func Markdown(w io.Writer, t Table) error {
	fmt.Fprintf(w, "# vmbench report: %s\n\n", untrusted.Markdown(t.Scenario))
	fmt.Fprintf(w, "Run `%s`, baseline platform %s.\n\n", t.RunID, untrusted.CodeSpan(t.Baseline))
	for _, b := range t.Banners {
		fmt.Fprintf(w, "> **Warning:** %s\n\n", mdEscape(b))
	}
	if len(t.Summary) > 0 {
		fmt.Fprintf(w, "## Summary\n\n%s.\n\n", t.summaryTitle())
		h, rows := t.summaryRows()
		mdTable(w, h, rows)
		fmt.Fprintln(w)
		for _, f := range t.Summary {
			fmt.Fprintf(w, "- **%s, %s**: %s\n", f.Resource, t.pairName(f.Pair), mdEscape(t.findingDetail(f)))
		}
		fmt.Fprintf(w, "\n## All cells\n\n")
	}
	for _, p := range t.Density {
		fmt.Fprintf(w, "## Density sweep: %s\n\n", p.Name)
		h, rows := densityRows(p)
		mdTable(w, h, rows)
		fmt.Fprintln(w)
	}
	if len(t.Density) > 0 {
		fmt.Fprintf(w, "%s\n\n", densityLegend)
		if title, h, rows, lines := t.capacityTable(); len(rows) > 0 {
			fmt.Fprintf(w, "## %s\n\n", title)
			mdTable(w, h, rows)
			fmt.Fprintln(w)
			for _, l := range lines {
				fmt.Fprintf(w, "- %s\n", mdEscape(l))
			}
			fmt.Fprintln(w)
		}
	}
	if len(t.Rows) > 0 || len(t.Density) == 0 {
		h := t.header()
		fmt.Fprintf(w, "| %s |\n", mdRow(h))
		fmt.Fprintf(w, "|%s\n", strings.Repeat(" --- |", len(h)))
		for _, rec := range t.records() {
			fmt.Fprintf(w, "| %s |\n", mdRow(rec))
		}
		fmt.Fprintf(w, "\n%s\n", t.legend())
	}
	if f := t.Fleet; f != nil {
		fmt.Fprintf(w, "\n## Fleet: %d hosts\n\n", len(f.Hosts))
		h, rows := f.hostRows()
		mdTable(w, h, rows)
		fmt.Fprintln(w)
		for _, warn := range f.Warnings {
			fmt.Fprintf(w, "> **Warning:** %s\n\n", mdEscape(warn))
		}
		fmt.Fprintf(w, "%s\n\n", fleetLegend)
		mdTable(w, f.Header, f.Rows)
	}
	if fams := t.families(); len(fams) > 0 {
		fmt.Fprintf(w, "\n## Matrices\n\n%s\n", familyLegend)
		for _, f := range fams {
			fmt.Fprintf(w, "\n### %s\n\n", mdEscape(f.Title))
			mdTable(w, f.Header, f.Rows)
		}
	}
	if len(t.Profiles) > 0 {
		fmt.Fprintf(w, "\n## Where the CPU time goes\n\n%s\n", profileLegend(t.Baseline))
		for _, p := range t.Profiles {
			fmt.Fprintf(w, "\n### %s\n\n", mdEscape(p.title()))
			h := p.header(t.Baseline)
			fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(h, " | "), strings.Repeat(" --- |", len(h)))
			for _, rec := range p.records(t.Baseline) {
				fmt.Fprintf(w, "| `%s` | %s |\n", mdEscape(rec[0]), strings.Join(rec[1:], " | "))
			}
		}
	}
	if len(t.Exits) > 0 {
		fmt.Fprintf(w, "\n## Where the guests' exits go (KVM)\n\n%s\n\n", exitLegend)
		h, rows := t.exitTable()
		mdTable(w, h, rows)
	}
	if len(t.Notes) > 0 {
		fmt.Fprintf(w, "\n## Notes\n\n")
		for _, n := range t.Notes {
			fmt.Fprintf(w, "- %s\n", mdEscape(n))
		}
	}
	fmt.Fprintf(w, "\n## Environment\n\n")
	fmt.Fprintf(w, "| | |\n| --- | --- |\n")
	for _, kv := range t.environment() {
		fmt.Fprintf(w, "| %s | %s |\n", mdEscape(kv[0]), mdEscape(kv[1]))
	}
	return nil
}

// mdTable writes a Markdown table: its header, then a line per row.
func mdTable(w io.Writer, header []string, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n|%s\n", mdRow(header), strings.Repeat(" --- |", len(header)))
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |\n", mdRow(r))
	}
}

// environment is the host fingerprint, tools and platforms as rows.
func (t Table) environment() [][2]string {
	h := t.Host
	env := [][2]string{
		{"CPU", fmt.Sprintf("%s, %d logical CPUs", h.CPUModel, h.Cores)},
		{"memory", units.FormatSize(int64(h.MemoryB))},
		{"kernel", h.Kernel},
		{"OS", h.OS},
		{"governor / turbo / SMT", fmt.Sprintf("%s / %s / %s", orUnknown(h.Governor), orUnknown(h.Turbo), orUnknown(h.SMT))},
		{"transparent hugepages", orUnknown(h.THP)},
		{"cgroups", orUnknown(h.CgroupMode)},
		{"/dev/kvm", orUnknown(h.KVM)},
	}
	for _, k := range slices.Sorted(maps.Keys(t.Tools)) {
		env = append(env, [2]string{k, t.Tools[k]})
	}
	for _, p := range t.Platforms {
		desc := p.Type
		if p.Accel != "" {
			desc += ", accel " + p.Accel
		}
		if p.Type == scenario.Remote {
			desc += ", on " + orUnknown(p.Machine)
		}
		env = append(env, [2]string{"platform " + p.Name, desc})
	}
	return env
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// mdEscape is text from a scenario, a workload or a stored run as
// Markdown that renders as itself.
func mdEscape(s string) string { return untrusted.Markdown(s) }

// mdRow is a table row's cells, each escaped, joined by pipes.
func mdRow(cells []string) string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = mdEscape(c)
	}
	return strings.Join(out, " | ")
}

// textSections are the per-workload tables of the terminal: the variant's
// parameters as columns, then the metric, then per platform its value and
// (not for the baseline) the verdict versus the baseline on the next line.
func (t Table) textSections() []profileTable {
	var out []profileTable
	for _, sec := range t.sections() {
		rows := t.rowsOf(sec.Title)
		keys := paramKeys(rows)
		var header []string
		for _, k := range keys {
			if k == "" {
				k = "variant"
			}
			header = append(header, k)
		}
		header = append(header, "metric")
		for _, p := range t.Platforms {
			name := p.Name
			if p.Accel != "" {
				name += " (" + p.Accel + ")"
			}
			if p.Name != t.Baseline {
				name += " (vs " + t.Baseline + ")"
			}
			header = append(header, name)
		}
		tab := profileTable{Title: sec.Title, Header: header}
		for _, r := range rows {
			var rec []string
			for _, k := range keys {
				rec = append(rec, paramCell(r.Label, k))
			}
			metric := r.Metric
			if r.Unit != "" {
				metric += " (" + r.Unit + ")"
			}
			rec = append(rec, metric)
			for i, p := range t.Platforms {
				cell := cellText(r.Cells[i], r.Unit, units.Format)
				if d := deltaText(r.Cells[i]); p.Name != t.Baseline && d != "" {
					cell += "\n" + strings.NewReplacer(", ~", ",\n~", ", maybe", ",\nmaybe", ", near", ",\nnear").Replace(d)
				}
				rec = append(rec, cell)
			}
			tab.Rows = append(tab.Rows, rec)
		}
		out = append(out, tab)
	}
	return out
}

// wrap breaks s into lines of at most width columns at spaces, indenting
// the lines after the first.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	line := 0
	for i, word := range strings.Fields(untrusted.Terminal(s)) {
		n := utf8.RuneCountInString(word)
		if i > 0 && line+1+n > width {
			b.WriteString("\n" + indent)
			line = utf8.RuneCountInString(indent)
		} else if i > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += n
	}
	return b.String()
}

// fitColumns splits a table whose first keys columns say what a row is
// into tables of at most width columns each (the key columns repeated in
// every one), as many as it takes: a platform matrix can make more
// platforms, and comparisons, than one terminal line holds. Each returned
// set lists the columns to keep. A cell's width is its longest line.
func fitColumns(header []string, rows [][]string, keys, width int) [][]int {
	colWidth := func(c int) int {
		w := 0
		for _, cell := range append([]string{header[c]}, pickColumn(rows, c)...) {
			for _, l := range strings.Split(cell, "\n") {
				w = max(w, utf8.RuneCountInString(l))
			}
		}
		return w + 3 // padding and the border
	}
	var base []int
	used0 := 1
	for c := range keys {
		base = append(base, c)
		used0 += colWidth(c)
	}
	var out [][]int
	cur, used := slices.Clone(base), used0
	for c := keys; c < len(header); c++ {
		if w := colWidth(c); len(cur) > keys && used+w > width {
			out = append(out, cur)
			cur, used = slices.Clone(base), used0
		}
		cur = append(cur, c)
		used += colWidth(c)
	}
	return append(out, cur)
}

func pickColumn(rows [][]string, c int) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r[c])
	}
	return out
}

func pickColumns(rec []string, cols []int) []string {
	var out []string
	for _, c := range cols {
		out = append(out, rec[c])
	}
	return out
}

func pickRows(rows [][]string, cols []int) [][]string {
	var out [][]string
	for _, r := range rows {
		out = append(out, pickColumns(r, cols))
	}
	return out
}
