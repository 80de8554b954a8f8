package report

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/result"
)

// recorded reads testdata/run, a real run (native, runc, a TCG guest; cpu
// hash, memory triad and syscall pipe, 2 trials each) with its series,
// profiles and latency histograms.
func recorded(t *testing.T) Table {
	t.Helper()
	info, err := result.ReadRun("testdata/run")
	if err != nil {
		t.Fatal(err)
	}
	samples, err := result.ReadSamples("testdata/run")
	if err != nil {
		t.Fatal(err)
	}
	traces, err := result.ReadTraces("testdata/run")
	if err != nil {
		t.Fatal(err)
	}
	tab := Build(info, samples)
	tab.AddTraces(traces)
	if err := tab.AddProfiles("testdata/run", samples); err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestTracesOfRecordedRun(t *testing.T) {
	tab := recorded(t)
	s := tab.Sampling
	if s == nil || s.Interval != 0.1 || s.Trials != 18 || s.MeanSampler <= 0 || s.MaxSampler < s.MeanSampler || s.MeanSelf < s.MeanSampler {
		t.Fatalf("sampling %+v", s)
	}
	if len(tab.Timelines) != 3 {
		t.Fatalf("%d timelines, want one per workload variant (3)", len(tab.Timelines))
	}
	for _, tl := range tab.Timelines {
		if len(tl.Lines) != 3 {
			t.Errorf("%s: %d lines, want one per platform", tl.Workload, len(tl.Lines))
		}
		for _, l := range tl.Lines {
			if len(l.T) == 0 || len(l.CPU) != len(l.T) || len(l.PSS) != len(l.T) || len(l.HostCPU) != len(l.T) {
				t.Errorf("%s on %s: %d times, %d cpu, %d pss", tl.Workload, l.Platform, len(l.T), len(l.CPU), len(l.PSS))
				continue
			}
			// The workload runs one thread: its platform's processes
			// use about a core at the busiest, never much more than
			// the two the host has.
			peak := 0.0
			for i := range l.T {
				peak = math.Max(peak, l.CPU[i])
				if l.CPU[i] < 0 || l.CPU[i] > 2.5 || l.PSS[i] <= 0 {
					t.Errorf("%s on %s at %.2fs: cpu %.2f cores, pss %.0f", tl.Workload, l.Platform, l.T[i], l.CPU[i], l.PSS[i])
				}
			}
			if peak < 0.5 {
				t.Errorf("%s on %s: peak cpu %.2f cores, want about 1", tl.Workload, l.Platform, peak)
			}
		}
	}
}

func TestProfilesOfRecordedRun(t *testing.T) {
	tab := recorded(t)
	if len(tab.Profiles) != 3 {
		t.Fatalf("%d profiles, want 3", len(tab.Profiles))
	}
	cpu := tab.Profiles[0]
	if cpu.Workload != "cpu" || strings.Join(cpu.Platforms, ",") != "native,container,vm" || cpu.Trials[0] != 2 {
		t.Fatalf("cpu profile %+v", cpu)
	}
	for i := range cpu.Platforms {
		var sum, top float64
		var topName string
		for _, f := range cpu.Funcs {
			sum += f.Share[i]
			if f.Share[i] > top {
				top, topName = f.Share[i], f.Name
			}
		}
		// Hashing is where the cpu workload spends its time, wherever
		// it runs (the guest's CPU model picks another implementation).
		if !strings.Contains(topName, "sha256.block") || top < 0.8 || sum > 1.0001 {
			t.Errorf("%s: top %s %.2f, listed %.2f", cpu.Platforms[i], topName, top, sum)
		}
		// The diff is the share minus the baseline's share.
		for _, f := range cpu.Funcs {
			if i == 0 && !math.IsNaN(f.Delta[i]) {
				t.Errorf("the baseline has a delta for %s", f.Name)
			}
			if i > 0 && math.Abs(f.Delta[i]-(f.Share[i]-f.Share[0])) > 1e-6 {
				t.Errorf("%s on %s: delta %.4f, shares %.4f and %.4f", f.Name, cpu.Platforms[i], f.Delta[i], f.Share[i], f.Share[0])
			}
		}
	}
}

// The pipe's latency histograms of every measured trial are merged per
// platform, and agree with the percentiles each trial reported.
func TestLatenciesOfRecordedRun(t *testing.T) {
	tab := recorded(t)
	if len(tab.Latencies) != 1 || tab.Latencies[0].Workload != "syscall" || tab.Latencies[0].Name != "latency" {
		t.Fatalf("latencies %+v", tab.Latencies)
	}
	for c, h := range tab.Latencies[0].Hists {
		var p50 analysis.Row
		for _, r := range tab.Rows {
			if r.Workload == "syscall" && r.Metric == "p50" {
				p50 = r
			}
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range p50.Cells[c].Values {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		// The merged median lies between the trials' medians.
		if h == nil || h.Count() < 100 || h.Quantile(0.5) < lo*0.98 || h.Quantile(0.5) > hi*1.02 {
			t.Errorf("%s: merged p50 %v, trials' p50 in [%v, %v]", tab.Platforms[c].Name, h.Quantile(0.5), lo, hi)
		}
	}
}

func TestGoldenRecordedRun(t *testing.T) {
	tab := recorded(t)
	var md, h bytes.Buffer
	if err := Markdown(&md, tab); err != nil {
		t.Fatal(err)
	}
	golden(t, "run.md", md.Bytes())
	if err := HTML(&h, tab); err != nil {
		t.Fatal(err)
	}
	page := h.String()
	// The headline (vm vs container), performance and three cost
	// panels, boot, syscall latency, and three timelines of two plots
	// each.
	if n := strings.Count(page, "<svg"); n != 13 {
		t.Errorf("%d svg elements, want 13", n)
	}
	for _, want := range []string{"Resources over one trial: cpu", "footprint relative to native", "Where the CPU time goes", "sha256.block",
		"Latency percentiles: syscall kind=pipe", "99.9"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// vmbench's own CPU is reported apart for trials whose client ran in it:
// the client's work is the workload's.
func TestSelfCPUOfClientTrials(t *testing.T) {
	trace := func(workload string, client bool, self float64) result.Trace {
		tr := result.Trace{Workload: workload, Platform: "native", Client: client}
		tr.Interval, tr.Wall, tr.SelfCPU = 0.1, 1, self
		return tr
	}
	var tab Table
	tab.AddTraces([]result.Trace{trace("cpu", false, 0.01), trace("cpu", false, 0.03), trace("net", true, 0.5)})
	s := tab.Sampling
	if s == nil || s.Trials != 3 || s.ClientTrials != 1 || math.Abs(s.MeanSelf-0.02) > 1e-9 || math.Abs(s.MeanSelfClient-0.5) > 1e-9 {
		t.Fatalf("sampling %+v", s)
	}
	note := tab.Notes[len(tab.Notes)-1]
	for _, want := range []string{"starting them and reading their results included: 2.00% on average", "during the 1 trials whose client ran on the host from vmbench (net, iperf3, redis), which is the workload's own work: 50.00%"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
}
