package analysis

import (
	"slices"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/stats"
)

// run is a run of native and vm: rounds of the memory workload, vm cost
// times native's, each round and vm's values with a little jitter.
func run(rounds int, cost float64) (result.RunInfo, []result.Sample) {
	info := result.RunInfo{RunID: "20261206-030000-abcd", Baseline: "native",
		Platforms: []result.PlatformInfo{{Name: "native", Type: "native"}, {Name: "vm", Type: "vm"}}}
	var samples []result.Sample
	for r := range rounds {
		j := 1 + 0.002*float64(r%5-2)
		for _, p := range []string{"native", "vm"} {
			v := 10e9 * j
			if p == "vm" {
				v /= cost * (1 + 0.004*float64((3*r)%5-2))
			}
			samples = append(samples, result.Sample{RunID: info.RunID, Workload: "memory", Type: "memory", Label: "op=copy", Platform: p,
				Trial: r, Start: time.Unix(int64(r), 0), Metrics: []result.Metric{{Name: "bandwidth", Unit: "B/s", Value: v}}})
		}
	}
	return info, samples
}

func TestFailuresCountOnEveryRowOfTheVariant(t *testing.T) {
	info, samples := run(8, 1.05)
	// The variant's very first trial failed, before any of its rows was
	// made; a later one stalled at a rate of 0.
	failed := result.Sample{RunID: info.RunID, Workload: "memory", Type: "memory", Label: "op=copy", Platform: "vm", Trial: 8, Error: "guest died"}
	samples = append([]result.Sample{failed}, samples...)
	samples[6].Metrics[0].Value = 0 // round 2 on vm
	tab := Build(info, samples)
	if len(tab.Rows) != 1 || tab.Rows[0].Metric != "bandwidth" {
		t.Fatalf("rows %+v, want one of bandwidth", tab.Rows)
	}
	vm := tab.Rows[0].Cells[1]
	if vm.Failed != 2 || vm.Err != "guest died" || len(vm.Values) != 7 {
		t.Errorf("vm cell: %d failed (%q), %d values; want 2 failed, the first error, 7 values", vm.Failed, vm.Err, len(vm.Values))
	}
	if d := vm.Delta; d == nil || d.X.Failed != 2 || d.X.Trials != 9 || d.Ref.Trials != 8 || d.Verdict == stats.Negligible {
		t.Errorf("vm vs native: %+v, want its 2 of 9 failed trials said, and not negligible", d)
	}
	var kinds []EventKind
	for _, e := range tab.Events {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Contains(kinds, Failed) || !slices.Contains(kinds, Stalled) {
		t.Errorf("events %v, want the failure and the stall", kinds)
	}
	// The gate's view of the same cell.
	c, ok := NewIndex(samples).Lookup(Key{"memory", "op=copy", "bandwidth", "vm"})
	if !ok || c.Failed != 2 || len(c.Values) != 7 {
		t.Errorf("Lookup: %+v %v, want 2 failed and 7 values", c, ok)
	}
}

func TestVariantThatFailedEverywhereHasARow(t *testing.T) {
	info, samples := run(2, 1)
	for _, p := range []string{"native", "vm"} {
		samples = append(samples, result.Sample{RunID: info.RunID, Workload: "disk", Type: "disk", Label: "mode=randread", Platform: p, Error: "no O_DIRECT"})
	}
	tab := Build(info, samples)
	i := slices.IndexFunc(tab.Rows, func(r Row) bool { return r.Workload == "disk" })
	if i < 0 || tab.Rows[i].Metric != "-" || tab.Rows[i].Cells[0].Failed != 1 || len(tab.Rows[i].Failing) == 0 {
		t.Fatalf("rows %+v, want a row of metric - with its failures and the lines it would speak for", tab.Rows)
	}
	if !slices.ContainsFunc(tab.Summary, func(f Finding) bool { return f.Verdict == stats.Failed && f.FailedWhere == &tab.Rows[i] }) {
		t.Errorf("summary %+v, want a failed line naming the disk row", tab.Summary)
	}
}

func TestUndecidedCells(t *testing.T) {
	// Three rounds are too few for an interval: both sides want more.
	info, samples := run(3, 1.2)
	want := []result.Cell{{Workload: "memory", Label: "op=copy", Platform: "vm"}, {Workload: "memory", Label: "op=copy", Platform: "native"}}
	if got := Build(info, samples).Undecided(0); !slices.Equal(got, want) {
		t.Errorf("3 rounds: undecided %v, want %v", got, want)
	}
	// Sixteen rounds of a clear 20% overhead decide it.
	info, samples = run(16, 1.2)
	if got := Build(info, samples).Undecided(0); len(got) != 0 {
		t.Errorf("16 rounds: undecided %v, want none", got)
	}
	// Unless the scenario wants it within ±0.01%.
	if got := Build(info, samples).Undecided(0.0001); len(got) != 2 {
		t.Errorf("16 rounds at precision 0.01%%: undecided %v, want both cells", got)
	}
}

func TestWarmupsAndDensityLevelsAreNotCounted(t *testing.T) {
	info, samples := run(6, 1)
	warm, level := samples[0], samples[1]
	warm.Warmup, warm.Metrics = true, []result.Metric{{Name: "bandwidth", Unit: "B/s", Value: 1}}
	level.Level, level.Metrics = 3, []result.Metric{{Name: "bandwidth", Unit: "B/s", Value: 1}}
	tab := Build(info, append(samples, warm, level))
	for _, c := range tab.Rows[0].Cells {
		if len(c.Values) != 6 || slices.Contains(c.Values, 1) {
			t.Errorf("cell %v, want the 6 measured values only", c.Values)
		}
	}
}
