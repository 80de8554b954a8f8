package fleet

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/gate"
	"github.com/vmbench/vmbench/internal/report"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
)

// hostRun writes the run of one host: cpu on native and container, the
// container over native by overhead, 8 rounds with a little noise.
func hostRun(t *testing.T, dir, name, cpu string, overhead float64) {
	t.Helper()
	info := result.RunInfo{Schema: 1, RunID: "20261129-120000-" + name[len(name)-4:], Baseline: "native",
		Scenario: result.ScenarioCopy{Name: "fleet"}, Labels: map[string]string{"host": name},
		Host:      result.Host{Hostname: name, CPUModel: cpu, Kernel: "6.1.0"},
		Platforms: []result.PlatformInfo{{Name: "native", Type: "native"}, {Name: "container", Type: "container"}},
		Start:     time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := result.WriteRun(dir, info); err != nil {
		t.Fatal(err)
	}
	w, err := result.CreateSamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	for rep := range 8 {
		noise := 1 + 0.002*float64(rep%3-1)
		for p, v := range map[string]float64{"native": 1e9, "container": 1e9 / (1 + overhead) * noise} {
			w.Write(result.Sample{Schema: 1, RunID: info.RunID, Workload: "cpu", Type: "cpu", Platform: p, Trial: rep,
				Metrics: []result.Metric{{Name: "throughput", Unit: "B/s", Value: v}}})
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMergeAFleet(t *testing.T) {
	tmp := t.TempDir()
	hostRun(t, filepath.Join(tmp, "a", "run"), "host-aaaa", "EPYC", 0.05)
	hostRun(t, filepath.Join(tmp, "b"), "host-bbbb", "EPYC", 0.15)
	hostRun(t, filepath.Join(tmp, "c", "run"), "host-cccc", "Xeon", 0.25)
	// A host whose run failed: the playbook's status, no run.
	os.MkdirAll(filepath.Join(tmp, "d"), 0o755)
	st, _ := json.Marshal(Status{Host: "host-dddd", Status: "failed", Stage: "run", Error: "vmbench run exited 2"})
	os.WriteFile(filepath.Join(tmp, "d", StatusFile), st, 0o644)

	out := filepath.Join(tmp, "fleet")
	info, err := Merge([]string{filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), filepath.Join(tmp, "c"), filepath.Join(tmp, "d")}, out, "20261129-130000-f1ee")
	if err != nil {
		t.Fatal(err)
	}
	var names, status []string
	for _, h := range info.Fleet.Hosts {
		names, status = append(names, h.Name), append(status, h.Status)
	}
	if strings.Join(names, " ") != "host-aaaa host-bbbb host-cccc host-dddd" || strings.Join(status, " ") != "ok ok ok failed" {
		t.Errorf("hosts %v %v", names, status)
	}
	if len(info.Fleet.Warnings) != 1 || !strings.Contains(info.Fleet.Warnings[0], "CPU model: EPYC on host-aaaa, host-bbbb; Xeon on host-cccc") {
		t.Errorf("warnings %q", info.Fleet.Warnings)
	}
	stored, err := result.ReadRun(out)
	if err != nil || stored.Fleet == nil || stored.RunID != "20261129-130000-f1ee" {
		t.Fatalf("run.json: %+v %v", stored, err)
	}
	samples, err := result.ReadSamples(out)
	if err != nil || len(samples) != 3*16 || samples[0].Host != "host-aaaa" || samples[47].Host != "host-cccc" {
		t.Fatalf("%d samples, %v", len(samples), err)
	}
	tab := report.Build(stored, samples)
	if tab.Fleet == nil || len(tab.Fleet.Rows) == 0 {
		t.Fatalf("no fleet rows: %+v", tab.Fleet)
	}
	row := tab.Fleet.Rows[0] // cpu throughput on container
	if len(row) != 4+3+2 || !strings.Contains(row[4], "+5.0%") || !strings.Contains(row[6], "+25.0%") {
		t.Errorf("row %q: want each host's overhead", row)
	}
	// The fleet's overhead lies between the hosts', near their mean, and
	// its interval reaches toward both ends of the spread.
	fleet := row[7]
	if !strings.Contains(fleet, "(3 hosts)") || !strings.Contains(fleet, "+14.") {
		t.Errorf("fleet %q, want about +14.8%% over 3 hosts", fleet)
	}
	if row[8] != "20.0 points" {
		t.Errorf("spread %q", row[8])
	}
	// The merged run's pooled cells pair rounds within each host.
	var md strings.Builder
	report.Markdown(&md, tab)
	for _, want := range []string{"## Fleet: 4 hosts", "| host-dddd | failed |", "vmbench run exited 2", "Student's t over the hosts'"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	var page strings.Builder
	if err := report.HTML(&page, tab); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), `aria-label="overhead per host and for the fleet"`) || strings.Count(page.String(), "<title>host-") != 3 {
		t.Errorf("report.html has no host-spread chart with a dot per host")
	}
	if _, err := Merge([]string{filepath.Join(tmp, "d")}, filepath.Join(tmp, "x"), "20261129-130000-f1ef"); err == nil || !strings.Contains(err.Error(), "no host has a run to merge (host-dddd: vmbench run exited 2)") {
		t.Errorf("all failed: %v", err)
	}
}

// A gate with hosts: all needs every host to pass, with hosts: any one;
// without, it judges the fleet's overhead, whose interval over two hosts
// at +1% and +30% cannot say the fleet's is under 50%: two hosts say
// little of a fleet (the hosts' rounds pooled said it could).
func TestFleetGates(t *testing.T) {
	tmp := t.TempDir()
	hostRun(t, filepath.Join(tmp, "a"), "host-aaaa", "EPYC", 0.01)
	hostRun(t, filepath.Join(tmp, "b"), "host-bbbb", "EPYC", 0.30)
	out := filepath.Join(tmp, "fleet")
	if _, err := Merge([]string{filepath.Join(tmp, "a"), filepath.Join(tmp, "b")}, out, "20261129-130000-f1ee"); err != nil {
		t.Fatal(err)
	}
	info, _ := result.ReadRun(out)
	samples, _ := result.ReadSamples(out)
	s, err := scenario.Load("f.yaml", []byte(`version: 1
name: fleet
repetitions: 8
platforms:
  - {name: native, type: native}
  - {name: container, type: container}
workloads:
  - {type: cpu}
gates:
  - {name: every host, metric: cpu.throughput, platform: container, max_overhead: 10%, hosts: all}
  - {name: some host, metric: cpu.throughput, platform: container, max_overhead: 10%, hosts: any}
  - {name: fleet, metric: cpu.throughput, platform: container, max_overhead: 50%}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := gate.Evaluate(s, info, samples, nil, 1)
	got := map[string]gate.Status{}
	for _, c := range r.Checks {
		got[c.Gate] = c.Status
		if c.Gate == "fleet" && !strings.Contains(c.Reason, "the fleet's 2 hosts") {
			t.Errorf("reason %q: want the fleet's interval over its hosts", c.Reason)
		}
		if c.Gate == "every host" && (!strings.Contains(c.Reason, "host-aaaa: pass") || !strings.Contains(c.Reason, "host-bbbb: FAIL")) {
			t.Errorf("reason %q: want each host's verdict", c.Reason)
		}
	}
	if got["every host"] != gate.Fail || got["some host"] != gate.Pass || got["fleet"] != gate.Inconclusive {
		t.Errorf("verdicts %v: want all → fail (host-bbbb costs 30%%), any → pass, fleet → inconclusive", got)
	}
	if _, err := scenario.Load("f.yaml", []byte("version: 1\nname: f\nplatforms: [{name: n, type: native}]\nworkloads: [{type: cpu}]\ngates: [{metric: cpu.throughput, max: 1s, hosts: most}]\n")); err == nil || !strings.Contains(err.Error(), "hosts: must be all") {
		t.Errorf("hosts: most: %v", err)
	}
}

// Hosts that ran different scenario files (same name, other text) do not
// merge: the fleet run keeps one text, which a retry may run.
func TestMergeRefusesDifferentScenarioFiles(t *testing.T) {
	tmp := t.TempDir()
	hostRun(t, filepath.Join(tmp, "a"), "host-aaaa", "EPYC", 0.05)
	hostRun(t, filepath.Join(tmp, "b"), "host-bbbb", "EPYC", 0.05)
	info, err := result.ReadRun(filepath.Join(tmp, "b"))
	if err != nil {
		t.Fatal(err)
	}
	info.Scenario.SHA256, info.Scenario.Text = "ffff0000", "version: 1\nname: fleet\n# and something else\n"
	if err := result.WriteRun(filepath.Join(tmp, "b"), info); err != nil {
		t.Fatal(err)
	}
	_, err = Merge([]string{filepath.Join(tmp, "a"), filepath.Join(tmp, "b")}, filepath.Join(tmp, "fleet"), "20261129-130000-f1ee")
	if err == nil || !strings.Contains(err.Error(), "host-bbbb ran scenario \"fleet\" with sha256 ffff0000") {
		t.Errorf("merged runs of two scenario files: %v", err)
	}
	if _, err := os.Stat(filepath.Join(tmp, "fleet")); err == nil {
		t.Error("a fleet run was written")
	}
}
