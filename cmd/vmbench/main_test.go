package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/result"
)

// runCLI runs vmbench in-process and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateDefault(t *testing.T) {
	code, stdout, stderr := runCLI(t, "validate", "../../scenarios/default.yaml")
	if code != 0 || !strings.Contains(stdout, "ok: scenario \"default\"") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"run", "--no-such-flag"}, {"report"}, {"validate", "/nonexistent.yaml"}, {"report", "/nonexistent-run"}} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("vmbench %v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestListShowsWorkloadsAndPlatforms(t *testing.T) {
	code, stdout, _ := runCLI(t, "list")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"cpu —", "memory —", "param   threads", "metric  bandwidth", "container —", "option  engine", "remote — ", "option  domain_xml    string    default —", "metric  host_cpu_per_GB"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	code, stdout, _ = runCLI(t, "list", "--json")
	var l listing
	if err := json.Unmarshal([]byte(stdout), &l); code != 0 || err != nil || l.Schema != ListSchema {
		t.Fatalf("list --json: exit %d, %v", code, err)
	}
	for _, p := range l.Platforms {
		if p.Description == "" {
			t.Errorf("platform type %s has no description", p.Type)
		}
		for _, o := range p.Options {
			if o.Help == "" || o.Kind == "" {
				t.Errorf("option %s of %s has no help or kind: %+v", o.Key, p.Type, o)
			}
		}
	}
	if len(l.Workloads) < 10 || len(l.Platforms) != 4 || l.Platforms[2].Options[1].Key != "vcpus" || l.Platforms[2].Options[1].Default != "2" {
		t.Errorf("list --json: %d workloads, platforms %+v", len(l.Workloads), l.Platforms)
	}
}

// writeRun stores a small run of cpu on native, with values scaled by f,
// in a directory called name.
func writeRun(t *testing.T, name string, f float64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	id := fmt.Sprintf("20261204-120000-%04x", crc32.ChecksumIEEE([]byte(name))&0xffff)
	os.MkdirAll(dir, 0o755)
	if err := result.WriteRun(dir, result.RunInfo{RunID: id, Baseline: "native", Scenario: result.ScenarioCopy{Name: "s"},
		Platforms: []result.PlatformInfo{{Name: "native", Type: "native"}}}); err != nil {
		t.Fatal(err)
	}
	w, _ := result.CreateSamples(dir)
	for i, v := range []float64{100, 101, 99, 100, 102, 98} {
		w.Write(result.Sample{RunID: id, Workload: "cpu", Platform: "native", Trial: i,
			Metrics: []result.Metric{{Name: "throughput", Unit: "B/s", Value: v * f}}})
	}
	w.Close()
	return dir
}

func TestCompareAndReportFormats(t *testing.T) {
	a, b := writeRun(t, "a", 1), writeRun(t, "b", 0.5)
	code, stdout, stderr := runCLI(t, "compare", a, b)
	if code != 0 || !strings.Contains(stdout, "overhead ×2.00") || !strings.Contains(stdout, "B vs A") {
		t.Errorf("compare: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, f := range []string{"text", "markdown", "json", "csv", "benchstat", "openmetrics"} {
		if code, out, errOut := runCLI(t, "report", "--format", f, a); code != 0 || out == "" {
			t.Errorf("report --format %s: exit %d %s", f, code, errOut)
		}
	}
	for _, file := range []string{"report.md", "report.json", "samples.csv", "bench.txt"} {
		if _, err := os.Stat(filepath.Join(a, file)); err != nil {
			t.Errorf("report did not write %s: %v", file, err)
		}
	}
	if code, _, _ := runCLI(t, "report", "--format", "pdf", a); code != exitUsage {
		t.Errorf("--format pdf: exit %d", code)
	}
}

// A stored run is gated and reported on a machine that does not have what
// its scenario names (a scratch_dir, here), and in a directory where the
// output files cannot be written: the verdicts and the report are printed,
// what was not written is said, and the exit codes are the verdicts'.
func TestGateAndReportElsewhere(t *testing.T) {
	dir := writeRun(t, "elsewhere", 1)
	info, _ := result.ReadRun(dir)
	info.Scenario.Text = "version: 1\nname: s\nscratch_dir: /nonexistent-scratch\nplatforms:\n  - {name: native, type: native}\nworkloads:\n  - {type: cpu}\ngates:\n  - {metric: cpu.throughput, min: 100}\n"
	result.WriteRun(dir, info)
	for _, f := range []string{"gates.xml", "report.md"} {
		os.MkdirAll(filepath.Join(dir, f), 0o755) // a file that cannot be written, even by root
	}
	code, out, stderr := runCLI(t, "gate", dir)
	// The bound sits at the median: inconclusive, which --retry would decide.
	if code != 0 || !strings.Contains(out, "PASS: 0 failed, 0 passed, 1 inconclusive") || !strings.Contains(stderr, "not written") || !strings.Contains(stderr, "gates.xml") {
		t.Errorf("gate: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "report", dir)
	if code != 0 || !strings.Contains(out, "throughput") || !strings.Contains(stderr, "report.md") {
		t.Errorf("report: exit %d\n%s%s", code, out, stderr)
	}
	// Retrying needs this host to have what the scenario names.
	if code, _, stderr = runCLI(t, "gate", dir, "--retry", "1"); code != exitUsage || !strings.Contains(stderr, `scratch_dir: "/nonexistent-scratch" is not a directory`) {
		t.Errorf("gate --retry: exit %d\n%s", code, stderr)
	}
}

// A parameter matrix of 2,400 variants × 1,001 trials is refused by
// validate before anything could start, at a located place.
func TestValidateRefusesAHugePlan(t *testing.T) {
	var threads, durations []string
	for i := 1; i <= 100; i++ {
		threads = append(threads, fmt.Sprint(i))
	}
	for i := 1; i <= 24; i++ {
		durations = append(durations, fmt.Sprintf("%dms", 10*i))
	}
	path := filepath.Join(t.TempDir(), "matrix.yaml")
	os.WriteFile(path, []byte("version: 1\nname: matrix\nrepetitions: 1000\nplatforms:\n  - {name: native, type: native}\nworkloads:\n  - type: cpu\n    params: {threads: ["+
		strings.Join(threads, ", ")+"], duration: ["+strings.Join(durations, ", ")+"]}\n"), 0o644)
	code, _, stderr := runCLI(t, "validate", path)
	if code != exitUsage || !strings.Contains(stderr, "matrix.yaml:7:3: workloads: the plan would take about") || !strings.Contains(stderr, "(2402400 trials), above max_duration 2h0m0s") {
		t.Errorf("validate: exit %d\n%s", code, stderr)
	}
	if code, out, _ := runCLI(t, "validate", path, "--yes"); code != 0 || !strings.Contains(out, "= 2402400 trials") {
		t.Errorf("validate --yes: exit %d\n%s", code, out)
	}
}

// TestRunFailsWhenACellFailedEverywhere: a run that finishes with a cell
// whose every trial failed exits 5 and names the cell, its report written.
func TestRunFailsWhenACellFailedEverywhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "failing.yaml")
	os.WriteFile(path, []byte(`version: 1
name: failing
repetitions: 2
warmup: 0
timeout: 1s
platforms:
  - {name: native, type: native}
workloads:
  - {name: slow, type: cpu, params: {duration: 3s}}
  - {type: syscall, params: {duration: 50ms}}
`), 0o644)
	results := t.TempDir()
	code, _, stderr := runCLI(t, "run", path, "--results", results, "--agent-binary", agentBinary)
	if code != exitTrialsFailed || !strings.Contains(stderr, "every trial of 1 cell(s) failed") || !strings.Contains(stderr, "slow duration=3s on native: 2 of 2 trials failed, first: timed out after 1s") {
		t.Fatalf("exit %d, want %d naming the failed cell:\n%s", code, exitTrialsFailed, stderr)
	}
	if _, err := os.Stat(filepath.Join(results, "latest", "report.md")); err != nil {
		t.Errorf("no report: %v", err)
	}
	// Every trial says how busy the host was (the kernel has PSI here).
	measured, _ := result.ReadSamples(filepath.Join(results, "latest"))
	for _, s := range measured {
		if s.CPUPressure == nil || *s.CPUPressure < 0 || *s.CPUPressure > 1 {
			t.Errorf("%s on %s: CPU pressure %v, want a share", s.Workload, s.Platform, s.CPUPressure)
		}
	}
	// samples.jsonl cut in its last line: the report says what is missing.
	samples := filepath.Join(results, "latest", result.SamplesFile)
	b, _ := os.ReadFile(samples)
	os.WriteFile(samples, b[:len(b)-40], 0o644)
	code, out, stderr := runCLI(t, "report", filepath.Join(results, "latest"))
	if code != 0 || !strings.Contains(out, "samples.jsonl holds 3 of the 4 trials run.json planned, 1 missing") {
		t.Errorf("report of a cut samples.jsonl: exit %d, want a banner saying a trial is missing:\n%s%s", code, out, stderr)
	}
}
