package report

import (
	"fmt"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/result"
)

// Compare builds the table of run B against run A (before and after a
// change): a row per workload, variant, metric and platform, columns A and
// B, and B's overhead versus A. It is a Table, so every renderer renders it.
func Compare(a, b Table) Table {
	t := Table{
		Table:    analysis.Compare(a.Table, b.Table),
		RunID:    a.RunID + " vs " + b.RunID,
		Scenario: a.Scenario,
		Compared: true,
		Host:     b.Host,
		Tools:    b.Tools,
	}
	t.Platforms[0].Type, t.Platforms[1].Type = "run "+a.RunID, "run "+b.RunID
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
	return t
}
