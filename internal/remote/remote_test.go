package remote_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/report"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/runner"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/testagent"
)

var agentBinary string

func TestMain(m *testing.M) { testagent.Main(m.Run, &agentBinary) }

func need(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: sshd, and containers on the remote machines")
	}
	for _, p := range []string{"/usr/sbin/sshd", "ssh", "ssh-keygen", "runc"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is not installed: scripts/test.sh installs it", p)
		}
	}
}

// machines starts two "remote machines" on loopback, sshd on 127.0.0.2
// and 127.0.0.3, whose host key is pinned in known_hosts, and writes an
// ssh_config naming them alpha and beta, and changed: 127.0.0.3 under a
// known_hosts that pins another key. It returns the ssh_config's path
// and the sshd PIDs.
func machines(t *testing.T) (string, []int) {
	t.Helper()
	dir := t.TempDir()
	testagent.SSHKeys(t, dir)
	p2, pid2 := testagent.SSHD(t, dir, "127.0.0.2")
	p3, pid3 := testagent.SSHD(t, dir, "127.0.0.3")
	hostKey, _ := os.ReadFile(filepath.Join(dir, "hostkey.pub"))
	os.WriteFile(filepath.Join(dir, "known_hosts"), fmt.Appendf(nil, "[127.0.0.2]:%d %s[127.0.0.3]:%d %s", p2, hostKey, p3, hostKey), 0o600)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "otherkey")).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	other, _ := os.ReadFile(filepath.Join(dir, "otherkey.pub"))
	os.WriteFile(filepath.Join(dir, "changed_known_hosts"), fmt.Appendf(nil, "[127.0.0.3]:%d %s", p3, other), 0o600)
	conf := filepath.Join(dir, "ssh_config")
	host := func(alias, addr string, port int, known string) string {
		return fmt.Sprintf("Host %s\n  HostName %s\n  Port %d\n  User root\n  IdentityFile %s/key\n  IdentitiesOnly yes\n  UserKnownHostsFile %s/%s\n", alias, addr, port, dir, dir, known)
	}
	os.WriteFile(conf, []byte(host("alpha", "127.0.0.2", p2, "known_hosts")+host("beta", "127.0.0.3", p3, "known_hosts")+host("changed", "127.0.0.3", p3, "changed_known_hosts")), 0o600)
	return conf, []int{pid2, pid3}
}

// run runs the scenario; platforms named in refused may fail to start.
func run(t *testing.T, text string, refused ...string) (string, result.RunInfo, []result.Sample) {
	t.Helper()
	s, err := scenario.Load("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	dir, err := runner.Run(context.Background(), runner.Options{Scenario: s, ScenarioText: []byte(text), ResultsDir: t.TempDir(), Binary: agentBinary, Log: &log})
	t.Logf("run log:\n%s", log.String())
	if dir == "" {
		t.Fatalf("no run directory: %v", err)
	}
	if err != nil && (len(refused) == 0 || !strings.Contains(err.Error(), "did not start: "+strings.Join(refused, ", "))) {
		t.Error(err)
	}
	info, err := result.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := result.ReadSamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, info, samples
}

// Two remote machines, a bare-metal twin and a "VM", run cpu, syscall,
// net and startup interleaved with native and runc here; a third, whose
// host key is not the one pinned, is refused before any trial. Nothing
// is left on the machines.
func TestRemoteMachinesOnLoopback(t *testing.T) {
	need(t)
	conf, sshds := machines(t)
	text := fmt.Sprintf(`version: 1
name: remote
repetitions: 2
warmup: 0
platforms:
  - {name: native, type: native}
  - {name: runc, type: container, runtime: runc}
  - {name: twin, type: remote, host: alpha, kind: metal, ssh_config: %[1]s}
  - {name: esx-vm, type: remote, host: beta, kind: vm, ssh_config: %[1]s}
  - {name: changed, type: remote, host: changed, kind: vm, ssh_config: %[1]s}
workloads:
  - {type: cpu, params: {duration: 200ms}}
  - {type: syscall, params: {duration: 200ms}}
  - {type: net, params: {mode: rr, duration: 200ms}}
  - {type: startup}
`, conf)
	_, info, samples := run(t, text, "changed")

	byName := map[string]result.PlatformInfo{}
	for _, p := range info.Platforms {
		byName[p.Name] = p
	}
	changed := byName["changed"].Error
	for _, want := range []string{"platform changed (host changed)", "host key is not the one known_hosts holds", "changed_known_hosts:1: [127.0.0.3]"} {
		if !strings.Contains(changed, want) {
			t.Errorf("the changed host key's error lacks %q: %s", want, changed)
		}
	}
	for _, name := range []string{"twin", "esx-vm"} {
		p := byName[name]
		if p.Error != "" {
			t.Fatalf("%s did not start: %s", name, p.Error)
		}
		for _, key := range []string{"machine_cpu_model", "machine_kernel", "machine_cores", "machine_virt_cpuid", "placement", "agent_sha256", "machine_runtime"} {
			if p.Info[key] == "" {
				t.Errorf("%s: run.json has no %s: %v", name, key, p.Info)
			}
		}
	}
	if got := byName["esx-vm"].Info["role"]; got != "vm" {
		t.Errorf("a kind: vm machine's role is %q, want vm", got)
	}

	// Every workload ran on both machines, interleaved in rounds with the
	// local platforms: no trial of round 1 before the last of round 0.
	lastRound0, firstRound1 := -1, len(samples)
	for i, s := range samples {
		if s.Workload == "boot" {
			continue
		}
		if s.Platform == "twin" || s.Platform == "esx-vm" {
			if s.Error != "" {
				t.Errorf("%s %s trial %d: %s", s.Platform, s.Workload, s.Trial, s.Error)
			}
			hostCPU := slices.ContainsFunc(s.Metrics, func(m result.Metric) bool { return m.Name == "host_cpu" })
			if want := s.Platform == "twin"; hostCPU != want && s.Error == "" {
				t.Errorf("%s %s: host_cpu recorded %v, want %v (a remote VM's host CPU is invisible)", s.Platform, s.Workload, hostCPU, want)
			}
		}
		if s.Trial == 0 {
			lastRound0 = i
		} else {
			firstRound1 = min(firstRound1, i)
		}
	}
	if lastRound0 > firstRound1 {
		t.Errorf("the rounds are not interleaved: a round-1 trial at %d before a round-0 trial at %d", firstRound1, lastRound0)
	}
	for _, w := range []string{"cpu", "syscall", "net", "startup"} {
		for _, p := range []string{"twin", "esx-vm"} {
			if !slices.ContainsFunc(samples, func(s result.Sample) bool {
				return s.Workload == w && s.Platform == p && s.Error == "" && len(s.Metrics) > 0
			}) {
				t.Errorf("no measured %s trial on %s", w, p)
			}
		}
	}
	var md strings.Builder
	if err := report.Markdown(&md, report.Build(info, samples)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"esx-vm vs runc", "twin vs native", "platform esx-vm: not measured: host CPU and footprint", "platform changed did not start"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	nothingLeft(t, info.RunID, []string{byName["twin"].Info["placement"], byName["esx-vm"].Info["placement"]}, sshds)
}

// nothingLeft checks the machines: no placement directory, no agent, no
// container of a remote agent; and here no SSH control directory, and no
// session on the sshds.
func nothingLeft(t *testing.T, runID string, placements []string, sshds []int) {
	t.Helper()
	// Only what this run made: the fleet package's tests run at the same
	// time, with their own agents, placements and containers.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var left []string
		for _, p := range placements {
			if p == "" {
				continue
			}
			if _, err := os.Stat(p); err == nil {
				left = append(left, "placement "+p)
			}
			if out, _ := exec.Command("pgrep", "-af", p).Output(); len(out) > 0 {
				left = append(left, "processes: "+string(out))
			}
			if out, _ := exec.Command("runc", "list", "-q").Output(); strings.Contains(string(out), containerPrefix(p)) {
				left = append(left, "containers: "+string(out))
			}
		}
		if dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), result.Name(runID, "*-ssh-*"))); len(dirs) > 0 {
			left = append(left, fmt.Sprint("SSH control directories: ", dirs))
		}
		for _, pid := range sshds {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); len(strings.TrimSpace(string(b))) > 0 {
				left = append(left, fmt.Sprintf("sessions of sshd %d: %s", pid, b))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("left behind: %v", left)
			return
		}
	}
}

// containerPrefix starts the names of the containers the agent placed in
// placement runs (initproc.Remote's idPrefix).
func containerPrefix(placement string) string {
	return "vmbench-remote-" + strings.TrimPrefix(filepath.Base(placement), "tmp.")
}

// placedUnder is the placements of the agents serving sessions of the
// given sshds: the processes "…/vmbench agent remote … DIR" descended
// from one of them.
func placedUnder(sshds []int) []string {
	parent := func(pid int) int {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		// pid (comm) state ppid …: comm may hold spaces and parentheses.
		_, rest, _ := strings.Cut(string(b[bytes.LastIndexByte(b, ')')+1:]), " ")
		f := strings.Fields(rest)
		if len(f) < 2 {
			return 0
		}
		ppid, _ := strconv.Atoi(f[1])
		return ppid
	}
	var placements []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, c := range procs {
		b, _ := os.ReadFile(c)
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) < 4 || !strings.HasSuffix(args[0], "/vmbench") || args[1] != "agent" || args[2] != "remote" {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(c)))
		for p := parent(pid); p > 1; p = parent(p) {
			if slices.Contains(sshds, p) {
				placements = append(placements, args[len(args)-1])
				break
			}
		}
	}
	return placements
}

// runsIn says whether a container of the agent placed in placement runs.
func runsIn(placement string) bool {
	ps, _ := exec.Command("pgrep", "-af", containerPrefix(placement)).Output()
	return strings.Contains(string(ps), "runc")
}

// A controller killed outright (kill -9) mid-trial leaves nothing on the
// machine: its SSH master dies with it, the agent's session ends, and the
// agent stops its container and removes its placement.
func TestKilledControllerLeavesNothingOnTheMachine(t *testing.T) {
	need(t)
	conf, sshds := machines(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "kill.yaml")
	os.WriteFile(path, fmt.Appendf(nil, `version: 1
name: kill
repetitions: 20
warmup: 0
platforms:
  - {name: twin, type: remote, host: alpha, kind: metal, ssh_config: %s}
workloads:
  - {type: cpu, params: {duration: 3s}}
`, conf), 0o600)
	results := filepath.Join(dir, "results")
	cmd := exec.Command(agentBinary, "run", path, "--results", results, "--agent-binary", agentBinary, "--yes")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Wait for a trial in the machine's container.
	var placements []string
	for deadline := time.Now().Add(2 * time.Minute); len(placements) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no trial ran on the machine within 2 min: %s", out.String())
		}
		if p := placedUnder(sshds); len(p) > 0 && slices.ContainsFunc(p, runsIn) {
			placements = p
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// The local leftovers of a killed run are vmbench cleanup's.
	if out, err := exec.Command(agentBinary, "cleanup").CombinedOutput(); err != nil {
		t.Errorf("vmbench cleanup: %v: %s", err, out)
	}
	runs, _ := filepath.Glob(filepath.Join(results, "2*"))
	if len(runs) != 1 {
		t.Fatalf("run directories in %s: %v, want one", results, runs)
	}
	nothingLeft(t, filepath.Base(runs[0]), placements, sshds)
}

// A machine whose SSH server goes away mid-run (sessions killed, the
// server stopped) fails its trials from then on with what SSH said; the
// other platforms go on, and nothing is left on the machine. The connect
// timeout is the default (30 s): once the server is gone a connection is
// refused at once, so it does not slow the test, and on a loaded host the
// agent's placement and hello took longer than the 5 s once set here.
func TestLostMachineFailsItsTrialsOnly(t *testing.T) {
	need(t)
	conf, sshds := machines(t)
	text := fmt.Sprintf(`version: 1
name: lost
repetitions: 8
warmup: 0
platforms:
  - {name: native, type: native}
  - {name: twin, type: remote, host: alpha, kind: metal, ssh_config: %s}
workloads:
  - {type: cpu, params: {duration: 300ms}}
`, conf)
	done := make(chan struct{})
	var placement string
	go func() {
		defer close(done)
		// Once the agent has run a trial and the runner has taken its
		// result — the next trial's container has come — take the machine
		// away: the sessions first, then the server. (Ordered by what
		// happened, not by time: on a loaded host the agent's hello alone
		// can take seconds, and the first result may still be on its way
		// when its container has gone.)
		ran, gone := false, false
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if placement == "" {
				if p := placedUnder(sshds[:1]); len(p) > 0 {
					placement = p[0]
				}
			}
			running := placement != "" && runsIn(placement)
			if gone && running {
				break
			}
			gone = gone || ran && !running
			ran = ran || running
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", sshds[0], sshds[0]))
		syscall.Kill(sshds[0], syscall.SIGTERM)
		for _, f := range strings.Fields(string(b)) {
			var pid int
			fmt.Sscan(f, &pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}()
	_, info, samples := run(t, text)
	<-done
	var ok, lost int
	for _, s := range samples {
		switch {
		case s.Platform == "native" && s.Error != "":
			t.Errorf("native failed: %s", s.Error)
		case s.Platform == "twin" && s.Error == "":
			ok++
		case s.Platform == "twin" && strings.Contains(s.Error, "platform twin (host alpha)"):
			lost++
		case s.Platform == "twin":
			t.Errorf("twin failed without naming the machine: %s", s.Error)
		}
	}
	if ok == 0 || lost == 0 {
		t.Errorf("twin: %d trials measured and %d failed for the lost machine; want some of each", ok, lost)
	}
	if !slices.ContainsFunc(samples, func(s result.Sample) bool {
		return strings.Contains(s.Error, "the SSH session was lost") && strings.Contains(s.Error, "unreachable")
	}) {
		t.Errorf("no trial says the session was lost and the machine is unreachable")
	}
	nothingLeft(t, info.RunID, []string{placement}, sshds[1:])
}
