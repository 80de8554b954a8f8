package runner

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/rundir"
)

func TestOwner(t *testing.T) {
	live := []string{"20261129-101011-beef"}
	for _, c := range []struct {
		name  string
		ours  bool
		alive string
	}{
		{"vmbench-mycheckout", false, ""},
		{"vmbench-test-agent-4242", false, ""},
		{"vmbench-20261129-101010-abcd-native-123", true, ""},
		{"vmbench-20261129-101010-abcd-3", true, ""},
		{"vmbench-20261129-101011-beef-vm", true, "20261129-101011-beef"},
		{"vmbench-20261129-101011-beef-scratch-77", true, "20261129-101011-beef"},
		{"vmbench-beefb", true, "20261129-101011-beef"},
		{"vmbench-beeft3", true, "20261129-101011-beef"},
		{"vmbench-abcdn1", true, ""},
		{"vmbench-doctor-kvm", true, ""},
		{"vmbench-20261129-101010-abcdx", false, ""},
	} {
		ours, alive := owner(c.name, live)
		if ours != c.ours || alive != c.alive {
			t.Errorf("%s: ours %v alive %q, want %v %q", c.name, ours, alive, c.ours, c.alive)
		}
	}
	if ours, alive := owner("vmbench-doctor-kvm", []string{rundir.DoctorID}); !ours || alive != rundir.DoctorID {
		t.Errorf("a live doctor's guest: ours %v, alive %q", ours, alive)
	}
}

// vmbench cleanup removes a killed run's temp dirs, and neither a user's
// directory that merely starts with vmbench- nor a live run's.
func TestCleanupDirsOnlyLeftovers(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "vmbench-mycheckout")
	dead := filepath.Join(dir, "vmbench-20261129-101010-abcd-box-1")
	alive := filepath.Join(dir, "vmbench-20261129-101011-beef-box-2")
	for _, d := range []string{mine, dead, alive} {
		os.MkdirAll(filepath.Join(d, "sub"), 0o755)
	}
	var log strings.Builder
	sw := &remover{live: []string{"20261129-101011-beef"}, log: &log, skipped: map[string]int{}}
	dirLeftovers([]string{dir}, sw.act)
	sw.report()
	for path, want := range map[string]bool{mine: true, dead: false, alive: true} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", path, err == nil, want)
		}
	}
	if sw.found != 1 || !strings.Contains(log.String(), "removed temp dir "+dead) ||
		!strings.Contains(log.String(), "skipped 1 resource(s) of run 20261129-101011-beef: it is alive") || strings.Contains(log.String(), "mycheckout") {
		t.Errorf("found %d, log:\n%s", sw.found, log.String())
	}
}

// A run that starts while a cleanup is under way (after its first look at
// the live runs) keeps what it makes: CI once lost a libvirt run's scratch
// and bundle directories to a cleanup of another package's test this way.
func TestCleanupLooksAgainBeforeRemoving(t *testing.T) {
	rundir.LockDir = t.TempDir()
	defer func() { rundir.LockDir = "/run/vmbench" }()
	var log strings.Builder
	sw := &remover{live: rundir.LiveRuns(), now: rundir.LiveRuns, log: &log, skipped: map[string]int{}}
	const id = "20261205-101010-abcd"
	release, err := rundir.LockRun(id)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	dir := t.TempDir()
	made := filepath.Join(dir, "vmbench-"+id+"-scratch-1")
	os.Mkdir(made, 0o755)
	dirLeftovers([]string{dir}, sw.act)
	sw.report()
	if _, err := os.Stat(made); err != nil || sw.found != 0 || !strings.Contains(log.String(), "of run "+id+": it is alive") {
		t.Errorf("a run that started during the cleanup lost %s (%v); found %d, log:\n%s", made, err, sw.found, log.String())
	}
}

// vmbench cleanup during a live run leaves the run alone, and the run
// finishes.
func TestCleanupDuringALiveRun(t *testing.T) {
	needRuntime(t, "runc")
	s := load(t, `version: 1
name: live
repetitions: 4
warmup: 0
sample_interval: 0s
profile: false
platforms:
  - {name: native, type: native}
  - {name: box, type: container, network: none}
workloads:
  - {type: cpu, params: {duration: 300ms}}
`)
	type ran struct {
		dir     string
		samples []result.Sample
		err     error
	}
	// Other packages' runs may be live meanwhile (the tests run packages
	// in parallel): this run's is the one that was not live before.
	before := rundir.LiveRuns()
	done := make(chan ran, 1)
	go func() {
		dir, samples, err := run(t, context.Background(), s)
		done <- ran{dir, samples, err}
	}()
	var live []string
	for range 100 {
		for _, id := range rundir.LiveRuns() {
			if !slices.Contains(before, id) {
				live = append(live, id)
			}
		}
		if len(live) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // into its trials
	var log strings.Builder
	if _, err := RemoveLeftovers(context.Background(), agentBinary, false, &log); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("the run failed after a cleanup: %v\ncleanup said:\n%s", r.err, log.String())
	}
	for _, x := range r.samples {
		if x.Error != "" {
			t.Errorf("%s on %s failed: %s", x.Workload, x.Platform, x.Error)
		}
	}
	id := runID(t, r.dir)
	if !slices.Contains(live, id) || !strings.Contains(log.String(), "of run "+id+": it is alive") {
		t.Errorf("live %v, run %s, cleanup said:\n%s", live, id, log.String())
	}
	if strings.Contains(log.String(), "removed") && strings.Contains(log.String(), id) {
		t.Errorf("cleanup removed the live run's resources:\n%s", log.String())
	}
	nothingLeft(t, "runc", id)
}

// Two runs at once on one host both finish: nothing they create shares a
// name (containers, temp and scratch dirs carry the run id; bridges,
// veths and tables its last four hex digits), and each holds its own lock.
func TestTwoRunsAtOnce(t *testing.T) {
	needRuntime(t, "runc")
	s := load(t, `version: 1
name: twice
repetitions: 3
warmup: 0
sample_interval: 0s
profile: false
platforms:
  - {name: native, type: native}
  - {name: box, type: container}
workloads:
  - {type: cpu, params: {duration: 200ms}}
  - {type: net, params: {mode: rr, duration: 200ms}}
`)
	type ran struct {
		dir string
		err error
		bad []string
	}
	done := make(chan ran, 2)
	for range 2 {
		go func() {
			dir, samples, err := run(t, context.Background(), s)
			r := ran{dir: dir, err: err}
			for _, x := range samples {
				if x.Error != "" {
					r.bad = append(r.bad, x.Workload+" on "+x.Platform+": "+x.Error)
				}
			}
			done <- r
		}()
	}
	a, b := <-done, <-done
	for _, r := range []ran{a, b} {
		if r.err != nil || len(r.bad) > 0 {
			t.Errorf("run %s: %v %v", r.dir, r.err, r.bad)
		}
		nothingLeft(t, "runc", runID(t, r.dir))
	}
	if runID(t, a.dir) == runID(t, b.dir) {
		t.Errorf("both runs got id %s", runID(t, a.dir))
	}
}

// Without a working lock directory a run does not start: cleanup could
// not tell its resources from a killed run's.
func TestRunRefusesWithoutALockDirectory(t *testing.T) {
	rundir.LockDir = "/dev/null/vmbench"
	defer func() { rundir.LockDir = "/run/vmbench" }()
	s := load(t, "version: 1\nname: nolock\nrepetitions: 1\nwarmup: 0\nplatforms:\n  - {name: native, type: native}\nworkloads:\n  - {type: cpu, params: {duration: 10ms}}\n")
	dir, err := Run(context.Background(), Options{Scenario: s, ScenarioText: []byte("x"), ResultsDir: t.TempDir(), Binary: agentBinary, Log: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "the run lock directory") {
		t.Fatalf("run without a lock directory: %v", err)
	}
	if samples, _ := result.ReadSamples(dir); len(samples) > 0 {
		t.Errorf("%d trials ran", len(samples))
	}
}
