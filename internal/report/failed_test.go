package report

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/result"
)

// TestFailedCellsInTheSummary: a line with a cell whose every trial failed
// says so and is never negligible; failures uneven between the sides keep
// a cell from negligible; a variant that failed everywhere still counts in
// its lines.
func TestFailedCellsInTheSummary(t *testing.T) {
	info := result.RunInfo{RunID: "20261205-120000-abcd", Baseline: "native", Scenario: result.ScenarioCopy{Name: "failures"},
		Platforms: []result.PlatformInfo{{Name: "native", Type: "native"}, {Name: "vm", Type: "vm"}}}
	var samples []result.Sample
	add := func(platform, workload, label string, rep int, m result.Metric, errText string) {
		s := result.Sample{RunID: info.RunID, Workload: workload, Type: workload, Label: label, Platform: platform,
			Trial: rep, Start: time.Unix(0, 0), Duration: 1, Error: errText}
		if errText == "" {
			s.Metrics = []result.Metric{m}
		}
		samples = append(samples, s)
	}
	jitter := []float64{1, 1.002, 0.998, 1.001, 0.999, 1.0005, 0.9995, 1.0015}
	for rep, j := range jitter {
		cpu := result.Metric{Name: "throughput", Unit: "B/s", Value: 2e9 * j}
		add("native", "cpu", "threads=1", rep, cpu, "")
		add("vm", "cpu", "threads=1", rep, cpu, "")
		add("native", "cpu", "threads=2", rep, cpu, "")
		add("vm", "cpu", "threads=2", rep, result.Metric{}, "guest wedged")
		mem := result.Metric{Name: "bandwidth", Unit: "B/s", Value: 4e9 * j}
		add("native", "memory", "op=triad", rep, mem, "")
		if rep < 2 { // the slowest rounds time out on vm
			add("vm", "memory", "op=triad", rep, result.Metric{}, "timed out")
		} else {
			add("vm", "memory", "op=triad", rep, mem, "")
		}
		syscalls := result.Metric{Name: "rate", Unit: "ops/s", Value: 1e6 * j}
		add("native", "syscall", "kind=getppid", rep, syscalls, "")
		if rep == 5 {
			syscalls.Value = 0 // stalled
		}
		add("vm", "syscall", "kind=getppid", rep, syscalls, "")
		add("native", "disk", "mode=randread", rep, result.Metric{}, "no O_DIRECT")
		add("vm", "disk", "mode=randread", rep, result.Metric{}, "no O_DIRECT")
	}
	tab := Build(info, samples)
	line := map[string]analysis.Finding{}
	for _, f := range tab.Summary {
		line[f.Resource] = f
	}
	if f := line["CPU"]; tab.findingShort(f) != "failed: 1 of 2 cells (cpu threads=2 throughput on vm)" {
		t.Errorf("CPU line %q, want it to say its failed cell", tab.findingShort(f))
	}
	mem := line["memory bandwidth"]
	if mem.Verdict == "negligible" || !strings.Contains(tab.findingDetail(mem), "failed trials uneven") || !strings.Contains(tab.findingDetail(mem), "2 of 8 trials failed on vm, 0 of 8 on native") {
		t.Errorf("memory line %q (%s): identical values, but 2 of 8 vm trials failed: want inconclusive, saying why", tab.findingShort(mem), tab.findingDetail(mem))
	}
	stalled := false
	for _, r := range tab.Rows {
		if r.Workload == "syscall" {
			stalled = true
			if v := r.Versus[0]; r.Cells[1].Failed != 1 || v == nil || v.Verdict == "negligible" || !strings.Contains(judgedText(*v), "1 of 8 trials failed on vm") {
				t.Errorf("syscall rate: a round measured 0 on vm, want it counted as failed, not negligible: %d failed, %s", r.Cells[1].Failed, judgedText(*v))
			}
		}
	}
	if !stalled {
		t.Error("no syscall row")
	}
	for _, res := range []string{"disk IOPS", "disk latency"} {
		if f, ok := line[res]; !ok || !strings.HasPrefix(tab.findingShort(f), "failed: 1 of 1 cells (disk mode=randread on vm)") {
			t.Errorf("%s line %q (present %v), want the variant that failed everywhere", res, tab.findingShort(f), ok)
		}
	}
	var md strings.Builder
	if err := Markdown(&md, tab); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| CPU | failed: 1 of 2 cells (cpu threads=2 throughput on vm) |") {
		t.Errorf("report.md's summary does not say the failed cell:\n%s", md.String())
	}
	var js strings.Builder
	if err := JSON(&js, tab); err != nil || !strings.Contains(js.String(), `"verdict": "failed"`) {
		t.Errorf("report.json (%v) does not carry the failed verdict:\n%s", err, js.String())
	}
}

// TestMetricSaysWhichWayIsBetter: an app's errors/s declared better: lower
// reads as a cost when it grows, not as a gain, as its unit alone would say.
func TestMetricSaysWhichWayIsBetter(t *testing.T) {
	info := result.RunInfo{RunID: "20261205-120000-beef", Baseline: "native", Scenario: result.ScenarioCopy{Name: "errors"},
		Platforms: []result.PlatformInfo{{Name: "native", Type: "native"}, {Name: "vm", Type: "vm"}}}
	var samples []result.Sample
	for rep, j := range []float64{1, 1.01, 0.99, 1.005, 0.995, 1.002, 0.998, 1.001} {
		for platform, v := range map[string]float64{"native": 100 * j, "vm": 120 * j} {
			samples = append(samples, result.Sample{RunID: info.RunID, Workload: "svc", Type: "app", Platform: platform, Trial: rep, Start: time.Unix(0, 0),
				Metrics: []result.Metric{{Name: "errors", Unit: "errors/s", Value: v, Better: "lower"}}})
		}
	}
	tab := Build(info, samples)
	if len(tab.Rows) != 1 || tab.Rows[0].Versus[0] == nil {
		t.Fatalf("rows %+v", tab.Rows)
	}
	if v := tab.Rows[0].Versus[0]; v.Verdict != "overhead" || math.Abs(v.Overhead-0.2) > 1e-9 {
		t.Errorf("20%% more errors/s on vm, better lower: %s, want overhead +20%%", judgedText(*v))
	}
	var js strings.Builder
	JSON(&js, tab)
	if !strings.Contains(js.String(), `"better": "lower"`) {
		t.Errorf("report.json does not say lower is better:\n%s", js.String())
	}
}

// A memory variant whose kernels ran in different instruction sets on two
// platforms (a guest's CPU model without AVX-512) carries a note naming
// them; one that ran alike, none.
func TestVectorNote(t *testing.T) {
	info := result.RunInfo{RunID: "20261205-120000-abcd", Baseline: "native", Scenario: result.ScenarioCopy{Name: "vectors"},
		Platforms: []result.PlatformInfo{{Name: "native", Type: "native"}, {Name: "vm", Type: "vm"}}}
	var samples []result.Sample
	for rep := range 6 {
		for _, p := range []string{"native", "vm"} {
			for _, op := range []string{"copy", "triad"} {
				vector := "avx512"
				if p == "vm" && op == "triad" {
					vector = "sse2"
				}
				samples = append(samples, result.Sample{RunID: info.RunID, Workload: "memory", Type: "memory", Label: "op=" + op, Platform: p, Trial: rep,
					Start: time.Unix(0, 0), Duration: 1, Conditions: map[string]string{"vector": vector},
					Metrics: []result.Metric{{Name: "bandwidth", Unit: "B/s", Value: 1e10}}})
			}
		}
	}
	notes := strings.Join(Build(info, samples).Notes, "\n")
	if !strings.Contains(notes, "memory op=triad: the memory kernels ran in different instruction sets (avx512 on native; sse2 on vm)") || strings.Contains(notes, "op=copy") {
		t.Errorf("notes:\n%s", notes)
	}
}
