package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/vmbench/vmbench/internal/testagent"
)

// historyDoc is what the test reads of vmbench history --json.
type historyDoc struct {
	Schema string `json:"schema"`
	Runs   []struct {
		RunID string `json:"run_id"`
	}
	Changed []int `json:"scenario_changed_at"`
	Series  []struct {
		Key struct {
			Workload, Metric, Platform, Versus string
		} `json:"key"`
		Changes []struct {
			Run       int     `json:"run"`
			Magnitude float64 `json:"magnitude"`
			Worse     bool    `json:"worse"`
		} `json:"changes"`
	} `json:"series"`
}

// throughputChanges are the change points of the container's throughput
// overhead: the runs they start at.
func (h historyDoc) throughputChanges(t *testing.T) []int {
	t.Helper()
	for _, s := range h.Series {
		if s.Key.Metric == "throughput" && s.Key.Platform == "box" && s.Key.Versus == "free" {
			var at []int
			for _, c := range s.Changes {
				if !c.Worse {
					t.Errorf("the change at run %d reads as better: %+v", c.Run+1, c)
				}
				at = append(at, c.Run)
			}
			return at
		}
	}
	t.Fatalf("no throughput overhead series: %+v", h.Series)
	return nil
}

func historyJSON(t *testing.T, args ...string) historyDoc {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"history", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("vmbench history %v: exit %d\n%s", args, code, stderr)
	}
	var h historyDoc
	if err := json.Unmarshal([]byte(stdout), &h); err != nil || h.Schema != "vmbench.history/v1" {
		t.Fatalf("history --json: %v\n%s", err, stdout)
	}
	return h
}

// Twelve short runs of one scenario, labelled commit=c01…c12, where the
// container's CPU limit is lowered from run 8 on: vmbench history finds
// the change at run 8 and says the scenario file changed there; gate
// --history 6 fails on the last run and passes on run 7; publishing the
// runs into a real PostgreSQL and reading the history back from it gives
// the same change point; publishing again changes nothing, and a damaged
// run or a database at an unknown schema version is refused.
func TestHistoryFindsTheLoweredLimit(t *testing.T) {
	needRunc(t)
	dir := t.TempDir()
	results := filepath.Join(dir, "results")
	// The limit lowered from none to a tenth of a core (half-second trials:
	// five of CFS's 100 ms periods), against a twin
	// container without one: two containers share a loaded host alike,
	// where a host process and a container do not (under load the
	// container's cgroup got 2–5 times the host process's CPU, and the
	// overhead against native moved with the load, not the limit).
	scenario := func(cpus string) string {
		path := filepath.Join(dir, "creep-"+cpus+".yaml")
		os.WriteFile(path, []byte(`version: 1
name: creep
repetitions: 6
warmup: 0
baseline: free
compare: ["box vs free"]
platforms:
  - {name: free, type: container, runtime: runc}
  - {name: box, type: container, runtime: runc, cpus: `+cpus+`}
workloads:
  - {type: cpu, params: {kernel: hash, threads: 1, duration: 500ms}}
`), 0o644)
		return path
	}
	before, after := scenario("0"), scenario("0.1")
	var runs []string
	for i := 1; i <= 12; i++ {
		path := before
		if i >= 8 {
			path = after
		}
		code, _, stderr := runCLI(t, "run", path, "--results", results, "--agent-binary", agentBinary, "--label", fmt.Sprintf("commit=c%02d", i))
		if code != 0 {
			t.Fatalf("run %d: exit %d\n%s", i, code, stderr)
		}
		latest, _ := filepath.EvalSymlinks(filepath.Join(results, "latest"))
		runs = append(runs, latest)
	}

	h := historyJSON(t, "--results", results, "--order", "commit", "--html", filepath.Join(dir, "history.html"))
	if len(h.Runs) != 12 || !slices.Equal(h.Changed, []int{7}) {
		t.Errorf("%d runs, the scenario changed at %v; want 12 and [7] (run 8)", len(h.Runs), h.Changed)
	}
	// One change point, at run 8 or a run beside it: under a load that
	// keeps both cores busy a single run's overhead can jump by itself
	// (run 7 read +77% once with six CPU hogs beside it).
	near8 := func(at []int) bool { return len(at) == 1 && at[0] >= 6 && at[0] <= 8 }
	if at := h.throughputChanges(t); !near8(at) {
		_, js, _ := runCLI(t, "history", "--results", results, "--order", "commit", "--json")
		t.Errorf("the throughput overhead's change points start at runs %v (from 0), want one at 7 (run 8) ± 1; the history:\n%s", at, js)
	}
	_, text, _ := runCLI(t, "history", "--results", results, "--order", "commit")
	if !strings.Contains(text, "box vs free") || !strings.Contains(text, "→c0") || !strings.Contains(text, "the scenario file changed at run #8") {
		t.Errorf("the text does not name run 8, its labels and the scenario's change:\n%s", text)
	}
	page, _ := os.ReadFile(filepath.Join(dir, "history.html"))
	if !strings.Contains(string(page), "cpu.throughput kernel=hash") || strings.Count(string(page), "<svg") < 4 {
		t.Errorf("history.html lacks the throughput series or its charts (%d)", strings.Count(string(page), "<svg"))
	}

	// The gate over the last 6 runs: the last run fails, run 7 passes.
	code, stdout, stderr := runCLI(t, "gate", runs[11], "--history", "6")
	if code != exitGateFailed || !strings.Contains(stdout, "FAIL cpu.throughput kernel=hash") {
		t.Errorf("gate --history 6 on run 12: exit %d, want %d\n%s%s", code, exitGateFailed, stdout, stderr)
	}
	if out, err := exec.Command("xmllint", "--noout", "--schema", "../../internal/gate/testdata/junit-10.xsd", filepath.Join(runs[11], "gates.xml")).CombinedOutput(); err != nil {
		t.Errorf("gates.xml is not valid JUnit: %v\n%s", err, out)
	}
	runCLI(t, "gate", runs[6], "--history", "6")
	var gates struct {
		Checks []struct{ Gate, Status string } `json:"checks"`
	}
	b, _ := os.ReadFile(filepath.Join(runs[6], "gates.json"))
	json.Unmarshal(b, &gates)
	if i := slices.IndexFunc(gates.Checks, func(c struct{ Gate, Status string }) bool { return c.Gate == "history cpu.throughput" }); i < 0 || gates.Checks[i].Status != "pass" {
		t.Errorf("gate --history 6 on run 7 (before the change): %+v\n%s", gates.Checks, b)
	}

	// The same history from PostgreSQL.
	db := testagent.Postgres(t)
	code, stdout, stderr = runCLI(t, append([]string{"publish", "--to", db}, runs...)...)
	if code != 0 || strings.Count(stdout, " published: ") != 12 {
		t.Fatalf("publish: exit %d\n%s%s", code, stdout, stderr)
	}
	count := func() (n int) {
		c, err := pgx.Connect(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		if err := c.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM vmbench_runs) * 100000 + (SELECT count(*) FROM vmbench_samples)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	rows := count()
	if rows/100000 != 12 || rows%100000 < 12*12 {
		t.Errorf("the database holds %d runs and %d samples after publishing 12 runs", rows/100000, rows%100000)
	}
	if code, stdout, _ = runCLI(t, "publish", "--to", db, runs[0], runs[11]); code != 0 || strings.Count(stdout, "unchanged") != 2 || count() != rows {
		t.Errorf("publishing again: exit %d, %d rows before and %d after\n%s", code, rows, count(), stdout)
	}
	fromDB := historyJSON(t, "--db", db, "--order", "commit")
	if at := fromDB.throughputChanges(t); !slices.Equal(at, h.throughputChanges(t)) || len(fromDB.Runs) != 12 {
		t.Errorf("from the database: %d runs, the throughput's change points at %v", len(fromDB.Runs), at)
	}

	// A run cut mid-line is refused, and nothing of it is written.
	cut := filepath.Join(dir, "cut", filepath.Base(runs[3])+"x")
	os.MkdirAll(filepath.Dir(cut), 0o755)
	if out, err := exec.Command("cp", "-a", runs[3], cut).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	samples, _ := os.ReadFile(filepath.Join(cut, "samples.jsonl"))
	os.WriteFile(filepath.Join(cut, "samples.jsonl"), samples[:len(samples)-40], 0o644)
	c, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	c.Exec(context.Background(), `DELETE FROM vmbench_runs WHERE run_id = $1`, filepath.Base(runs[3]))
	rows = count()
	if code, _, stderr = runCLI(t, "publish", "--to", db, cut); code == 0 || !strings.Contains(stderr, "not published") || count() != rows {
		t.Errorf("publishing a cut run: exit %d, rows %d → %d\n%s", code, rows, count(), stderr)
	}

	// A database at a schema this vmbench does not know.
	c.Exec(context.Background(), `UPDATE vmbench_schema SET version = 99`)
	if code, _, stderr = runCLI(t, "history", "--db", db); code != exitUsage || !strings.Contains(stderr, "newer than this vmbench's") {
		t.Errorf("history from a database at schema 99: exit %d\n%s", code, stderr)
	}
	if code, _, stderr = runCLI(t, "publish", "--to", db, runs[3]); code == 0 || !strings.Contains(stderr, "newer than this vmbench's") || count() != rows {
		t.Errorf("publishing to a database at schema 99: exit %d\n%s", code, stderr)
	}
	// One that does not answer.
	if code, _, stderr = runCLI(t, "publish", "--to", "postgres:///x?host="+filepath.Join(dir, "nowhere"), runs[3]); code == 0 || !strings.Contains(stderr, "unreachable") {
		t.Errorf("publishing to nowhere: exit %d\n%s", code, stderr)
	}
}
