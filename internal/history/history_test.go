package history

import (
	"math"
	"strings"
	"testing"
	"time"
)

func runOf(id, scenario, sha string, at int, labels map[string]string, overhead float64) Run {
	k := Key{Workload: "cpu", Metric: "throughput", Unit: "B/s", Platform: "vm", Versus: "native"}
	return Run{ID: id, Scenario: scenario, SHA256: sha, Start: time.Unix(int64(at), 0), Labels: labels, Host: "h",
		Cells: []Cell{{Key: k, Value: overhead, Lo: math.NaN(), Hi: math.NaN()}}}
}

// Runs of two scenarios are not mixed: the error names both with their
// counts, and --scenario picks one; labels filter; a label orders the
// runs, numerically when every value is a number; a run without it is
// named.
func TestAnalyzeChoosesAndOrders(t *testing.T) {
	runs := []Run{
		runOf("r1", "a", "x", 3, map[string]string{"seq": "10", "branch": "main"}, 0.1),
		runOf("r2", "a", "x", 2, map[string]string{"seq": "9", "branch": "main"}, 0.1),
		runOf("r3", "a", "y", 1, map[string]string{"seq": "11", "branch": "dev"}, 0.1),
		runOf("r4", "b", "z", 4, map[string]string{"seq": "1"}, 0.1),
	}
	_, err := Analyze(runs, Options{Search: DefaultSearch})
	if err == nil || !strings.Contains(err.Error(), "a (3 runs), b (1 runs)") || !strings.Contains(err.Error(), "--scenario") {
		t.Errorf("mixed scenarios: %v", err)
	}
	h, err := Analyze(runs, Options{Scenario: "a", Order: "seq", Search: DefaultSearch})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range h.Runs {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "r2,r1,r3" || len(h.Changed) != 1 || h.Changed[0] != 2 {
		t.Errorf("ordered by seq (9 < 10 < 11): %v, scenario changed at %v", ids, h.Changed)
	}
	if h, err = Analyze(runs, Options{Scenario: "a", Labels: map[string]string{"branch": "main"}, Search: DefaultSearch}); err != nil || len(h.Runs) != 2 || h.Runs[0].ID != "r2" {
		t.Errorf("branch=main by time: %+v, %v", h.Runs, err)
	}
	runs[1].Labels = nil
	if _, err = Analyze(runs, Options{Scenario: "a", Order: "seq", Search: DefaultSearch}); err == nil || !strings.Contains(err.Error(), "run r2 has no label seq") {
		t.Errorf("a run without the order's label: %v", err)
	}
	if _, err = Analyze(runs, Options{Labels: map[string]string{"branch": "none"}, Search: DefaultSearch}); err == nil || !strings.Contains(err.Error(), "branch=none") {
		t.Errorf("no run with the labels: %v", err)
	}
}
