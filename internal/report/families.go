package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/units"
)

// variantOf splits a matrix platform's name, family[key=value,...], into
// its family and its options in order; a plain name has none.
func variantOf(name string) (family string, keys, values []string) {
	family, rest, ok := strings.Cut(name, "[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return name, nil, nil
	}
	for _, kv := range strings.Split(strings.TrimSuffix(rest, "]"), ",") {
		k, v, _ := strings.Cut(kv, "=")
		keys, values = append(keys, k), append(values, v)
	}
	return family, keys, values
}

// familyMetrics bounds the metrics of a workload a matrix table shows.
const familyMetrics = 3

// families are the matrices' tables: for each family of two or more
// variants and each workload variant it ran, one row per platform variant
// with its options as columns, then the workload's first metrics and host
// CPU, each with its verdict against the baseline.
func (t Table) families() []profileTable {
	type family struct {
		name    string
		keys    []string
		members []int // indices into t.Platforms
	}
	var fams []*family
	for i, p := range t.Platforms {
		name, keys, _ := variantOf(p.Name)
		if len(keys) == 0 {
			continue
		}
		j := slices.IndexFunc(fams, func(f *family) bool { return f.name == name })
		if j < 0 {
			fams = append(fams, &family{name: name, keys: keys})
			j = len(fams) - 1
		}
		fams[j].members = append(fams[j].members, i)
	}
	var out []profileTable
	for _, f := range fams {
		if len(f.members) < 2 {
			continue
		}
		var variants []string // workload\x00label, in row order
		for _, r := range t.Rows {
			v := r.Workload + "\x00" + r.Label
			if !slices.Contains(variants, v) && slices.ContainsFunc(f.members, func(i int) bool { return len(r.Cells[i].Values) > 0 || r.Cells[i].Failed > 0 }) {
				variants = append(variants, v)
			}
		}
		for _, v := range variants {
			w, label, _ := strings.Cut(v, "\x00")
			var rows []analysis.Row
			for _, r := range t.Rows {
				if r.Workload == w && r.Label == label && (len(rows) < familyMetrics || r.Metric == "host_cpu") {
					rows = append(rows, r)
				}
			}
			title := fmt.Sprintf("%s: %s", f.name, strings.TrimSpace(w+" "+label))
			tab := profileTable{Title: title, Header: slices.Clone(f.keys), Keys: len(f.keys)}
			for _, r := range rows {
				metric := r.Metric
				if r.Unit != "" {
					metric += " (" + r.Unit + ")"
				}
				tab.Header = append(tab.Header, metric, "vs "+t.Baseline)
			}
			for _, i := range f.members {
				_, _, values := variantOf(t.Platforms[i].Name)
				rec := slices.Clone(values)
				for _, r := range rows {
					rec = append(rec, cellText(r.Cells[i], r.Unit, units.Format), deltaText(r.Cells[i]))
				}
				tab.Rows = append(tab.Rows, rec)
			}
			out = append(out, tab)
		}
	}
	return out
}

// familyLegend says what a matrix table is.
const familyLegend = "One table per matrix (a platform family whose options are lists) and workload variant: a row per platform variant, its options as columns, then the workload's first metrics and host CPU, each cell with its verdict against the baseline."
