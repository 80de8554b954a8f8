package main

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden runs validate, report, compare and gate on two stored runs of
// testdata/golden.yaml (testdata/runs, measured on the development host)
// and compares what they print, stdout and stderr, with
// testdata/golden/<case>.stdout and .stderr; -update rewrites those. The
// runs are copied first: report and gate write files beside them.
func TestGolden(t *testing.T) {
	a, b := copyRun(t, "a"), copyRun(t, "b")
	// A density sweep of native, runc and TCG guests, and a fleet run
	// merged from two such sweeps told apart as two host types.
	sweep, fleet := copyRun(t, "sweep"), copyRun(t, "fleet")
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"validate", []string{"validate", "testdata/golden.yaml"}, exitOK},
		{"validate-broken", []string{"validate", "testdata/broken.yaml"}, exitUsage},
		{"validate-json", []string{"validate", "testdata/golden.yaml", "--json", "--set", "repetitions=8"}, exitOK},
		{"validate-broken-json", []string{"validate", "testdata/broken.yaml", "--json"}, exitUsage},
		{"report", []string{"report", a}, exitOK},
		{"report-markdown", []string{"report", "--format", "markdown", a}, exitOK},
		{"compare", []string{"compare", a, b}, exitOK},
		{"gate", []string{"gate", a}, exitOK},
		{"capacity", []string{"capacity", sweep, "--instances", "500"}, exitOK},
		{"capacity-json", []string{"capacity", sweep, "--json", "--allow-emulated", "--headroom", "10%"}, exitOK},
		{"capacity-reprojected", []string{"capacity", sweep, "--host-cores", "64", "--host-memory", "256GiB", "--spares", "0"}, exitOK},
		{"capacity-fleet", []string{"capacity", fleet, "--instances", "100", "--headroom", "0%", "--spares", "0"}, exitOK},
		{"capacity-fleet-json", []string{"capacity", fleet, "--json"}, exitOK},
		{"capacity-not-a-sweep", []string{"capacity", a}, exitUsage},
		{"capacity-bad-headroom", []string{"capacity", sweep, "--headroom", "1.5"}, exitUsage},
		{"missing-argument", []string{"report"}, exitUsage},
		{"unknown-command", []string{"reprot", a}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			name := strings.NewReplacer(a, "RUN_A", b, "RUN_B", sweep, "RUN_SWEEP", fleet, "RUN_FLEET")
			golden(t, tc.name+".stdout", name.Replace(stdout))
			golden(t, tc.name+".stderr", name.Replace(stderr))
		})
	}
}

// copyRun copies testdata/runs/<name> to a fresh directory.
func copyRun(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "runs", name))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// golden compares got with testdata/golden/<file>, or writes it there
// under -update.
func golden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", file)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/vmbench -run TestGolden -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from what it printed (-update rewrites it):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// bench.txt is the Go benchmark format as golang.org/x/perf/benchfmt reads
// it, one unit per metric, and the real benchstat (the test command
// installs it) prints one table per metric.
func TestBenchstatReadsBenchTxt(t *testing.T) {
	a := copyRun(t, "a")
	code, out, stderr := runCLI(t, "report", "--format", "benchstat", a)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := benchfmt.NewReader(strings.NewReader(out), "bench.txt")
	units, results := map[string]bool{}, 0
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("%v", rec)
		case *benchfmt.Result:
			results++
			if rec.GetConfig("vmbench-run") == "" || !strings.Contains(rec.Name.String(), "/platform=") {
				t.Errorf("result %s lacks its run or platform", rec.Name)
			}
			for _, v := range rec.Values {
				units[v.Unit] = true
			}
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if results != 28 || !units["throughput-B/s"] || !units["host_cpu-sec"] || len(units) != 10 {
		t.Fatalf("%d results in units %v, want 28 trials (2 workloads × 2 platforms × 7) in 10 units", results, units)
	}
	for u := range units {
		if r.Units().Get(u, "better") == nil {
			t.Errorf("unit %s has no better= line", u)
		}
	}
	bench := filepath.Join(t.TempDir(), "bench.txt")
	os.WriteFile(bench, []byte(out), 0o644)
	benchstat, err := exec.LookPath("benchstat")
	if err != nil {
		benchstat = filepath.Join(os.Getenv("HOME"), "go", "bin", "benchstat")
	}
	got, err := exec.Command(benchstat, "-col", "/platform", bench).CombinedOutput()
	if err != nil {
		t.Fatalf("benchstat (scripts/test.sh installs it): %v\n%s", err, got)
	}
	if tables := strings.Count(string(got), "vs base"); tables != len(units) {
		t.Errorf("benchstat printed %d tables for %d metrics:\n%s", tables, len(units), got)
	}
	for u := range units {
		if !strings.Contains(string(got), u) {
			t.Errorf("benchstat has no table of %s", u)
		}
	}
}

// vmbench runs lists the stored runs, newest first, with a gated run's
// verdict.
func TestRunsListsStoredRuns(t *testing.T) {
	a, b := copyRun(t, "a"), copyRun(t, "b")
	results := t.TempDir()
	for _, d := range []string{a, b} {
		if err := os.Rename(d, filepath.Join(results, filepath.Base(d))); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, stderr := runCLI(t, "gate", filepath.Join(results, "a")); code != 0 {
		t.Fatalf("gate: exit %d: %s", code, stderr)
	}
	code, out, stderr := runCLI(t, "runs", "--results", results)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	first, second := strings.Index(out, "20261129-180827-8d35"), strings.Index(out, "20261129-180822-625e")
	if first < 0 || second < first || !strings.Contains(out, "| golden ") || !strings.Contains(out, "| pass ") || !strings.Contains(out, "| 28 ") {
		t.Errorf("runs:\n%s", out)
	}
	code, out, _ = runCLI(t, "runs", "--results", results, "--json")
	var doc struct {
		Schema string
		Runs   []storedRun
	}
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil || doc.Schema != RunsSchema || len(doc.Runs) != 2 {
		t.Fatalf("runs --json: exit %d, %v\n%s", code, err, out)
	}
	if r := doc.Runs[1]; r.RunID != "20261129-180822-625e" || r.Gates != "pass" || r.Measured != 28 || r.Scenario != "golden" {
		t.Errorf("runs --json: %+v", r)
	}
}
