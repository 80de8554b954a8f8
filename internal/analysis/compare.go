package analysis

import "github.com/vmbench/vmbench/internal/stats"

// Compare is run B's table against run A's (before and after a change): a
// row per workload, variant, metric and platform, columns A and B, and B's
// overhead versus A. Trials of two runs cannot be paired: the intervals
// are unpaired, at 95%, and judged by run A's margins.
func Compare(a, b Table) Table {
	t := Table{
		Baseline:   "A",
		Platforms:  []Column{{Name: "A"}, {Name: "B"}},
		Analysis:   a.Analysis,
		Confidence: stats.Level(1),
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
