package fleet

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/gate"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/testagent"
)

var agentBinary string

func TestMain(m *testing.M) { testagent.Main(m.Run, &agentBinary) }

func need(t *testing.T, programs ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: sshd, and vmbench's containers")
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is not installed: scripts/test.sh installs it", p)
		}
	}
}

// The playbook in deploy/ansible runs a scenario on three "hosts" (sshd on
// 127.0.0.2 and 127.0.0.3), one of which fails its run; the runs come
// back, merge into a fleet run with the failed host reported, and a fleet
// gate judges them. The hosts' keys are pinned in a known_hosts file, and
// a local user has planted the work directory's old predictable path as a
// link to a directory of theirs: nothing goes there.
func TestPlaybookOnLoopbackHosts(t *testing.T) {
	need(t, "ansible-playbook", "/usr/sbin/sshd", "ssh-keygen", "runc")
	dir := t.TempDir()
	testagent.SSHKeys(t, dir)
	p2, pid2 := testagent.SSHD(t, dir, "127.0.0.2")
	p3, pid3 := testagent.SSHD(t, dir, "127.0.0.3")
	hostKey, _ := os.ReadFile(filepath.Join(dir, "hostkey.pub"))
	os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(fmt.Sprintf("[127.0.0.2]:%d %s[127.0.0.3]:%d %s", p2, hostKey, p3, hostKey)), 0o600)
	trap := t.TempDir()
	for _, h := range []string{"alpha", "beta"} {
		planted := "/var/tmp/vmbench-fleet-" + h
		if err := os.Symlink(trap, planted); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(planted) })
	}
	inventory := filepath.Join(dir, "inventory.ini")
	os.WriteFile(inventory, []byte(fmt.Sprintf(`[fleet]
alpha ansible_host=127.0.0.2 ansible_port=%d
beta ansible_host=127.0.0.3 ansible_port=%d
gamma ansible_host=127.0.0.3 ansible_port=%d vmbench_args='["--only", "nosuch"]'

[fleet:vars]
ansible_user=root
ansible_ssh_private_key_file=%s/key
ansible_ssh_common_args='-o StrictHostKeyChecking=yes -o UserKnownHostsFile=%s/known_hosts'
ansible_python_interpreter=/usr/bin/python3
`, p2, p3, p3, dir, dir)), 0o600)
	scenarioFile := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(scenarioFile, []byte(`version: 1
name: fleet
repetitions: 6
warmup: 0
sample_interval: 0s
platforms:
  - {name: native, type: native}
  - {name: box, type: container, network: none}
workloads:
  - {type: cpu, params: {duration: 100ms}}
gates:
  - {name: every host, metric: cpu.throughput, platform: box, max_overhead: 50%, hosts: all}
`), 0o644)
	results := filepath.Join(dir, "fleet")
	bootChain, err := testagent.BootChain()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ansible-playbook", "-i", inventory, "../../deploy/ansible/fleet.yml",
		"-e", "vmbench_scenario="+scenarioFile, "-e", "vmbench_results="+results, "-e", "vmbench_binary="+agentBinary)
	// Ansible's own files go into the test's directory, not ~/.ansible,
	// and no SSH connection outlives the playbook (Ansible keeps them 60 s
	// by default, an sshd session process on the host with each).
	cmd.Env = append(os.Environ(), "ANSIBLE_SSH_ARGS=-o ControlMaster=no -o ControlPersist=no", "ANSIBLE_LOCAL_TEMP="+dir+"/ansible-local", "ANSIBLE_REMOTE_TEMP="+dir+"/ansible-remote",
		"ANSIBLE_SSH_CONTROL_PATH_DIR="+dir+"/cp", "ANSIBLE_NOCOLOR=1", "ANSIBLE_HOME="+dir+"/ansible-home")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("ansible-playbook in %s:\n%s", time.Since(start).Round(time.Second), out)
	if err != nil {
		t.Fatalf("ansible-playbook: %v", err)
	}
	hostDirs, _ := filepath.Glob(filepath.Join(results, "*"))
	info, err := Merge(hostDirs, filepath.Join(dir, "merged"), "20261129-140000-f1ee")
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]result.FleetHost{}
	for _, h := range info.Fleet.Hosts {
		status[h.Name] = h
	}
	if status["alpha"].Status != "ok" || status["beta"].Status != "ok" || status["alpha"].RunID == "" {
		t.Errorf("alpha and beta: %+v %+v", status["alpha"], status["beta"])
	}
	if g := status["gamma"]; g.Status != "failed" || !strings.Contains(g.Error, "nosuch") {
		t.Errorf("gamma, whose run fails: %+v", g)
	}
	// The doctor's verdict, not its first check.
	if d := status["alpha"].Doctor; !strings.Contains(d, "platforms of the scenario: native: can run; container: can run") {
		t.Errorf("alpha's doctor: %q", d)
	}
	samples, _ := result.ReadSamples(filepath.Join(dir, "merged"))
	per := map[string]int{}
	for _, s := range samples {
		per[s.Host]++
	}
	if per["alpha"] != 12 || per["beta"] != 12 || per["gamma"] != 0 {
		t.Errorf("samples per host %v, want 12 of alpha and of beta", per)
	}
	s, err := scenario.Load("fleet.yaml", mustRead(t, scenarioFile))
	if err != nil {
		t.Fatal(err)
	}
	// gamma measured nothing: hosts: all cannot pass.
	r := gate.Evaluate(s, info, samples, nil, 1)
	if len(r.Checks) != 1 || !strings.Contains(r.Checks[0].Reason, "alpha: ") || !strings.Contains(r.Checks[0].Reason, "beta: ") ||
		!strings.Contains(r.Checks[0].Reason, "not measured: gamma failed") || r.Checks[0].Status != gate.Error || !r.Failed() {
		t.Errorf("fleet gate with a failed host: %+v", r.Checks)
	}
	// Nothing is left on the hosts: the work directories, sshd (stopped
	// by the cleanups), Ansible's files outside the test's directory.
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "vmbench-fleet-*")); len(left) > 0 {
		t.Errorf("work directories left on the hosts: %v", left)
	}
	if in, _ := os.ReadDir(trap); len(in) > 0 {
		t.Errorf("the playbook wrote through a planted work directory: %v", in)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("HOME"), ".ansible")); err == nil {
		t.Errorf("~/.ansible was made")
	}
	if after, err := testagent.BootChain(); err != nil || after != bootChain {
		t.Errorf("the playbook changed the hosts' /boot or their packages (%v)", err)
	}
	// No SSH session outlives the playbook: no sshd session process on the
	// "hosts", no ssh connection master here.
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var left []string
		for _, pid := range []int{pid2, pid3} {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); len(strings.TrimSpace(string(b))) > 0 {
				left = append(left, fmt.Sprintf("sessions of sshd %d: %s", pid, b))
			}
		}
		if out, _ := exec.Command("pgrep", "-af", dir+"/cp").Output(); len(out) > 0 {
			left = append(left, "ssh masters: "+string(out))
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("SSH left behind: %v", left)
			break
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
