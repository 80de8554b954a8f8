package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	dir, before, err := run(t, ctx, s)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("first part: %v, want interrupted", err)
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
