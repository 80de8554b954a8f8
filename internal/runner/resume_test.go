package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/report"
	"github.com/vmbench/vmbench/internal/result"
)

// An interrupted run, resumed, ends with every measured trial of the plan
// once: the same shape as a run that was never stopped.
func TestResumeCompletesAnInterruptedRun(t *testing.T) {
	needRuntime(t, "runc")
	s := load(t, `version: 1
name: resumed
repetitions: 4
warmup: 1
sample_interval: 0s
profile: false
platforms:
  - {name: native, type: native}
  - {name: box, type: container, network: none}
workloads:
  - {type: cpu, params: {threads: [1, 2], duration: 200ms}}
`)
	// Interrupted once the 6th of the 20 trials is done (the 4 warmups
	// come first), whatever the machine's load: a fixed time (it was
	// 1.5 s) let a loaded CI runner finish no measured trial before it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var first strings.Builder
	dir, err := Run(ctx, Options{Scenario: s, ScenarioText: []byte("x"), ResultsDir: t.TempDir(), Binary: agentBinary,
		Log: cancelAt{&first, "[6/20,", cancel}})
	t.Logf("first part:\n%s", first.String())
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("first part: %v, want interrupted", err)
	}
	before, err := result.ReadSamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	if err := Resume(context.Background(), Options{Scenario: s, Binary: agentBinary, Log: &log}, dir); err != nil {
		t.Fatalf("resume: %v\n%s", err, log.String())
	}
	samples, err := result.ReadSamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	measured := map[string]int{}
	for _, x := range samples {
		if !x.Warmup && x.Error == "" {
			measured[fmt.Sprintf("%s %s %d", x.Platform, x.Label, x.Trial)]++
		}
	}
	if len(measured) != 2*2*4 {
		t.Errorf("%d distinct measured trials, want 16: %v", len(measured), measured)
	}
	for k, n := range measured {
		if n != 1 {
			t.Errorf("%s measured %d times", k, n)
		}
	}
	info, _ := result.ReadRun(dir)
	if info.Interrupted || len(info.Resumes) != 1 || info.Resumes[0].Trials >= 2*2*5 || len(before) == 0 {
		t.Errorf("run.json: interrupted %v, resumes %+v (%d samples before)", info.Interrupted, info.Resumes, len(before))
	}
	tab := report.Build(info, samples)
	for _, r := range tab.Rows {
		for i, c := range r.Cells {
			if r.Metric == "throughput" && c.Summary.N != 4 {
				t.Errorf("%s %s on %s: n=%d, want 4", r.Workload, r.Label, tab.Platforms[i].Name, c.Summary.N)
			}
		}
	}
	if !strings.Contains(strings.Join(tab.Notes, "\n"), "resumed at") {
		t.Errorf("no resume note: %v", tab.Notes)
	}
	nothingLeft(t, "runc", runID(t, dir))
}

// cancelAt is a run's log that cancels the run once a line it writes holds
// mark.
type cancelAt struct {
	log    *strings.Builder
	mark   string
	cancel context.CancelFunc
}

func (c cancelAt) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.mark) {
		c.cancel()
	}
	return c.log.Write(p)
}
