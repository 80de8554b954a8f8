package report

import (
	"bytes"
	"flag"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixture is a small run: native is the baseline, container is 10% slower
// on cpu, equal on memory, and vm ran under TCG with one failed trial.
func fixture() (result.RunInfo, []result.Sample) {
	info := result.RunInfo{
		RunID: "20261124-120000-abcd", Baseline: "native",
		Scenario: result.ScenarioCopy{Name: "fixture"},
		Host: result.Host{CPUModel: "Test CPU", Cores: 2, MemoryB: 24 << 30, Kernel: "6.1.0", OS: "debian 12",
			Governor: "performance", THP: "always", CgroupMode: "hybrid", KVM: "present"},
		Tools: map[string]string{"runc": "runc version 1.1.5"},
		Platforms: []result.PlatformInfo{
			{Name: "native", Type: "native"},
			{Name: "container", Type: "container"},
			{Name: "vm", Type: "vm", Info: map[string]string{"accel": "tcg", "accel_reason": "KVM probe guest did not reach its agent in 10s.", "restarts": "1", "console_log": "results/x/vm-console.log"}},
		},
	}
	var samples []result.Sample
	start := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	add := func(platform, workload, label string, rep int, m result.Metric, warmup bool, errText string) {
		s := result.Sample{RunID: info.RunID, Workload: workload, Type: workload, Label: label, Platform: platform,
			Trial: rep, Warmup: warmup, Start: start, Duration: 1, Error: errText}
		if errText == "" {
			s.Metrics = []result.Metric{m}
		}
		samples = append(samples, s)
	}
	jitter := []float64{1, 1.01, 0.99, 1.005, 0.995, 1.002}
	for rep, j := range jitter {
		add("native", "cpu", "threads=1", rep, result.Metric{Name: "throughput", Unit: "B/s", Value: 2e9 * j}, false, "")
		add("container", "cpu", "threads=1", rep, result.Metric{Name: "throughput", Unit: "B/s", Value: 2e9 / 1.1 * j}, false, "")
		add("vm", "cpu", "threads=1", rep, result.Metric{Name: "throughput", Unit: "B/s", Value: 1e9 * j}, false, "")
		add("native", "memory", "op=triad", rep, result.Metric{Name: "bandwidth", Unit: "B/s", Value: 15e9 * j}, false, "")
		add("container", "memory", "op=triad", rep, result.Metric{Name: "bandwidth", Unit: "B/s", Value: 15e9 * jitter[(rep+3)%6]}, false, "")
		if rep == 2 {
			add("vm", "memory", "op=triad", rep, result.Metric{}, false, "guest died: see results/x/vm-console.log")
		} else {
			add("vm", "memory", "op=triad", rep, result.Metric{Name: "bandwidth", Unit: "B/s", Value: 4e9 * j}, false, "")
		}
	}
	// A warmup that must not count.
	add("native", "cpu", "threads=1", 0, result.Metric{Name: "throughput", Unit: "B/s", Value: 1}, true, "")
	return info, samples
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists the lines that differ, numbered.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func TestBuild(t *testing.T) {
	tab := Build(fixture())
	if len(tab.Rows) != 2 {
		t.Fatalf("rows %+v", tab.Rows)
	}
	cpu := tab.Rows[0]
	if n := cpu.Cells[0].Summary.N; n != 6 {
		t.Errorf("warmup counted: native n=%d", n)
	}
	d := cpu.Cells[1].Delta
	if d == nil || d.Verdict != stats.Overhead || !d.Paired || d.Overhead < 0.099 || d.Overhead > 0.101 {
		t.Errorf("container overhead %+v, want a paired +10%% overhead", d)
	}
	mem := tab.Rows[1]
	if v := mem.Cells[1].Delta.Verdict; v != stats.Negligible {
		t.Errorf("equal memory bandwidth: %s, want negligible: %+v", v, mem.Cells[1].Delta)
	}
	if mem.Cells[2].Failed != 1 || mem.Cells[2].Summary.N != 5 {
		t.Errorf("vm memory cell %+v, want 5 values and 1 failure", mem.Cells[2])
	}
	if !strings.Contains(strings.Join(tab.Notes, "\n"), "restarted 1 time(s)") {
		t.Errorf("no restart note: %v", tab.Notes)
	}
	if len(tab.Banners) == 0 || !strings.Contains(tab.Banners[0], "TCG") {
		t.Errorf("no TCG banner: %v", tab.Banners)
	}
}

func TestGolden(t *testing.T) {
	tab := Build(fixture())
	var txt, md bytes.Buffer
	if err := Text(&txt, tab); err != nil {
		t.Fatal(err)
	}
	golden(t, "fixture.txt", txt.Bytes())
	if err := Markdown(&md, tab); err != nil {
		t.Fatal(err)
	}
	golden(t, "fixture.md", md.Bytes())
	info, samples := fixture()
	var c, b, j bytes.Buffer
	if err := CSV(&c, samples); err != nil {
		t.Fatal(err)
	}
	golden(t, "fixture.csv", c.Bytes())
	if err := Benchfmt(&b, info, samples); err != nil {
		t.Fatal(err)
	}
	golden(t, "fixture.bench.txt", b.Bytes())
	if err := JSON(&j, tab); err != nil {
		t.Fatal(err)
	}
	golden(t, "fixture.json", j.Bytes())
}

// The benchmark-format export parses with benchfmt, the reader benchstat
// uses, and carries the platform as a name key with unit directions.
func TestBenchfmtParses(t *testing.T) {
	info, samples := fixture()
	var b bytes.Buffer
	Benchfmt(&b, info, samples)
	r := benchfmt.NewReader(&b, "bench.txt")
	results := 0
	platforms := map[string]bool{}
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatalf("benchfmt: %v", rec)
		case *benchfmt.UnitMetadata:
			if rec.Unit == "B/s" && rec.Value != "higher" && rec.Key == "better" {
				t.Errorf("B/s better=%s", rec.Value)
			}
		case *benchfmt.Result:
			results++
			_, parts := rec.Name.Parts()
			for _, p := range parts {
				if v, ok := strings.CutPrefix(string(p), "/platform="); ok {
					platforms[v] = true
				}
			}
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	// 6 reps × (cpu + memory) × 3 platforms, less the failed trial; warmup excluded.
	if results != 35 || len(platforms) != 3 {
		t.Errorf("%d results on %v platforms, want 35 on 3", results, platforms)
	}
}

// B is A with the container 20% slower on cpu: the comparison finds that,
// calls the unchanged cells not significant, and flags the host change.
func TestCompare(t *testing.T) {
	infoA, samplesA := fixture()
	infoB, samplesB := fixture()
	infoB.RunID = "20261125-120000-ef01"
	infoB.Host.Kernel = "6.12.0"
	for i, s := range samplesB {
		if s.Platform == "container" && s.Workload == "cpu" {
			samplesB[i].Metrics = []result.Metric{{Name: "throughput", Unit: "B/s", Value: s.Metrics[0].Value / 1.2}}
		}
	}
	c := Compare(Build(infoA, samplesA), Build(infoB, samplesB))
	var found bool
	for _, r := range c.Rows {
		d := r.Cells[1].Delta
		switch {
		case r.Workload == "cpu" && strings.HasPrefix(r.Label, "container"):
			found = true
			if d == nil || d.Verdict != stats.Overhead || d.Paired || d.Overhead < 0.199 || d.Overhead > 0.201 {
				t.Errorf("container cpu: %+v, want an unpaired +20%% overhead", d)
			}
		case r.Workload == "cpu" && strings.HasPrefix(r.Label, "native"):
			if d == nil || d.Verdict == stats.Overhead || d.Verdict == stats.Better || d.Overhead != 0 {
				t.Errorf("native cpu unchanged, got %+v", d)
			}
		}
	}
	if !found {
		t.Fatalf("no container cpu row: %+v", c.Rows)
	}
	if !strings.Contains(strings.Join(c.Banners, "\n"), `the hosts differ in kernel: "6.1.0" and "6.12.0"`) {
		t.Errorf("banners %v", c.Banners)
	}
	var txt bytes.Buffer
	Text(&txt, c)
	golden(t, "compare.txt", txt.Bytes())
}

// report.html is one self-contained file: both charts inline, nothing
// loaded from elsewhere.
func TestHTMLSelfContained(t *testing.T) {
	info, samples := fixture()
	samples = append(samples, result.Sample{Workload: "boot", Type: "boot", Platform: "vm", Metrics: []result.Metric{
		{Name: "launch_to_ready", Unit: "s", Value: 2.6}, {Name: "qemu_and_firmware", Unit: "s", Value: 0.6},
		{Name: "kernel", Unit: "s", Value: 1.7}, {Name: "agent", Unit: "s", Value: 0.3}}})
	var b bytes.Buffer
	if err := HTML(&b, Build(info, samples)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, "<svg"); n != 3 {
		t.Errorf("%d charts, want 3 (the headline, performance and boot)", n)
	}
	for _, bad := range []string{"<script", "<link", " src=", "<?xml"} {
		if strings.Contains(page, bad) {
			t.Errorf("report.html contains %q", bad)
		}
	}
	for _, want := range []string{"Performance relative to native", "Guest boot", "overhead +10.0% [+10.0, +10.0]", "Does it cost?", "TCG"} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// An outlier is named in the notes, and kept.
func TestOutlierNote(t *testing.T) {
	info, samples := fixture()
	for i := range samples {
		s := &samples[i]
		if s.Platform == "native" && s.Workload == "cpu" && s.Trial == 4 && !s.Warmup {
			s.Metrics[0].Value = 1e9
		}
	}
	tab := Build(info, samples)
	want := "cpu threads=1 throughput on native: 1 of 6 values are outliers (beyond 1.5× the interquartile range): 1.00 GB/s; kept"
	if !strings.Contains(strings.Join(tab.Notes, "\n"), want) {
		t.Errorf("notes lack %q:\n%s", want, strings.Join(tab.Notes, "\n"))
	}
	if tab.Rows[0].Cells[0].Summary.N != 6 {
		t.Errorf("the outlier was dropped: n=%d", tab.Rows[0].Cells[0].Summary.N)
	}
}

// The Prometheus families by Prometheus's rules: one unit per family,
// named with its suffix; the run id on vmbench_run_info alone; the
// summary's verdicts and the gates' as series; and OpenMetrics text that
// ends with # EOF. (promtool and node_exporter read the output in
// cmd/vmbench's TestPrometheusTextfile.)
func TestPrometheusFamilies(t *testing.T) {
	end := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	x := Export{End: end, Version: "v1.2.3", Gates: []GateStatus{{Gate: "vm cpu overhead", Platform: "vm", Status: "pass"}}}
	names := map[string]bool{}
	for _, f := range Families(recorded(t), x) {
		name := f.GetName()
		if names[name] {
			t.Errorf("family %s twice", name)
		}
		names[name] = true
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "unit" || l.GetName() == "run_id" && name != "vmbench_run_info" || l.GetName() == "run" {
					t.Errorf("%s has label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
	for _, want := range []string{"vmbench_run_info", "vmbench_run_end_timestamp_seconds", "vmbench_cell_median_bytes_per_second",
		"vmbench_cell_median_seconds", "vmbench_cell_median_bytes", "vmbench_overhead_ratio", "vmbench_resource_verdict",
		"vmbench_resource_overhead_ratio", "vmbench_gate_status"} {
		if !names[want] {
			t.Errorf("no family %s: %v", want, names)
		}
	}
	var b bytes.Buffer
	if err := OpenMetrics(&b, recorded(t), x); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"# UNIT vmbench_cell_median_seconds seconds", `vmbench_run_info{run_id="`, "vmbench_run_end_timestamp_seconds 1.7964648e+09", "# EOF\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("OpenMetrics lacks %q:\n%.2000s", want, out)
		}
	}
	if got := unitSuffix("ops/s"); got != "ops_per_second" {
		t.Errorf("unitSuffix(ops/s) = %q", got)
	}
	if got := unitSuffix("s/GB"); got != "seconds_per_gigabyte" {
		t.Errorf("unitSuffix(s/GB) = %q", got)
	}
}

// A matrix gets a table of its own: its variants as rows, their options
// as columns.
func TestMatrixTables(t *testing.T) {
	info := result.RunInfo{RunID: "20261124-120000-abcd", Baseline: "native", Scenario: result.ScenarioCopy{Name: "m"},
		Platforms: []result.PlatformInfo{{Name: "native", Type: "native"}, {Name: "vm[vcpus=1,pin=none]", Type: "vm"},
			{Name: "vm[vcpus=2,pin=0+1]", Type: "vm"}, {Name: "solo[network=host]", Type: "container"}}}
	var samples []result.Sample
	for rep := range 6 {
		for p, v := range map[string]float64{"native": 100, "vm[vcpus=1,pin=none]": 50, "vm[vcpus=2,pin=0+1]": 99, "solo[network=host]": 100} {
			samples = append(samples, result.Sample{RunID: info.RunID, Workload: "cpu", Type: "cpu", Platform: p, Trial: rep,
				Metrics: []result.Metric{{Name: "throughput", Unit: "B/s", Value: v * (1 + 0.001*float64(rep))}}})
		}
	}
	fams := Build(info, samples).families()
	if len(fams) != 1 {
		t.Fatalf("%d matrix tables, want 1 (solo has one variant): %+v", len(fams), fams)
	}
	f := fams[0]
	if f.Title != "vm: cpu" || strings.Join(f.Header, "|") != "vcpus|pin|throughput (B/s)|vs native" || f.Keys != 2 {
		t.Errorf("table %q, header %q, keys %d", f.Title, f.Header, f.Keys)
	}
	if len(f.Rows) != 2 || f.Rows[0][0] != "1" || f.Rows[0][1] != "none" || f.Rows[1][1] != "0+1" || !strings.Contains(f.Rows[0][3], "×2.00") {
		t.Errorf("rows %q", f.Rows)
	}
	var md bytes.Buffer
	Markdown(&md, Build(info, samples))
	if !strings.Contains(md.String(), "## Matrices") || !strings.Contains(md.String(), "### vm: cpu\n\n| vcpus | pin |") {
		t.Errorf("report.md has no matrix table:\n%s", md.String())
	}
}
