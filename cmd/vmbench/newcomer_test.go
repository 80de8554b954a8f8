package main

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vmbench/vmbench/internal/result"
)

// A regression gate without a baseline checks nothing: that is not a
// pass. It exits 6 and says why, unless --allow-empty.
func TestGateThatChecksNothingFails(t *testing.T) {
	dir := writeRun(t, "unchecked", 1)
	info, _ := result.ReadRun(dir)
	info.Scenario.Text = "version: 1\nname: s\nplatforms:\n  - {name: native, type: native}\nworkloads:\n  - {type: cpu}\ngates:\n  - {metric: cpu.throughput, max_regression: 5%}\n"
	result.WriteRun(dir, info)
	code, out, stderr := runCLI(t, "gate", dir)
	if code != exitNothingChecked || !strings.Contains(out, "NOTHING CHECKED: 0 failed, 0 passed") || !strings.Contains(stderr, "--allow-empty") {
		t.Errorf("gate: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, stderr = runCLI(t, "gate", dir, "--allow-empty"); code != exitOK {
		t.Errorf("gate --allow-empty: exit %d\n%s%s", code, out, stderr)
	}
	// A gate that judges a cell is not empty.
	checked := filepath.Join(t.TempDir(), "checked.yaml")
	os.WriteFile(checked, []byte("version: 1\nname: s\nplatforms:\n  - {name: native, type: native}\nworkloads:\n  - {type: cpu}\ngates:\n  - {metric: cpu.throughput, min: 1}\n"), 0o644)
	if code, out, stderr = runCLI(t, "gate", dir, "--scenario", checked); code != exitOK || !strings.Contains(out, "PASS: 0 failed, 1 passed") {
		t.Errorf("gate with a bound: exit %d\n%s%s", code, out, stderr)
	}
}

// vmbench merge's input errors are usage errors (2), as every command's.
func TestMergeInputErrorsAreUsageErrors(t *testing.T) {
	a := writeRun(t, "a", 1)
	results := t.TempDir()
	for _, args := range [][]string{{"merge", "/nonexistent-host-dir"}, {"merge", a, a}} {
		if code, _, stderr := runCLI(t, append(args, "--results", results)...); code != exitUsage {
			t.Errorf("vmbench %v: exit %d, want %d\n%s", args, code, exitUsage, stderr)
		}
	}
	if left, _ := os.ReadDir(results); len(left) > 0 {
		t.Errorf("a refused merge left %v", left)
	}
}

func TestMistypedFlagGetsASuggestion(t *testing.T) {
	for args, want := range map[string]string{
		"run --reuslts x":    "did you mean --results?",
		"gate x --basline y": "did you mean --baseline?",
		"report --fromat x":  "did you mean --format?",
		"run --zzzzzz":       "vmbench run --help lists the flags",
	} {
		code, _, stderr := runCLI(t, strings.Fields(args)...)
		if code != exitUsage || !strings.Contains(stderr, want) {
			t.Errorf("vmbench %s: exit %d, %q, want %q", args, code, stderr, want)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, _ := runCLI(t, args...)
		if code != 0 || !strings.HasPrefix(out, "vmbench ") || !strings.Contains(out, "linux/amd64") {
			t.Errorf("vmbench %v: exit %d, %q", args, code, out)
		}
	}
	if v, rev := buildVersion("", ""); v == "" || strings.Contains(v, "devel") {
		t.Errorf("buildVersion: %q %q", v, rev)
	}
}

// What a newcomer does first: a plain go build (dynamically linked where
// a C compiler is), run by a user who is not root. A native-only scenario
// runs to its report; the default scenario is refused before any trial,
// with the platforms that need root and the --only that leaves them out;
// as root, a platform that needs the static agent is refused with the
// command that builds one.
func TestPlainBuildAsAUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test switches to an unprivileged user: run the tests as root (scripts/test.sh does)")
	}
	home := t.TempDir()
	for d := home; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755) // t.TempDir's directories are the test's own
	}
	if err := os.Chown(home, 65534, 65534); err != nil { // the user's home
		t.Fatal(err)
	}
	bin := filepath.Join(home, "vmbench")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	f.Close()
	if !dynamic {
		t.Fatal("go build with CGO_ENABLED=1 made a static binary: install a C compiler (gcc), as scripts/test.sh does, so that this test checks a plain build")
	}
	native := filepath.Join(home, "native.yaml")
	os.WriteFile(native, []byte("version: 1\nname: native-only\nplatforms:\n  - {name: native, type: native}\nworkloads:\n  - {type: cpu, params: {duration: 100ms}}\nrepetitions: 3\n"), 0o644)
	container := filepath.Join(home, "container.yaml")
	os.WriteFile(container, []byte("version: 1\nname: c\nplatforms:\n  - {name: native, type: native}\n  - {name: container, type: container}\nworkloads:\n  - {type: cpu, params: {duration: 100ms}}\nrepetitions: 3\n"), 0o644)
	vmbench := func(user bool, args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = home, []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
		if user {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	if code, out := vmbench(true, "--version"); code != 0 || !strings.Contains(out, "dynamically linked: runs native platforms only") {
		t.Errorf("--version: exit %d\n%s", code, out)
	}
	results := filepath.Join(home, "results")
	code, out := vmbench(true, "run", "--results", results)
	if code != exitUsage || !strings.Contains(out, "container, vm need root on this host") || !strings.Contains(out, "--only native") {
		t.Errorf("default scenario as a user: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(results); err == nil {
		t.Errorf("the refused run made %s", results)
	}
	code, out = vmbench(true, "run", native, "--results", results)
	if _, err := os.Stat(filepath.Join(results, "latest", "report.md")); code != 0 || err != nil {
		t.Errorf("native-only as a user: exit %d, %v\n%s", code, err, out)
	}
	code, out = vmbench(false, "run", container, "--results", results)
	if code != exitUsage || !strings.Contains(out, "CGO_ENABLED=0 go install github.com/vmbench/vmbench/cmd/vmbench@latest") || strings.Contains(out, "plan should take") {
		t.Errorf("a container platform with a dynamic binary: exit %d\n%s", code, out)
	}
}

// vmbench doctor --json, for a scenario of native platforms (no probe
// guest boots): the checks and the verdict as a program reads them.
func TestDoctorJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "native.yaml")
	os.WriteFile(path, []byte("version: 1\nname: n\nplatforms:\n  - {name: native, type: native}\nworkloads:\n  - {type: cpu}\n"), 0o644)
	code, out, stderr := runCLI(t, "doctor", "--scenario", path, "--json")
	var doc struct {
		Schema    string
		OK        bool
		Checks    []struct{ Name, Status, Detail string }
		Platforms []struct {
			Type   string
			CanRun bool `json:"can_run"`
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Schema != "vmbench.doctor/v1" || len(doc.Checks) == 0 {
		t.Fatalf("doctor --json: exit %d, %v\n%s\n%s", code, err, out, stderr)
	}
	if len(doc.Platforms) != 1 || doc.Platforms[0].Type != "native" || doc.Platforms[0].CanRun != doc.OK || (code == 0) != doc.OK {
		t.Errorf("doctor --json: exit %d, %+v", code, doc)
	}
	for _, c := range doc.Checks {
		if c.Status != "ok" && c.Status != "warn" && c.Status != "fail" {
			t.Errorf("check %s: status %q", c.Name, c.Status)
		}
	}
}
