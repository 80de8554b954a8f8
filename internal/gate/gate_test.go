package gate

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
)

// The recorded run in testdata/run is a real run of the default scenario on
// a host without working KVM: native, runc and a TCG guest.
func recorded(t *testing.T) (result.RunInfo, []result.Sample) {
	t.Helper()
	info, err := result.ReadRun("testdata/run")
	if err != nil {
		t.Fatal(err)
	}
	samples, err := result.ReadSamples("testdata/run")
	if err != nil {
		t.Fatal(err)
	}
	return info, samples
}

// withGates is the recorded run's own scenario with gates appended.
func withGates(t *testing.T, info result.RunInfo, gates string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Load("gated.yaml", []byte(info.Scenario.Text+"gates:\n"+gates))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func find(t *testing.T, r Report, path, label, platform string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Path == path && c.Platform == platform && strings.Contains(c.Label, label) {
			return c
		}
	}
	t.Fatalf("no check of %s %s on %s in %+v", path, label, platform, r.Checks)
	return Check{}
}

func TestRelativeGatesOnRecordedRun(t *testing.T) {
	info, samples := recorded(t)
	s := withGates(t, info, `
  - metric: cpu.throughput
    max_overhead: 10%
  - metric: memory.bandwidth
    where: {op: copy}
    platform: container
    max_overhead: 1%
`)
	r := Evaluate(s, info, samples, nil, 1)
	// Under TCG the guest hashes ~60x slower: the whole interval is far
	// above 10%.
	vm := find(t, r, "gates[0]", "threads=1", "vm")
	if vm.Status != Fail || !(vm.Lo > 10) || !strings.Contains(vm.Reason, "all of it above +10.0%") {
		t.Errorf("vm: %+v", vm)
	}
	// runc costs nothing measurable for cpu: the interval sits below 10%.
	box := find(t, r, "gates[0]", "threads=1", "container")
	if box.Status != Pass || !(box.Hi <= 0.10) || box.N != 6 || box.BaseN != 6 {
		t.Errorf("container: %+v", box)
	}
	// Memory copy in runc: about 0%, with an interval wider than ±1%.
	cp := find(t, r, "gates[1]", "op=copy", "container")
	if cp.Status != Inconclusive || !(cp.Lo < 0.01 && cp.Hi > 0.01) || !strings.Contains(cp.Reason, "straddles") {
		t.Errorf("memory copy: %+v", cp)
	}
	if len(r.Checks) != 2*2+1 {
		t.Errorf("got %d checks, want 5 (2 variants × 2 platforms, then 1)", len(r.Checks))
	}
	// With two threads runc's cpu numbers are noisy (CV 8.5%): the
	// interval reaches past 10%.
	box2 := find(t, r, "gates[0]", "threads=2", "container")
	if box2.Status != Inconclusive {
		t.Errorf("container, 2 threads: %+v", box2)
	}
	if !r.Failed() || r.Summary() != "FAIL: 2 failed, 1 passed, 2 inconclusive" {
		t.Errorf("summary %q", r.Summary())
	}
	cells := r.RetryCells()
	cell := func(w, label, p string) result.Cell { return result.Cell{Workload: w, Label: label, Platform: p} }
	want := []result.Cell{cell("cpu", box2.Label, "container"), cell("cpu", box2.Label, "native"), cell("memory", cp.Label, "container"), cell("memory", cp.Label, "native")}
	if fmt.Sprint(cells) != fmt.Sprint(want) {
		t.Errorf("retry cells %v, want %v", cells, want)
	}
}

// A negligible gate passes on equivalence, fails on its opposite, and says
// inconclusive in between.
func TestNegligibleGate(t *testing.T) {
	info, samples := recorded(t)
	s := withGates(t, info, `
  - metric: cpu.throughput
    where: {threads: 1}
    platform: container
    negligible: 3%
`)
	if g := s.Gates[0]; g.Kind != scenario.Equivalence || g.Versus != "native" || g.Name != "cpu.throughput negligible vs native (±3%)" {
		t.Fatalf("gate %+v", g)
	}
	same := find(t, Evaluate(s, info, samples, nil, 1), "gates[0]", "threads=1", "container")
	if same.Status != Pass || !same.Paired || !(same.Lo >= -0.03 && same.Hi <= 0.03) || !strings.Contains(same.Reason, "negligible, all of it within ±3.0%") {
		t.Errorf("as recorded: %+v", same)
	}
	slow := find(t, Evaluate(s, info, scaled(samples, "cpu", "container", 1/1.2), nil, 1), "gates[0]", "threads=1", "container")
	if slow.Status != Fail || !strings.Contains(slow.Reason, "not negligible, all of it beyond ±3.0%") {
		t.Errorf("20%% slower: %+v", slow)
	}
	near := find(t, Evaluate(s, info, scaled(samples, "cpu", "container", 1/1.03), nil, 1), "gates[0]", "threads=1", "container")
	if near.Status != Inconclusive || !strings.Contains(near.Reason, "straddles the margin ±3.0%") {
		t.Errorf("3%% slower: %+v", near)
	}
}

// A min_overhead gate checks a direction a published finding predicts: it
// passes where all of the interval is at least the bound.
func TestMinOverheadGate(t *testing.T) {
	info, samples := recorded(t)
	s := withGates(t, info, `
  - metric: cpu.throughput
    where: {threads: 1}
    min_overhead: 20%
`)
	if g := s.Gates[0]; g.Kind != scenario.Relative || !g.AtLeast || g.Name != "cpu.throughput overhead vs native ≥ 20%" {
		t.Fatalf("gate %+v", g)
	}
	r := Evaluate(s, info, samples, nil, 1)
	// The TCG guest is many times slower: all of it above 20%.
	if vm := find(t, r, "gates[0]", "threads=1", "vm"); vm.Status != Pass || !strings.Contains(vm.Reason, "all of it ≥ +20.0%") || vm.bound() != "≥ +20.0% vs native" {
		t.Errorf("vm: %+v (%s)", vm, vm.bound())
	}
	// runc costs nothing measurable: all of it below 20%.
	if box := find(t, r, "gates[0]", "threads=1", "container"); box.Status != Fail || !strings.Contains(box.Reason, "all of it below +20.0%") {
		t.Errorf("container: %+v", box)
	}
	near := find(t, Evaluate(s, info, scaled(samples, "cpu", "container", 1/1.2), nil, 1), "gates[0]", "threads=1", "container")
	if near.Status != Inconclusive {
		t.Errorf("20%% slower: %+v", near)
	}
}

func TestAbsoluteGates(t *testing.T) {
	info, samples := recorded(t)
	s := withGates(t, info, `
  - metric: boot.launch_to_ready
    max: 5s
  - metric: cpu.throughput
    where: {threads: 1}
    platform: native
    min: 1GB/s
  - metric: cpu.throughput
    where: {threads: 1}
    platform: vm
    min: 1GB/s
  - metric: memory.bandwidth
    where: {op: triad}
    platform: native
    aggregate: min
    min: 12.9GB/s
  - metric: cpu.throughput
    where: {threads: 2}
    platform: native
    min: 3.6GB/s
`)
	r := Evaluate(s, info, samples, nil, 1)
	boot := find(t, r, "gates[0]", "", "vm")
	if boot.Status != Pass || boot.N != 1 || !strings.Contains(boot.Reason, "n=1: one boot per guest start cannot carry an interval") {
		t.Errorf("boot: %+v", boot)
	}
	if c := find(t, r, "gates[1]", "", "native"); c.Status != Pass || !(c.Lo >= 1e9) {
		t.Errorf("native cpu ≥ 1GB/s: %+v", c)
	}
	if c := find(t, r, "gates[2]", "", "vm"); c.Status != Fail || !(c.Hi < 1e9) || !strings.Contains(c.Reason, "all of it breaks ≥ 1.00 GB/s") {
		t.Errorf("vm cpu ≥ 1GB/s: %+v", c)
	}
	if c := find(t, r, "gates[3]", "", "native"); c.Status != Fail || !strings.HasPrefix(c.Reason, "min of 6 trials") {
		t.Errorf("min aggregate: %+v", c)
	}
	if c := find(t, r, "gates[4]", "", "native"); c.Status != Inconclusive {
		t.Errorf("a bound inside the median's interval: %+v", c)
	}
}

// scaled returns the samples with the values of one workload on one
// platform multiplied by f, as a change that slows that workload down.
func scaled(samples []result.Sample, workload, platform string, f float64) []result.Sample {
	out := make([]result.Sample, len(samples))
	for i, s := range samples {
		out[i] = s
		if s.Workload == workload && s.Platform == platform {
			out[i].Metrics = nil
			for _, m := range s.Metrics {
				m.Value *= f
				out[i].Metrics = append(out[i].Metrics, m)
			}
		}
	}
	return out
}

// synthetic is one measured cell, cpu threads=1 on native, with values×f.
func synthetic(values []float64, f float64) []result.Sample {
	var out []result.Sample
	for i, v := range values {
		out = append(out, result.Sample{Workload: "cpu", Label: "kernel=hash threads=1 duration=500ms", Platform: "native", Trial: i,
			Metrics: []result.Metric{{Name: "throughput", Unit: "B/s", Value: v * f}}})
	}
	return out
}

func TestRegressionGates(t *testing.T) {
	info, samples := recorded(t)
	s := withGates(t, info, `
  - metric: cpu.throughput
    max_regression: 5%
  - metric: cpu.throughput
    platform: native
    max_regression: 5%
    of: value
`)
	base := &Baseline{Info: info, Samples: samples}

	// The same samples: nothing changed. The overhead gate checks the two
	// non-baseline platforms, the value gate native.
	// A pass needs the whole interval within the threshold: with this
	// run's noise (CV up to 5%) some cells cannot show that, and say
	// inconclusive rather than pass.
	same := Evaluate(s, info, samples, base, 1)
	if same.Failed() || same.Count(Pass)+same.Count(Inconclusive) != 6 || same.Count(Inconclusive) == 0 {
		t.Errorf("unchanged run: %s %+v", same.Summary(), same.Checks)
	}
	for _, c := range same.Checks {
		if (c.Status == Pass) != (c.Hi <= 0.05) || math.Abs(c.Value) > 1e-9 {
			t.Errorf("unchanged: %s: %s", c.Status, c.Reason)
		}
	}

	// 20% less throughput in the container: 25% more cost per unit of work
	// relative to native, round by round.
	slow := Evaluate(s, info, scaled(samples, "cpu", "container", 1/1.2), base, 1)
	c := find(t, slow, "gates[0]", "threads=1", "container")
	if c.Status != Fail || math.Abs(c.Value-0.2) > 0.001 || !(c.Lo > 0.05) || !strings.Contains(c.Reason, "all of it a regression beyond +5.0%") ||
		c.Against != "baseline run, as overhead vs native" {
		t.Errorf("20%% slower: %+v", c)
	}
	// A retry of an overhead regression re-runs the baseline platform too.
	if cells := c.Cells(); len(cells) != 2 || cells[1].Platform != "native" {
		t.Errorf("cells %v", cells)
	}
	if c := find(t, slow, "gates[0]", "threads=1", "vm"); c.Status == Fail || c.Value != 0 {
		t.Errorf("the vm did not change: %+v", c)
	}

	// The whole host 20% slower (every platform): the overheads did not
	// change, so the overhead gate passes, exactly; native's value gate
	// sees the drift.
	drift := samples
	for _, p := range []string{"native", "container", "vm"} {
		drift = scaled(drift, "cpu", p, 1/1.2)
	}
	d := Evaluate(s, info, drift, base, 1)
	if c := find(t, d, "gates[0]", "threads=2", "container"); c.Status == Fail || math.Abs(c.Value) > 1e-9 {
		t.Errorf("host drift, overhead gate: %+v", c)
	}
	if c := find(t, d, "gates[1]", "threads=2", "native"); c.Status != Fail {
		t.Errorf("host drift, value gate: %+v", c)
	}

	// 2% slower with the recorded noise (CV 5%): no evidence either way.
	small := Evaluate(s, info, scaled(samples, "cpu", "native", 1/1.02), base, 1)
	if c := find(t, small, "gates[1]", "threads=2", "native"); c.Status != Inconclusive || !strings.Contains(c.Reason, "straddles the threshold +5.0%") {
		t.Errorf("2%% slower: %+v", c)
	}
	// 3% slower without noise: all of the interval below the threshold.
	quiet := []float64{100, 100.2, 99.8, 100.1, 99.9, 100}
	steady := Evaluate(s, info, synthetic(quiet, 1/1.03), &Baseline{Info: info, Samples: synthetic(quiet, 1)}, 1)
	if c := find(t, steady, "gates[1]", "threads=1", "native"); c.Status != Pass || !(c.Lo > 0 && c.Hi <= 0.05) || !strings.Contains(c.Reason, "all of it within +5.0%") {
		t.Errorf("3%% slower, quiet: %+v", c)
	}
	// 6% slower with the recorded noise: significant, interval across 5%.
	mid := Evaluate(s, info, scaled(samples, "cpu", "native", 1/1.06), base, 1)
	if c := find(t, mid, "gates[1]", "threads=2", "native"); c.Status != Inconclusive || !(c.Lo < 0.05 && c.Hi > 0.05) {
		t.Errorf("6%% slower: %+v", c)
	}

	// Without a baseline the regression gates are skipped, visibly.
	none := Evaluate(s, info, samples, nil, 1)
	if none.Count(Skipped) != 6 || none.Failed() || len(none.Warnings) != 1 {
		t.Errorf("no baseline: %s %v", none.Summary(), none.Warnings)
	}
}

func TestFailedTrialsFailTheGate(t *testing.T) {
	info, samples := recorded(t)
	s := withGates(t, info, "  - {metric: cpu.throughput, platform: container, max: 100GB/s}\n")
	var broken []result.Sample
	for _, x := range samples {
		if x.Platform == "container" && x.Workload == "cpu" {
			x.Metrics, x.Error = nil, "runc: exit status 1"
		}
		broken = append(broken, x)
	}
	r := Evaluate(s, info, broken, nil, 1)
	c := find(t, r, "gates[0]", "threads=1", "container")
	if c.Status != Fail || c.Reason != "no measurement on container: 6 trial(s) failed: runc: exit status 1" {
		t.Errorf("%+v", c)
	}
}

// TestUnfinishedTrialsDoNotPass: a gate that passes on the trials that
// finished fails when one of its cells' trials stalled at a rate of 0 or
// failed, saying so; the analysis counts a stall as a failed trial, as the
// report does.
func TestUnfinishedTrialsDoNotPass(t *testing.T) {
	info, samples := recorded(t)
	s := withGates(t, info, "  - {metric: cpu.throughput, platform: container, max: 100GB/s}\n")
	if c := find(t, Evaluate(s, info, samples, nil, 1), "gates[0]", "threads=1", "container"); c.Status != Pass {
		t.Fatalf("every trial finished: %+v, want a pass", c)
	}
	for _, tc := range []struct {
		name, platform, reason string
		change                 func(*result.Sample)
	}{
		{"stalled", "container", "1 of 6 trial(s) on container did not finish (a trial measured a rate of 0 (it stalled))",
			func(x *result.Sample) {
				x.Metrics = []result.Metric{{Name: "throughput", Unit: x.Metrics[0].Unit, Value: 0}}
			}},
		{"failed", "container", "1 of 6 trial(s) on container did not finish (timed out)",
			func(x *result.Sample) { x.Metrics, x.Error = nil, "timed out" }},
	} {
		var changed []result.Sample
		done := false
		for _, x := range samples {
			if !done && !x.Warmup && x.Platform == tc.platform && x.Workload == "cpu" && strings.Contains(x.Label, "threads=1") {
				tc.change(&x)
				done = true
			}
			changed = append(changed, x)
		}
		c := find(t, Evaluate(s, info, changed, nil, 1), "gates[0]", "threads=1", "container")
		if c.Status != Fail || !strings.Contains(c.Reason, tc.reason) {
			t.Errorf("%s: %s %q, want a fail saying %q", tc.name, c.Status, c.Reason, tc.reason)
		}
	}
}

func TestBaselineFileRoundTrip(t *testing.T) {
	info, samples := recorded(t)
	path := filepath.Join(t.TempDir(), "baseline.json")
	n, err := SaveBaseline(path, info, samples)
	if err != nil {
		t.Fatal(err)
	}
	warm := 0
	for _, s := range samples {
		if s.Warmup {
			warm++
		}
	}
	if n != len(samples)-warm || warm == 0 {
		t.Errorf("saved %d samples of %d (%d warmups)", n, len(samples), warm)
	}
	b, err := LoadBaseline(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.Info.RunID != info.RunID || len(b.Samples) != n || b.Samples[3].Metrics[0] != samples[3+0].Metrics[0] && !samples[3].Warmup {
		t.Errorf("loaded %s with %d samples", b.Info.RunID, len(b.Samples))
	}
	// A run directory is a baseline too.
	d, err := LoadBaseline("testdata/run")
	if err != nil || len(d.Samples) != len(samples) {
		t.Errorf("run dir as baseline: %v", err)
	}
	// Gating a run against its own saved baseline never fails.
	s := withGates(t, info, "  - {metric: memory.bandwidth, max_regression: 5%}\n")
	if r := Evaluate(s, info, samples, b, 1); r.Failed() || r.Count(Pass)+r.Count(Inconclusive) != 4 {
		t.Errorf("against its own baseline: %s", r.Summary())
	}
	if _, err := LoadBaseline("testdata/run/run.json"); err == nil || !strings.Contains(err.Error(), "not a baseline file") {
		t.Errorf("run.json as a baseline file: %v", err)
	}
}

func TestRenderings(t *testing.T) {
	info, samples := recorded(t)
	s := withGates(t, info, `
  - {metric: cpu.throughput, where: {threads: 1}, max_overhead: 10%}
  - {metric: cpu.throughput, where: {threads: 1}, platform: native, max_regression: 5%, of: value}
`)
	r := Evaluate(s, info, scaled(samples, "cpu", "native", 1/1.2), &Baseline{Info: info, Samples: samples}, 1)

	var text bytes.Buffer
	if err := Text(&text, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"vmbench gates for run 20261124-225227-87d7, baseline run 20261124-225227-87d7",
		"FAIL cpu.throughput kernel=hash threads=1 duration=500ms on vm (gates[0]): overhead vs native",
		"FAIL cpu.throughput kernel=hash threads=1 duration=500ms on native (gates[1]): change vs baseline +20.0%",
		"FAIL: 2 failed, 1 passed",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}

	var md bytes.Buffer
	Markdown(&md, r)
	if !strings.HasPrefix(md.String(), "## ❌ vmbench gates — FAIL: 2 failed, 1 passed\n") || !strings.Contains(md.String(), "| **FAIL** | cpu.throughput regression ≤ 5% |") {
		t.Errorf("markdown:\n%s", md.String())
	}

	var junit bytes.Buffer
	if err := JUnit(&junit, r); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(junit.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit does not parse: %v\n%s", err, junit.String())
	}
	cases := doc.Suites[0].Cases
	if doc.Tests != 3 || doc.Failures != 2 || len(cases) != 3 || cases[0].Failure != nil || cases[1].Failure == nil ||
		cases[1].Name != "cpu.throughput overhead vs native ≤ 10%: cpu.throughput kernel=hash threads=1 duration=500ms on vm" || !strings.Contains(cases[1].Failure.Text, "bound ≤ +10.0% vs native") {
		t.Errorf("JUnit: %+v", doc)
	}
	// A failure's reason is said once: the message, not the body or system-out.
	if f := cases[1].Failure; strings.Contains(f.Text, f.Message) || cases[1].SystemOut != "" {
		t.Errorf("the reason is repeated: %+v", cases[1])
	}
	validJUnit(t, junit.Bytes())

	var js bytes.Buffer
	if err := JSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var doc2 struct {
		Schema  string
		Verdict string
		Failed  int
		Checks  []struct {
			Status Status
			Value  *float64
			Gate   string
		}
	}
	if err := json.Unmarshal(js.Bytes(), &doc2); err != nil || doc2.Schema != GatesSchema || doc2.Verdict != "fail" || doc2.Failed != 2 ||
		len(doc2.Checks) != 3 || doc2.Checks[1].Status != Fail || doc2.Checks[1].Value == nil {
		t.Errorf("gates.json (%v):\n%s", err, js.String())
	}
}

// validJUnit checks a JUnit document against the schema Jenkins validates
// JUnit reports with (testdata/junit-10.xsd), with the real xmllint.
func validJUnit(t *testing.T, doc []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gates.xml")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xmllint", "--noout", "--schema", "testdata/junit-10.xsd", path).CombinedOutput()
	if err != nil {
		t.Errorf("xmllint: %v\n%s\n%s", err, out, doc)
	}
}

// TestFailedFleetHostFailsHostsAll: a fleet host whose doctor or run
// failed has no samples; hosts: all cannot pass without it and says so as
// an error (gates.xml too), hosts: any names it.
func TestFailedFleetHostFailsHostsAll(t *testing.T) {
	info, samples := recorded(t)
	var fleet []result.Sample
	for _, x := range samples {
		x.Host = "alpha"
		fleet = append(fleet, x)
	}
	info.Fleet = &result.Fleet{Hosts: []result.FleetHost{
		{Name: "alpha", Status: "ok", RunID: info.RunID},
		{Name: "gamma", Status: "failed", Error: "runc not found in PATH", Doctor: "platforms of the scenario: native: can run; container: cannot run (runc not found in PATH)"},
	}}
	for _, hosts := range []string{"all", "any"} {
		s := withGates(t, info, "  - {metric: cpu.throughput, where: {threads: 1}, platform: container, max_overhead: 50%, hosts: "+hosts+"}\n")
		r := Evaluate(s, info, fleet, nil, 1)
		if len(r.Checks) != 1 || !strings.Contains(r.Checks[0].Reason, "not measured: gamma failed (runc not found in PATH)") {
			t.Fatalf("hosts: %s: %+v, want the failed host named", hosts, r.Checks)
		}
		c := r.Checks[0]
		switch {
		case hosts == "all" && (c.Status != Error || !r.Failed() || !strings.HasPrefix(r.Summary(), "FAIL: 0 failed, 0 passed, 1 error")):
			t.Errorf("hosts: all with a failed host: %s, %q; want an error that fails the gates", c.Status, r.Summary())
		case hosts == "any" && c.Status != Pass:
			t.Errorf("hosts: any, alpha within the bound: %s", c.Status)
		}
		if hosts == "all" {
			var x bytes.Buffer
			if err := JUnit(&x, r); err != nil || !strings.Contains(x.String(), `errors="1"`) || !strings.Contains(x.String(), "<error message=") {
				t.Errorf("gates.xml (%v) does not carry the error:\n%s", err, x.String())
			}
			validJUnit(t, x.Bytes())
		}
	}
}

// TestFleetClaimsSplitTheLevel: under hosts: all, "some host breaks the
// bound" is claimed once per host, so each host's FAIL must hold at the
// level split over the hosts; one that holds only at its own level is
// inconclusive.
func TestFleetClaimsSplitTheLevel(t *testing.T) {
	info, recordedSamples := recorded(t)
	// The container 20% slower, and 12 rounds: the recorded 6 twice.
	var samples []result.Sample
	for _, x := range scaled(recordedSamples, "cpu", "container", 1/1.2) {
		samples = append(samples, x)
		x.Trial += 6
		samples = append(samples, x)
	}
	gateOf := func(bound string, hosts string) *scenario.Scenario {
		return withGates(t, info, "  - {metric: cpu.throughput, where: {threads: 1}, platform: container, max_overhead: "+bound+hosts+"}\n")
	}
	one := Evaluate(gateOf("1000%", ""), info, samples, nil, 1).Checks[0]
	split := Evaluate(gateOf("1000%", ""), info, samples, nil, 2).Checks[0]
	if !(split.Lo < one.Lo) {
		t.Fatalf("intervals at 95%% [%v, %v] and 97.5%% [%v, %v]", one.Lo, one.Hi, split.Lo, split.Hi)
	}
	bound := fmt.Sprintf("%.4f%%", 100*(one.Lo+split.Lo)/2) // beyond it at 95%, not at 97.5%
	if c := Evaluate(gateOf(bound, ""), info, samples, nil, 1).Checks[0]; c.Status != Fail {
		t.Fatalf("one host, bound %s: %s, want FAIL", bound, c.Status)
	}
	var fleet []result.Sample
	for _, h := range []string{"alpha", "beta"} {
		for _, x := range samples {
			x.Host = h
			fleet = append(fleet, x)
		}
	}
	info.Fleet = &result.Fleet{Hosts: []result.FleetHost{{Name: "alpha", Status: "ok"}, {Name: "beta", Status: "ok"}}}
	c := Evaluate(gateOf(bound, ", hosts: all"), info, fleet, nil, 1).Checks[0]
	if c.Status != Inconclusive || !strings.Contains(c.Reason, "not at the level split over the fleet's hosts (97.5%)") {
		t.Errorf("two hosts, each beyond %s at 95%% only: %s (%s), want inconclusive", bound, c.Status, c.Reason)
	}
}

// TestBusyHostKeepsRegressionsAcrossRunsUndecided: a regression judged
// across runs says neither pass nor FAIL when other load kept the host busy
// during either run's trials of the cell.
func TestBusyHostKeepsRegressionsAcrossRunsUndecided(t *testing.T) {
	info, samples := recorded(t)
	s := withGates(t, info, "  - {metric: cpu.throughput, where: {threads: 1}, platform: container, max_regression: 5%}\n")
	base := &Baseline{Info: info, Samples: samples}
	pressure := func(in []result.Sample, p float64) []result.Sample {
		out := slices.Clone(in)
		for i := range out {
			out[i].CPUPressure = &p
		}
		return out
	}
	slow := scaled(samples, "cpu", "container", 1/1.2)
	if c := Evaluate(s, info, pressure(slow, 0.05), base, 1).Checks[0]; c.Status != Fail {
		t.Fatalf("quiet host, 20%% slower: %s (%s), want FAIL", c.Status, c.Reason)
	}
	c := Evaluate(s, info, pressure(slow, 0.8), base, 1).Checks[0]
	if c.Status != Inconclusive || !strings.Contains(c.Reason, "but the host was busy (some task waited for a CPU 80% of this run's trials of the cell, 0% of the baseline's") {
		t.Errorf("busy host, 20%% slower: %s (%s), want inconclusive saying why", c.Status, c.Reason)
	}
}

// TestFleetGateWithoutHostsJudgesTheFleet: on a fleet run, a relative gate
// without hosts: judges the fleet's overhead — the hosts' mean, with
// Student's t over them — not every host's rounds pooled as if from one
// host: two hosts 10% and 40% slower make a fleet whose overhead no two
// hosts can pin down, which the pooled rounds would have passed under 30%
// with a narrow interval.
func TestFleetGateWithoutHostsJudgesTheFleet(t *testing.T) {
	info, samples := recorded(t)
	var fleet []result.Sample
	for h, slow := range map[string]float64{"alpha": 1.1, "beta": 1.4} {
		for _, x := range scaled(samples, "cpu", "container", 1/slow) {
			x.Host = h
			fleet = append(fleet, x)
		}
	}
	info.Fleet = &result.Fleet{Hosts: []result.FleetHost{{Name: "alpha", Status: "ok"}, {Name: "beta", Status: "ok"}}}
	s := withGates(t, info, "  - {metric: cpu.throughput, where: {threads: 1}, platform: container, max_overhead: 50%}\n")
	c := Evaluate(s, info, fleet, nil, 1).Checks[0]
	if !strings.Contains(c.Reason, "the fleet's 2 hosts") || c.Status != Inconclusive {
		t.Errorf("two hosts at +10%% and +40%% under a 50%% bound: %s (%s), want inconclusive on the fleet's interval", c.Status, c.Reason)
	}
	if !(c.Lo < 0.10 && c.Hi > 0.50) {
		t.Errorf("the fleet's interval [%+.1f%%, %+.1f%%] does not hold both hosts' and more: two hosts say little of a fleet", 100*c.Lo, 100*c.Hi)
	}
}
