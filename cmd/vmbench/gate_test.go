package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/testagent"
)

// agentBinary is a static build of vmbench, what the platforms run.
var agentBinary string

func TestMain(m *testing.M) { testagent.Main(m.Run, &agentBinary) }

// gateScenario is cpu on the host and in a runc container limited to cpus
// cores, reps rounds, gated against regressions in the container.
func writeGateScenario(t *testing.T, cpus string, reps int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gated.yaml")
	os.WriteFile(path, []byte(`version: 1
name: gated
repetitions: `+strconv.Itoa(reps)+`
warmup: 1
platforms:
  - {name: native, type: native}
  - {name: container, type: container, runtime: runc, cpus: `+cpus+`}
workloads:
  - type: cpu
    params: {kernel: hash, threads: 1, duration: 200ms}
gates:
  - metric: cpu.throughput
    platform: container
    max_regression: 5%
    alpha: 0.01
`), 0o644)
	return path
}

// runDir runs a scenario through the CLI and returns its run directory.
func runDir(t *testing.T, results, scenarioPath string) string {
	t.Helper()
	code, _, stderr := runCLI(t, "run", scenarioPath, "--results", results, "--agent-binary", agentBinary)
	if code != 0 {
		t.Fatalf("vmbench run: exit %d\n%s", code, stderr)
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(results, "latest"))
	if err != nil || !strings.Contains(stderr, "report: "+filepath.Join(results, filepath.Base(dir), "report.md")) {
		t.Fatalf("results/latest does not name the run: %v\n%s", err, stderr)
	}
	return dir
}

func needRunc(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create containers")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc is not installed")
	}
}

// A change that makes the container slower (a CPU limit of a quarter of a
// core instead of 1: a quarter of the throughput) fails the regression gate
// with exit 3 and names the metric; an unchanged rerun passes. (The
// README's 20% experiment uses longer trials: CFS quota periods are 100ms.
// Half a core was not enough here: with the other packages' guests busy on
// both cores, one CI run measured +54% with p = 0.041, above alpha 0.01.)
func TestGateCatchesInjectedSlowdown(t *testing.T) {
	needRunc(t)
	results := t.TempDir()
	// 8 rounds: the fewest that carry an interval at alpha 0.01.
	base := runDir(t, results, writeGateScenario(t, "1", 8))
	slow := runDir(t, results, writeGateScenario(t, "0.25", 8))
	same := runDir(t, results, writeGateScenario(t, "1", 8))

	file := filepath.Join(t.TempDir(), "baseline.json")
	if code, out, stderr := runCLI(t, "baseline", "save", base, file); code != 0 || !strings.Contains(out, "16 trials") {
		t.Fatalf("baseline save: exit %d %s%s", code, out, stderr)
	}
	// As the README's CI recipe: --retry 2. On a loaded host the two runs'
	// noise can leave the stored comparison inconclusive (once: +21.3%
	// [−32.9%, ×2.42]); the retry then runs the baseline's one-core
	// container beside the quarter-core one, paired round by round.
	code, out, stderr := runCLI(t, "gate", slow, "--baseline", file, "--retry", "2", "--agent-binary", agentBinary)
	if code != exitGateFailed {
		t.Errorf("slower run: exit %d, want %d\n%s%s", code, exitGateFailed, out, stderr)
	}
	// The rounds it runs depend on the level, split over the retry's looks
	// (11 with one retry round, 12 with two).
	if strings.Contains(stderr, "retry round") && !regexp.MustCompile(`container is defined otherwise in the baseline: its definition runs beside it as container@`+filepath.Base(base)+`, 1[12] rounds, paired`).MatchString(stderr) {
		t.Errorf("the retry did not run the baseline's container beside the run's:\n%s", stderr)
	}
	t.Logf("slower run, gated:\n%s%s", out, stderr)
	if !strings.Contains(out, "FAIL cpu.throughput kernel=hash threads=1 duration=200ms on container") || !strings.Contains(out, "FAIL: 1 failed, 0 passed") {
		t.Errorf("the verdict does not name the metric:\n%s", out)
	}
	junit, _ := os.ReadFile(filepath.Join(slow, "gates.xml"))
	if !strings.Contains(string(junit), `failures="1"`) {
		t.Errorf("gates.xml:\n%s", junit)
	}
	if md, _ := os.ReadFile(filepath.Join(slow, "gates.md")); !strings.Contains(string(md), "❌") {
		t.Errorf("gates.md:\n%s", md)
	}

	// Unchanged: never a failure. It passes only if the whole interval is
	// within 5%; on a noisy host it says inconclusive instead, and on a
	// busy one (runs that met different loads) it gives no verdict.
	code, out, stderr = runCLI(t, "gate", same, "--baseline", base)
	if code != 0 || !strings.Contains(out, "PASS: 0 failed") ||
		strings.Contains(out, "1 inconclusive") && !strings.Contains(out, "straddles the threshold +5.0%; the evidence decides neither") && !strings.Contains(out, "but the host was busy") {
		t.Errorf("unchanged run: exit %d\n%s%s", code, out, stderr)
	}
	t.Logf("unchanged run, gated:\n%s", out)
	for _, dir := range []string{base, slow, same} {
		nothingLeft(t, filepath.Base(dir))
	}
}

// --retry re-runs the cells of an inconclusive gate and decides on all the
// data. A bound at the measured median is inside the median's interval, so
// the first verdict is always inconclusive. The gates come from another
// file, whose container is limited to a quarter core: the retry still runs
// the run's own platforms.
func TestGateRetryAppendsTrials(t *testing.T) {
	needRunc(t)
	path := writeGateScenario(t, "1", 6)
	dir := runDir(t, t.TempDir(), path)
	samples, _ := result.ReadSamples(dir)
	var values []float64
	for _, s := range samples {
		if s.Error != "" {
			t.Fatalf("%s on %s failed: %s", s.Workload, s.Platform, s.Error)
		}
		if s.Platform == "container" && !s.Warmup {
			values = append(values, s.Metrics[0].Value)
		}
	}
	median := stats.Summarize(values).Center
	text, _ := os.ReadFile(path)
	gated := strings.Replace(string(text), "max_regression: 5%\n    alpha: 0.01", fmt.Sprintf("min: %.0f", median), 1)
	gated = strings.Replace(gated, "cpus: 1}", "cpus: 0.25}", 1)
	os.WriteFile(path, []byte(gated), 0o644)

	code, out, stderr := runCLI(t, "gate", dir, "--scenario", path)
	if code != 0 || !strings.Contains(out, "PASS: 0 failed, 0 passed, 1 inconclusive") {
		t.Fatalf("before the retry: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "gate", dir, "--scenario", path, "--retry", "1", "--agent-binary", agentBinary)
	if code != 0 && code != exitGateFailed {
		t.Fatalf("gate --retry: exit %d\n%s%s", code, out, stderr)
	}
	if !strings.Contains(stderr, "retry round 1 re-runs 1 cell(s)") {
		t.Errorf("stderr:\n%s", stderr)
	}
	info, _ := result.ReadRun(dir)
	samples, _ = result.ReadSamples(dir)
	measured := map[string]int{}
	var retried []float64
	for _, s := range samples {
		if !s.Warmup {
			measured[fmt.Sprintf("%s/round%d/trial%d", s.Platform, s.Round, s.Trial)]++
		}
		if !s.Warmup && s.Round == 1 && s.Platform == "container" && s.Error == "" {
			retried = append(retried, s.Metrics[0].Value)
		}
	}
	if m := stats.Summarize(retried).Center; !(m > 0.6*median) {
		t.Errorf("retried container median %.3g against the run's %.3g: the retry ran the gate file's quarter-core container, not the run's own", m, median)
	}
	// The retry ran the warmup and the 6 repetitions of the container
	// cell only, numbered after the run's own.
	if len(info.Retries) != 1 || info.Retries[0].Trials != 7 || info.Retries[0].Error != "" ||
		measured["container/round1/trial6"] != 1 || measured["container/round1/trial11"] != 1 || measured["native/round1/trial6"] != 0 {
		t.Errorf("retries %+v, measured %v", info.Retries, measured)
	}
	// The report of the run now counts 12 trials in the container, and
	// judges at the level the gate did: its 2 looks at the data.
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(md), "n=12") {
		t.Errorf("report.md was not re-rendered with the retried trials:\n%s", md)
	}
	if info.Retries[0].Looks != 2 || !strings.Contains(string(md), "the 5% error rate is split over the 2 looks at the data, hence the 97.5% level") {
		t.Errorf("retry looks %d; report.md does not judge at the gate's level:\n%s", info.Retries[0].Looks, md)
	}
	nothingLeft(t, info.RunID)
}

// nothingLeft checks that no container or QEMU of the run is left.
func nothingLeft(t *testing.T, runID string) {
	t.Helper()
	out, err := exec.Command("runc", "list", "-q").Output()
	if err != nil {
		t.Fatalf("runc list: %v", err)
	}
	if strings.Contains(string(out), runID) {
		t.Errorf("runc containers left behind:\n%s", out)
	}
	if left := kvm.Leftovers("/proc", "vmbench-"+runID); len(left) > 0 {
		t.Errorf("QEMU left behind: %v", left)
	}
}

func TestGateBadInputExit2(t *testing.T) {
	run := writeRun(t, "a", 1) // its scenario copy is empty
	noGates := filepath.Join(t.TempDir(), "plain.yaml")
	os.WriteFile(noGates, []byte("version: 1\nname: plain\nplatforms: [{name: native, type: native}]\nworkloads: [{type: cpu}]\n"), 0o644)
	gated := filepath.Join(t.TempDir(), "gated.yaml")
	os.WriteFile(gated, []byte("version: 1\nname: gated\nplatforms: [{name: native, type: native}]\nworkloads: [{type: cpu}]\ngates: [{metric: cpu.throughput, max_regression: 5%}]\n"), 0o644)
	badGate := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(badGate, []byte("version: 1\nname: bad\nplatforms: [{name: native, type: native}]\nworkloads: [{type: cpu}]\ngates:\n  - {metric: cpu.ops, max: 1}\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"gate", run}, "the run's scenario does not load"},
		{[]string{"gate", run, "--scenario", noGates}, `scenario "plain" has no gates`},
		{[]string{"gate", run, "--scenario", badGate}, `bad.yaml:6:14: gates[0].metric: workload cpu has no metric "ops" (metrics: cpu.throughput, cpu.host_cpu, cpu.host_cpu_per_GB, cpu.footprint)`},
		{[]string{"gate", run, "--scenario", badGate, "--retry", "-1"}, "--retry must be ≥ 0"},
		{[]string{"gate", "/nonexistent-run"}, "read run"},
		{[]string{"gate", run, "--scenario", gated, "--baseline", "/nonexistent.json"}, "read baseline"},
		{[]string{"baseline", "save", "/nonexistent-run", "x.json"}, "read run"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("vmbench %v: exit %d, stderr:\n%s\nwant exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestGateRerunsTheBaselinesPlatformPaired: a regression the stored
// baseline cannot decide (here: 3 rounds each, too few for an interval at
// 99.5%) is decided by --retry, which runs the baseline's definition of the
// gated platform (one core) beside the run's (a quarter core), round by
// round, and judges the change paired: a fourfold slowdown fails whatever
// the host's load. With the same definition there is nothing to re-run
// beside it, and the verdict stays with the stored baseline.
func TestGateRerunsTheBaselinesPlatformPaired(t *testing.T) {
	needRunc(t)
	results := t.TempDir()
	short := func(cpus string) string { return writeGateScenario(t, cpus, 3) }
	base := runDir(t, results, short("1"))
	slow := runDir(t, results, short("0.25"))
	same := runDir(t, results, short("1"))

	// Two retry rounds, as on a shared CI runner: once, in CI with both
	// cores busy and guests booting beside it, the quarter core's first 11
	// paired rounds read ×2.30 [−40.8%, ×5.84] (the load starved both
	// containers alike in some rounds), undecided; a second round of
	// paired rounds, judged over all of them, decides.
	code, out, stderr := runCLI(t, "gate", slow, "--baseline", base, "--retry", "2", "--agent-binary", agentBinary)
	t.Logf("quarter core against one:\n%s%s", out, stderr)
	rounds := regexp.MustCompile(`container is defined otherwise in the baseline: its definition runs beside it as container@` + filepath.Base(base) + `, (\d+) rounds, paired`).FindStringSubmatch(stderr)
	if code != exitGateFailed || rounds == nil ||
		!strings.Contains(out, "FAIL cpu.throughput kernel=hash threads=1 duration=200ms on container") || !strings.Contains(out, "change vs the baseline's container re-run beside it (paired, ") {
		t.Fatalf("exit %d, want %d after a paired re-run of the baseline's container", code, exitGateFailed)
	}
	// Each retry round ran the baseline's container in every round it
	// planned.
	samples, _ := result.ReadSamples(slow)
	twin := map[int]int{}
	for _, s := range samples {
		if s.Platform == "container@"+filepath.Base(base) && !s.Warmup && s.Error == "" {
			twin[s.Round]++
		}
	}
	if want, _ := strconv.Atoi(rounds[1]); twin[1] != want || len(twin) > 2 || (len(twin) == 2 && twin[2] != want) {
		t.Errorf("measured trials of the baseline's container per retry round %v, want %d in each", twin, want)
	}

	code, out, stderr = runCLI(t, "gate", same, "--baseline", base, "--retry", "1", "--agent-binary", agentBinary)
	if code != 0 || strings.Contains(stderr, "defined otherwise") || strings.Contains(out, "FAIL") {
		t.Errorf("same definition: exit %d, want 0 and no re-run of the baseline's platform\n%s%s", code, out, stderr)
	}
	for _, dir := range []string{base, slow, same} {
		nothingLeft(t, filepath.Base(dir))
	}
}
