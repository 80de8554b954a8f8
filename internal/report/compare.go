package report

import (
	"fmt"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/stats"
)

// Compare builds the table of run B against run A (before and after a
// change): a row per workload, variant, metric and platform, columns A and
// B, and B's overhead versus A. It is a Table, so every renderer renders it.
func Compare(a, b Table) Table {
	t := Table{
		RunID:     a.RunID + " vs " + b.RunID,
		Scenario:  a.Scenario,
		Baseline:  "A",
		Compared:  true,
		Host:      b.Host,
		Tools:     b.Tools,
		Platforms: []Column{{Name: "A", Type: "run " + a.RunID}, {Name: "B", Type: "run " + b.RunID}},
		// Trials of two runs cannot be paired: the intervals are unpaired,
		// at 95%, and judged by run A's margins.
		Analysis: a.Analysis,
		Level:    stats.Level(1),
	}
	t.Banners = append(t.Banners, fmt.Sprintf("A is run %s, B is run %s; \"B vs A\" is the extra cost per unit of work in B", a.RunID, b.RunID))
	if a.Scenario != b.Scenario {
		t.Banners = append(t.Banners, fmt.Sprintf("the runs are of different scenarios: %q and %q", a.Scenario, b.Scenario))
	}
	t.Banners = append(t.Banners, result.HostDifferences(a.Host, b.Host)...)
	for _, pa := range a.Platforms {
		for _, pb := range b.Platforms {
			if pa.Name == pb.Name && pa.Accel != pb.Accel {
				t.Banners = append(t.Banners, fmt.Sprintf("platform %s ran under %s in A and %s in B: its numbers are not comparable", pa.Name, orUnknown(pa.Accel), orUnknown(pb.Accel)))
			}
		}
	}
	type key struct{ workload, label, metric, unit, platform string }
	cells := func(tab Table) (map[key]Cell, []key) {
		m := map[key]Cell{}
		var order []key
		for _, r := range tab.Rows {
			for i, p := range tab.Platforms {
				k := key{r.Workload, r.Label, r.Metric, r.Unit, p.Name}
				m[k] = r.Cells[i]
				order = append(order, k)
			}
		}
		return m, order
	}
	ca, orderA := cells(a)
	cb, orderB := cells(b)
	for _, k := range orderB {
		if _, ok := ca[k]; !ok {
			orderA = append(orderA, k)
		}
	}
	for _, k := range orderA {
		x, y := ca[k], cb[k]
		if len(x.Values) == 0 && len(y.Values) == 0 && x.Failed == 0 && y.Failed == 0 {
			continue
		}
		label := k.platform
		if k.label != "" {
			label += ": " + k.label
		}
		x.Rounds, y.Rounds, x.Delta = nil, nil, nil
		r := Row{Workload: k.workload, Label: label, Metric: k.metric, Unit: k.unit, Cells: []Cell{x, y}}
		r.Cells[1].Delta = t.judge(r, 1, 0)
		t.Rows = append(t.Rows, r)
	}
	return t
}
