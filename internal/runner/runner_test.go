package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/testagent"
	"github.com/vmbench/vmbench/internal/workload"
)

// agentBinary is a static vmbench built once for these tests: the platforms
// run it as their agent, exactly as a user's run does.
var agentBinary string

func TestMain(m *testing.M) { testagent.Main(m.Run, &agentBinary) }

// needRuntime skips unless the runtime can really run here; CI installs runc
// and runs as root, so these tests run there.
func needRuntime(t *testing.T, name string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create containers")
	}
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed", name)
	}
}

func load(t *testing.T, text string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Load("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func run(t *testing.T, ctx context.Context, s *scenario.Scenario) (string, []result.Sample, error) {
	t.Helper()
	var log strings.Builder
	dir, err := Run(ctx, Options{Scenario: s, ScenarioText: []byte("x"), ResultsDir: t.TempDir(), Binary: agentBinary, Log: &log})
	t.Logf("run log:\n%s", log.String())
	if dir == "" {
		t.Fatalf("no run directory: %v", err)
	}
	samples, rerr := result.ReadSamples(dir)
	if rerr != nil {
		t.Fatal(rerr)
	}
	return dir, samples, err
}

// nothingLeft fails the test if anything the run created still exists:
// containers of runtime, QEMU processes, temp dirs.
func nothingLeft(t *testing.T, runtime, runID string) {
	t.Helper()
	if left := containers(t, runtime, runID); len(left) > 0 {
		t.Errorf("%s containers left behind: %v", runtime, left)
	}
	if left := kvm.Leftovers("/proc", result.NamePrefix+runID); len(left) > 0 {
		t.Errorf("QEMU left running: %+v", left)
	}
	for _, dir := range []string{os.TempDir(), scenario.DefaultScratchDir} {
		if tmp, _ := filepath.Glob(filepath.Join(dir, result.NamePrefix+runID+"*")); len(tmp) > 0 {
			t.Errorf("temp or scratch dirs left behind: %v", tmp)
		}
	}
}

// containers lists the containers of a run that still exist.
func containers(t *testing.T, runtime, runID string) []string {
	t.Helper()
	rt, err := platform.NewRuntime(runtime, agentBinary)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := rt.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var mine []string
	for _, id := range ids {
		if strings.HasPrefix(id, result.NamePrefix+runID) {
			mine = append(mine, id)
		}
	}
	return mine
}

// checkTraces checks series.jsonl: one trace per trial but boots, each with
// a series of every sampler of its platform, read without errors, and the
// footprint metric taken from them.
func checkTraces(t *testing.T, dir string, interval float64, samplers map[string][]string) []result.Trace {
	t.Helper()
	traces, err := result.ReadTraces(dir)
	if err != nil {
		t.Fatal(err)
	}
	samples, _ := result.ReadSamples(dir)
	trials := 0
	for _, s := range samples {
		if s.Workload != "boot" {
			trials++
		}
	}
	if len(traces) != trials {
		t.Errorf("%d traces for %d trials", len(traces), trials)
	}
	for _, tr := range traces {
		var got []string
		for _, s := range tr.Series {
			got = append(got, s.Sampler)
			// The agent, and a container's cgroup, live only while the
			// trial runs: a trial not much longer than the interval may
			// fall between two readings. The host is always there.
			short := tr.Wall < 2*tr.Interval && s.Sampler != "host"
			if len(s.Errors) > 0 || (len(s.Points) == 0 && !short) {
				t.Errorf("%s on %s: %s series: %d points, errors %v", tr.Workload, tr.Platform, s.Sampler, len(s.Points), s.Errors)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(samplers[tr.Platform]) {
			t.Errorf("%s on %s: samplers %v, want %v", tr.Workload, tr.Platform, got, samplers[tr.Platform])
		}
		if tr.Interval != interval || tr.Wall <= 0 || tr.SelfCPU < 0 {
			t.Errorf("%s on %s: interval %v, wall %v, self CPU %v", tr.Workload, tr.Platform, tr.Interval, tr.Wall, tr.SelfCPU)
		}
	}
	return traces
}

// checkProfiles checks that every measured trial has a CPU profile that
// pprof reads, with samples in the workload's code.
func checkProfiles(t *testing.T, dir string, samples []result.Sample) {
	t.Helper()
	for _, s := range samples {
		if s.Warmup || s.Error != "" || s.Workload == "boot" {
			if s.Profile != "" {
				t.Errorf("%s on %s (warmup %v): profile %s", s.Workload, s.Platform, s.Warmup, s.Profile)
			}
			continue
		}
		f, err := os.Open(filepath.Join(dir, s.Profile))
		if err != nil {
			t.Errorf("%s on %s: %v", s.Workload, s.Platform, err)
			continue
		}
		p, err := profile.Parse(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", s.Profile, err)
			continue
		}
		// The profiler samples every 10 ms of CPU time: a trial that got
		// little CPU (on a loaded host a 100 ms pipe trial got too little
		// for one sample) has a valid profile with nothing in it.
		var cpu float64
		for _, m := range s.Metrics {
			if m.Name == "host_cpu" {
				cpu = m.Value
			}
		}
		// Go's profiler times each thread's own CPU: the pipe's two ends
		// ping-pong over several threads, none of which may reach 10 ms
		// of a short trial (once: 109 ms of CPU in all, no sample).
		floor := 0.1
		if s.Type == "syscall" {
			floor = 0.5
		}
		if cpu < floor {
			continue
		}
		found := false
		for _, fn := range p.Function {
			found = found || strings.Contains(fn.Name, "workloads/"+s.Type)
		}
		if !found || len(p.Sample) == 0 {
			t.Errorf("%s: %d samples after %.0f ms of CPU, none in package workloads/%s", s.Profile, len(p.Sample), 1000*cpu, s.Type)
		}
	}
}

func runID(t *testing.T, dir string) string {
	info, err := result.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	return info.RunID
}

const nativeAndRunc = `version: 1
name: it
repetitions: 2
warmup: 1
platforms:
  - {name: native, type: native}
  - {name: box, type: container, runtime: runc, cpus: 1, memory: 512MiB}
workloads:
  - type: cpu
    params: {duration: 100ms, threads: [1, 2]}
  - type: memory
    params: {duration: 100ms, size: 16MiB}
  - type: syscall
    params: {duration: 100ms, kind: pipe}
`

func TestRunNativeAndRunc(t *testing.T) {
	needRuntime(t, "runc")
	dir, samples, err := run(t, context.Background(), load(t, nativeAndRunc))
	if err != nil {
		t.Fatal(err)
	}
	// 2 platforms × 4 variants × (1 + 2) rounds.
	if len(samples) != 24 {
		t.Fatalf("got %d samples, want 24", len(samples))
	}
	per := map[string]int{}
	for _, s := range samples {
		if s.Error != "" {
			t.Errorf("%s on %s failed: %s", s.Workload, s.Platform, s.Error)
			continue
		}
		if len(s.Metrics) == 0 || s.Metrics[0].Value <= 0 {
			t.Errorf("%s on %s: no positive metric: %+v", s.Workload, s.Platform, s.Metrics)
		}
		per[s.Platform+"/"+s.Workload]++
		// The host's CPU time of the trial: the workload's busy loop for
		// 100ms, runc's container included; a third of it at least, as on
		// this shared host another process can take the rest of the core.
		cost := map[string]float64{}
		for _, m := range s.Metrics {
			cost[m.Name] = m.Value
		}
		if threads := s.Params["threads"]; s.Workload == "cpu" && (cost["host_cpu"] < 0.033 || cost["host_cpu_per_GB"] <= 0) {
			t.Errorf("cpu threads=%s on %s: cost metrics %v", threads, s.Platform, cost)
		}
		// The pipe's other end ran in the same container: every round
		// trip is in the histogram.
		if h := s.Histograms["latency"]; s.Workload == "syscall" && (h == nil || h.Count() < 10 || h.Quantile(0.5) != cost["p50"]) {
			t.Errorf("syscall on %s: histogram %v, p50 %v", s.Platform, h, cost["p50"])
		}
	}
	for _, k := range []string{"native/cpu", "box/cpu", "native/memory", "box/memory", "native/syscall", "box/syscall"} {
		if per[k] == 0 {
			t.Errorf("no sample for %s", k)
		}
	}
	traces := checkTraces(t, dir, 0.1, map[string][]string{"native": {"host", "process"}, "box": {"host", "process", "cgroup"}})
	for _, tr := range traces {
		// The memory workload's container holds its arrays (3 × 16 MiB)
		// in its cgroup for most of the trial.
		for _, s := range tr.Series {
			if m, ok := s.Max("memory"); tr.Workload == "memory" && s.Sampler == "cgroup" && (!ok || m < 16<<20) {
				t.Errorf("%s on %s: cgroup memory %v", tr.Workload, tr.Platform, m)
			}
		}
	}
	checkProfiles(t, dir, samples)
	info, err := result.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.End.IsZero() || info.Interrupted || len(info.Platforms) != 2 || info.Platforms[1].Info["runtime"] != "runc" {
		t.Errorf("run.json: %+v", info)
	}
	nothingLeft(t, "runc", info.RunID)
}

// A trial longer than the scenario's timeout is stopped, recorded as failed,
// and its container is killed and deleted; the run goes on.
func TestTrialTimeoutKillsContainer(t *testing.T) {
	needRuntime(t, "runc")
	s := load(t, `version: 1
name: it
repetitions: 1
warmup: 0
timeout: 5s
platforms:
  - {name: box, type: container}
workloads:
  - {type: cpu, params: {duration: [20s, 50ms]}}
`)
	start := time.Now()
	dir, samples, err := run(t, context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	// The timeout covers the container's start too: 300 ms, as it was,
	// was not enough for the 50 ms trial under stress-ng on both cores.
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("a 5s timeout took %s to stop the trial", took)
	}
	if len(samples) != 2 || !strings.Contains(samples[0].Error, "timed out after 5s") {
		t.Fatalf("samples %+v", samples)
	}
	if samples[1].Error != "" {
		t.Errorf("the run did not go on after the timeout: %+v", samples[1])
	}
	nothingLeft(t, "runc", runID(t, dir))
}

// Cancelling the run (what SIGINT does) stops the trial in flight, keeps the
// finished samples, marks the run interrupted and leaves no container.
func TestInterruptKeepsSamples(t *testing.T) {
	needRuntime(t, "runc")
	s := load(t, `version: 1
name: it
repetitions: 20
warmup: 0
platforms:
  - {name: native, type: native}
  - {name: box, type: container}
workloads:
  - {type: cpu, params: {duration: 400ms}}
`)
	// Interrupted once two trials have finished, whenever that is: on a
	// loaded host the run's start alone once took the 2 s this test gave
	// it, and it was interrupted before any trial.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	results := t.TempDir()
	go func() {
		defer cancel()
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			files, _ := filepath.Glob(filepath.Join(results, "2*", result.SamplesFile))
			if len(files) == 1 {
				if b, _ := os.ReadFile(files[0]); bytes.Count(b, []byte("\n")) >= 2 {
					return
				}
			}
		}
	}()
	var log strings.Builder
	dir, err := Run(ctx, Options{Scenario: s, ScenarioText: []byte("x"), ResultsDir: results, Binary: agentBinary, Log: &log})
	t.Logf("run log:\n%s", log.String())
	samples, rerr := result.ReadSamples(dir)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if err != ErrInterrupted {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if len(samples) == 0 || len(samples) >= 40 {
		t.Errorf("got %d samples; want the few that finished", len(samples))
	}
	info, _ := result.ReadRun(dir)
	if !info.Interrupted || info.End.IsZero() {
		t.Errorf("run.json not marked interrupted: %+v", info)
	}
	nothingLeft(t, "runc", info.RunID)
}

// crun refuses hybrid cgroup hosts; vmbench runs it without the cgroup2
// mount there, so it must work wherever crun is installed.
func TestCrun(t *testing.T) {
	needRuntime(t, "crun")
	dir, samples, err := run(t, context.Background(), load(t, `version: 1
name: it
repetitions: 1
warmup: 0
platforms:
  - {name: box, type: container, runtime: crun, memory: 256MiB}
workloads:
  - {type: cpu, params: {duration: 50ms}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 1 || samples[0].Error != "" || samples[0].Metrics[0].Value <= 0 {
		t.Fatalf("samples %+v", samples)
	}
	nothingLeft(t, "crun", runID(t, dir))
}

type brokenPlatform struct{}

func (brokenPlatform) Name() string { return "broken" }
func (brokenPlatform) Start(context.Context) (platform.Instance, error) {
	return nil, fmt.Errorf("no such hypervisor")
}

// A platform that cannot start is reported and fails the run, but the other
// platforms' trials still run and are written.
func TestPlatformThatCannotStart(t *testing.T) {
	s := load(t, `version: 1
name: it
repetitions: 2
warmup: 0
platforms:
  - {name: native, type: native}
  - {name: broken, type: native}
workloads:
  - {type: cpu, params: {duration: 20ms}}
`)
	var log strings.Builder
	dir, err := Run(context.Background(), Options{
		Scenario: s, ScenarioText: []byte("x"), ResultsDir: t.TempDir(), Binary: agentBinary, Log: &log,
		NewPlatform: func(p scenario.Platform, env Env) (platform.Platform, error) {
			if p.Name == "broken" {
				return brokenPlatform{}, nil
			}
			return New(p, env)
		},
	})
	if !errors.Is(err, ErrPlatformsFailed) || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("err = %v", err)
	}
	samples, _ := result.ReadSamples(dir)
	if len(samples) != 2 || samples[0].Platform != "native" {
		t.Errorf("samples %+v", samples)
	}
	info, _ := result.ReadRun(dir)
	if !strings.Contains(info.Platforms[1].Error, "no such hypervisor") {
		t.Errorf("run.json platform error %q", info.Platforms[1].Error)
	}
}

// flakyPlatform is a guest that dies under the first `deaths` trials and is
// restarted each time, as a wedged TCG guest is.
type flakyPlatform struct{ deaths int }

func (p *flakyPlatform) Name() string { return "flaky" }
func (p *flakyPlatform) Start(context.Context) (platform.Instance, error) {
	return &flakyInstance{p: p}, nil
}

type flakyInstance struct {
	p     *flakyPlatform
	calls int
}

func (i *flakyInstance) Run(ctx context.Context, req agent.Request) (platform.Output, error) {
	i.calls++
	if i.calls <= i.p.deaths {
		return platform.Output{}, fmt.Errorf("the guest died: %w for the next trials (restart %d)", platform.ErrRestarted, i.calls)
	}
	return platform.Output{Result: workload.Result{Metrics: []result.Metric{{Name: "throughput", Unit: "B/s", Value: 42}}}}, nil
}
func (i *flakyInstance) Info() map[string]string         { return nil }
func (i *flakyInstance) Close(ctx context.Context) error { return nil }

// A trial whose guest died and was restarted is run once more on the new
// guest; a second death fails it.
func TestTrialRunAgainAfterARestart(t *testing.T) {
	s := load(t, `version: 1
name: it
repetitions: 1
warmup: 0
platforms:
  - {name: native, type: native}
workloads:
  - {type: cpu, params: {duration: 20ms}}
`)
	for _, tc := range []struct {
		deaths  int
		wantErr bool
	}{{1, false}, {2, true}} {
		p := &flakyPlatform{deaths: tc.deaths}
		dir, err := Run(context.Background(), Options{
			Scenario: s, ScenarioText: []byte("x"), ResultsDir: t.TempDir(), Binary: agentBinary,
			NewPlatform: func(scenario.Platform, Env) (platform.Platform, error) { return p, nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		samples, _ := result.ReadSamples(dir)
		if len(samples) != 1 {
			t.Fatalf("%d deaths: %d samples", tc.deaths, len(samples))
		}
		got := samples[0]
		if (got.Error != "") != tc.wantErr || len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "first attempt failed and was run again: the guest died") {
			t.Errorf("%d deaths: error %q, warnings %q", tc.deaths, got.Error, got.Warnings)
		}
		if !tc.wantErr && got.Metrics[0].Value != 42 {
			t.Errorf("%d deaths: metrics %+v", tc.deaths, got.Metrics)
		}
	}
}

// sample_interval: 0s and profile: false turn the samplers and profiles
// off: no series, no footprint, no profile files.
func TestSamplingOff(t *testing.T) {
	dir, samples, err := run(t, context.Background(), load(t, `version: 1
name: it
repetitions: 1
warmup: 0
sample_interval: 0s
profile: false
platforms:
  - {name: native, type: native}
workloads:
  - {type: cpu, params: {duration: 50ms}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 1 || samples[0].Profile != "" || len(samples[0].Metrics) != 3 || samples[0].Metrics[2].Name != "host_cpu_per_GB" {
		t.Errorf("sample %+v", samples[0])
	}
	if traces, err := result.ReadTraces(dir); err != nil || len(traces) != 0 {
		t.Errorf("%d traces (%v)", len(traces), err)
	}
	if _, err := os.Stat(filepath.Join(dir, result.ProfilesDir)); !os.IsNotExist(err) {
		t.Errorf("profiles directory: %v", err)
	}
}

// The reference tools run on the host (native) and in runc from the tools
// rootfs vmbench builds with mmdebstrap; iperf3's and redis-benchmark's
// clients on the host reach their servers over loopback and the bridge.
// TestToolsOnEveryPlatform runs the reference tools on the host, in runc
// from the tools rootfs, and in guests from the tools image: in runc inside
// a guest and as a bare guest process.
func TestToolsOnEveryPlatform(t *testing.T) {
	needGuest(t)
	needRuntime(t, "runc")
	for _, tool := range []string{"fio", "sysbench", "stress-ng", "iperf3", "redis-server", "redis-benchmark", "wrk", "mmdebstrap", "mkfs.ext4"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: scripts/test.sh installs it", tool)
		}
	}
	_, samples, err := run(t, context.Background(), load(t, `version: 1
name: tools
repetitions: 1
warmup: 0
timeout: 2m
sample_interval: 0s
platforms:
  - {name: native, type: native}
  - {name: box, type: container}
  - {name: guest, type: vm, accel: tcg, vcpus: 1, memory: 512MiB, scratch_size: 16MiB}
  - {name: bare, type: vm, accel: tcg, vcpus: 1, memory: 512MiB, container: false, scratch_size: 16MiB}
workloads:
  - {type: fio, params: {engine: libaio, iodepth: 4, size: 8MiB, duration: 200ms}}
  - {type: sysbench, params: {test: cpu}}
  - {type: iperf3}
  - {type: redis, params: {requests: 2000}}
  - {type: nginx, params: {duration: 1s, connections: 4}}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, s := range samples {
		if s.Workload == "boot" {
			continue
		}
		if s.Error != "" {
			t.Errorf("%s on %s failed: %s", s.Workload, s.Platform, s.Error)
			continue
		}
		if len(s.Metrics) == 0 || s.Metrics[0].Value <= 0 {
			t.Errorf("%s on %s: %+v", s.Workload, s.Platform, s.Metrics)
		}
		got[s.Workload+"/"+s.Platform] = true
	}
	if len(got) != 20 {
		t.Errorf("successful samples: %v, want 5 tools × 4 platforms", got)
	}
}

// gVisor runs the same bundle: runsc intercepts every system call in its
// own kernel, so a null call costs it far more than runc's container.
func TestRunscRunsTheBundle(t *testing.T) {
	needRuntime(t, "runsc")
	_, samples, err := run(t, context.Background(), load(t, `version: 1
name: runsc
repetitions: 1
warmup: 0
sample_interval: 0s
platforms:
  - {name: runc, type: container, network: none}
  - {name: gvisor, type: container, runtime: runsc, network: none}
  - {name: gvisor-host, type: container, runtime: runsc, network: host}
workloads:
  - {type: syscall, params: {duration: 100ms}}
  - {type: startup}
`))
	if err != nil {
		t.Fatal(err)
	}
	latency := map[string]float64{}
	for _, s := range samples {
		if s.Error != "" {
			t.Errorf("%s on %s failed: %s", s.Workload, s.Platform, s.Error)
		}
		for _, m := range s.Metrics {
			if s.Workload == "syscall" && m.Name == "latency" {
				latency[s.Platform] = m.Value
			}
		}
	}
	if latency["runc"] <= 0 || latency["gvisor"] < 5*latency["runc"] || latency["gvisor-host"] <= 0 {
		t.Errorf("getppid latency %v: gVisor's should be many times runc's", latency)
	}
	if ids, _ := exec.Command("runsc", "list", "--quiet").Output(); strings.Contains(string(ids), result.NamePrefix) {
		t.Errorf("runsc containers left: %s", ids)
	}
}
