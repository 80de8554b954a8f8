package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/report"
	"github.com/vmbench/vmbench/internal/result"
)

func TestMoreRoundsPlansOnlyTheUndecidedCells(t *testing.T) {
	s := load(t, `version: 1
name: adapt
repetitions: 2
platforms:
  - {name: native, type: native}
  - {name: box, type: container}
  - {name: other, type: container}
workloads:
  - {type: cpu, params: {threads: [1, 2], duration: 50ms}}
`)
	cells := []result.Cell{{Workload: "cpu", Label: "threads=2 duration=50ms", Platform: "native"}, {Workload: "cpu", Label: "threads=2 duration=50ms", Platform: "box"}}
	trials := moreRounds(s, cells, 2, 4)
	if len(trials) != 4 {
		t.Fatalf("%d trials, want 2 rounds × 2 cells: %+v", len(trials), trials)
	}
	for i, tr := range trials {
		if tr.Warmup || tr.Rep != 2+i/2 || tr.Label != "threads=2 duration=50ms" || tr.Platform == "other" || tr.Seq != i {
			t.Errorf("trial %d: %+v", i, tr)
		}
	}
	// Rounds rotate the platform order as the scenario's own rounds do.
	if trials[0].Platform == trials[2].Platform {
		t.Errorf("rounds 3 and 4 start on the same platform: %+v", trials)
	}
}

// An adaptive run whose precision cannot be met adds the rounds of the
// next look to every compared cell, records the look, and reports it.
func TestAdaptiveRunAddsRounds(t *testing.T) {
	needRuntime(t, "runc")
	s := load(t, `version: 1
name: adapt
repetitions: 7
max_repetitions: 14
precision: 0.001%
warmup: 1
sample_interval: 0s
profile: false
platforms:
  - {name: native, type: native}
  - {name: box, type: container}
workloads:
  - {type: cpu, params: {duration: 50ms}}
`)
	dir, samples, err := run(t, context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	measured := map[string]int{}
	for _, x := range samples {
		if !x.Warmup && x.Error == "" {
			measured[x.Platform]++
		}
	}
	if measured["native"] != 14 || measured["box"] != 14 {
		t.Errorf("measured trials %v, want 14 on each platform", measured)
	}
	info, err := result.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Adaptive) != 1 || info.Adaptive[0].Reps != 7 || info.Adaptive[0].Trials != 14 || len(info.Adaptive[0].Undecided) != 2 {
		t.Errorf("looks %+v, want one at 7 rounds adding 14 trials to 2 cells", info.Adaptive)
	}
	tab := report.Build(info, samples)
	if tab.Confidence != 0.975 || !strings.Contains(strings.Join(tab.Notes, "\n"), "adaptive: after 7 rounds 2 cell(s) were undecided") {
		t.Errorf("confidence %g, notes %v", tab.Confidence, tab.Notes)
	}
	if j := tab.Rows[0].Cells[1].Delta; j == nil || !j.Paired || j.N != 14 {
		t.Errorf("box vs native: %+v, want paired over 14 rounds", j)
	}
	nothingLeft(t, "runc", runID(t, dir))
}
