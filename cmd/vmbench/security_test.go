package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// editRun rewrites a stored run's run.json through edit, as a forged or
// damaged run fetched from another host would have it.
func editRun(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, "run.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A run_id that is a path makes no lock file elsewhere: --resume and gate
// --retry refuse the run before they lock it.
func TestStoredRunIDIsNotAPath(t *testing.T) {
	dir := writeRun(t, "forged", 1)
	lock := filepath.Join(t.TempDir(), "planted")
	editRun(t, dir, func(m map[string]any) { m["run_id"] = "../../../../../.." + lock })
	for _, args := range [][]string{{"run", "--resume", dir}, {"gate", dir, "--retry", "1"}, {"report", dir}} {
		code, _, stderr := runCLI(t, args...)
		if code == 0 || !strings.Contains(stderr, "not a run id") {
			t.Errorf("vmbench %v: exit %d, %s", args, code, stderr)
		}
	}
	if _, err := os.Lstat(lock + ".lock"); err == nil {
		t.Errorf("a lock file was made at the stored run's path: %s.lock", lock)
	}
}

// A profile path in samples.jsonl that leaves the run directory (here to
// /dev/zero, which a plain read would follow until memory runs out) is
// refused at once: the report says its profiles are not shown, and why.
func TestStoredProfilePathStaysInTheRun(t *testing.T) {
	dir := writeRun(t, "profiled", 1)
	b, _ := os.ReadFile(filepath.Join(dir, "samples.jsonl"))
	line := strings.SplitN(string(b), "\n", 2)[0]
	forged := strings.Replace(line, `"metrics"`, `"profile":"../../../../../../../../dev/zero","metrics"`, 1)
	os.WriteFile(filepath.Join(dir, "samples.jsonl"), []byte(forged+"\n"+string(b)), 0o644)
	start := time.Now()
	code, stdout, stderr := runCLI(t, "report", dir)
	if code != 0 || !strings.Contains(stdout, "CPU profiles not shown") || !strings.Contains(stdout, "outside its directory") {
		t.Errorf("exit %d after %s:\n%s%s", code, time.Since(start), stdout, stderr)
	}
}

// Links planted in a stored run directory, where report and gate write
// their files, are not written through.
func TestOutputsAreNotWrittenThroughLinks(t *testing.T) {
	dir := writeRun(t, "planted", 1)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o600)
	for _, name := range []string{"report.md", "report.html", "gates.xml", "gates.md", "gates.json"} {
		if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	_, _, stderr := runCLI(t, "report", dir)
	_, _, gateErr := runCLI(t, "gate", dir)
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("written through a planted link: the victim reads %.40q", b)
	}
	if !strings.Contains(stderr+gateErr, "not written") || !strings.Contains(stderr+gateErr, "symbolic link") {
		t.Errorf("no word of the files not written:\n%s\n%s", stderr, gateErr)
	}
}

// gate --retry on a fleet run never runs the scenario text a host sent:
// it needs the scenario file named here, the one the hosts ran.
func TestFleetRetryRunsOnlyTheNamedScenario(t *testing.T) {
	dir := writeRun(t, "fleet", 1)
	editRun(t, dir, func(m map[string]any) {
		m["fleet"] = map[string]any{"hosts": []any{}}
		m["scenario"] = map[string]any{"name": "s", "sha256": "00", "text": "version: 1\nname: s\n"}
	})
	code, _, stderr := runCLI(t, "gate", dir, "--retry", "1")
	if code != exitUsage || !strings.Contains(stderr, "name the scenario file the hosts ran with --scenario") {
		t.Errorf("without --scenario: exit %d, %s", code, stderr)
	}
	other := filepath.Join(t.TempDir(), "other.yaml")
	os.WriteFile(other, []byte("version: 1\nname: s\nplatforms: [{name: native, type: native}]\nworkloads: [{type: cpu}]\ngates: [{name: g, metric: cpu.throughput, platform: native, min: 1}]\n"), 0o644)
	code, _, stderr = runCLI(t, "gate", dir, "--retry", "1", "--scenario", other)
	if code == 0 || !strings.Contains(stderr, "is not the scenario the fleet ran") {
		t.Errorf("another file: exit %d, %s", code, stderr)
	}
}

// Text from a stored run or a workload (a scenario name with HTML, an
// error with terminal escapes, a newline and a spreadsheet formula) stays
// text in the terminal, report.md and samples.csv.
func TestHostileTextStaysText(t *testing.T) {
	dir := writeRun(t, "hostile", 1)
	editRun(t, dir, func(m map[string]any) {
		m["scenario"] = map[string]any{"name": `<img src=x onerror=alert(1)>`, "text": ""}
		m["baseline"] = "nat\x1b[2Jive`<b>"
	})
	f, _ := os.OpenFile(filepath.Join(dir, "samples.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	bad, _ := json.Marshal(map[string]any{"schema": 1, "run_id": "20261204-120000-0000", "workload": "cpu", "platform": "native", "trial": 99,
		"error": "=HYPERLINK(\"http://evil\")\x1b[2J\x1b]0;owned\x07\n| forged | row |\n<script>alert(1)</script> [x](javascript:alert(1))"})
	f.Write(append(bad, '\n'))
	f.Close()
	code, stdout, stderr := runCLI(t, "report", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.ContainsAny(stdout+stderr, "\x1b\x07") {
		t.Errorf("a terminal escape reached the terminal:\n%q", stdout)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for _, bad := range []string{"<img", "<script", "](javascript", "\n| forged"} {
		if strings.Contains(string(md), bad) {
			t.Errorf("report.md holds %q", bad)
		}
	}
	if !strings.Contains(string(md), "&lt;script&gt;") && !strings.Contains(string(md), "&lt;script>") {
		t.Errorf("report.md lost the error's text:\n%s", md)
	}
	csvFile, err := os.Open(filepath.Join(dir, "samples.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer csvFile.Close()
	rows, err := csv.NewReader(csvFile).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		for _, c := range r {
			if c != "" && strings.ContainsRune("=+@", rune(c[0])) {
				t.Errorf("samples.csv has a formula cell: %q", c)
			}
		}
	}
}

// A label is one line: a newline in it forged benchmark lines in bench.txt.
func TestLabelWithANewlineIsRefused(t *testing.T) {
	code, _, stderr := runCLI(t, "run", "../../scenarios/default.yaml", "--label", "commit=abc\nBenchmarkForged 1 1 ns/op")
	if code != exitUsage || !strings.Contains(stderr, "without control characters") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
