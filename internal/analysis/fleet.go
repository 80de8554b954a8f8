package analysis

import (
	"math"
	"slices"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/stats"
)

// Host is one host of a fleet run and its own measured trials.
type Host struct {
	Name  string
	Index *Index
}

// Hosts are the indices of a fleet run's hosts that ran, in the fleet's
// order; none for a run of one host.
func Hosts(info result.RunInfo, samples []result.Sample) []Host {
	if info.Fleet == nil {
		return nil
	}
	var out []Host
	for _, h := range info.Fleet.Hosts {
		if h.Status != "ok" {
			continue
		}
		mine := slices.DeleteFunc(slices.Clone(samples), func(s result.Sample) bool { return s.Host != h.Name })
		out = append(out, Host{h.Name, NewIndex(mine)})
	}
	return out
}

// FleetRow is a row's overhead on one platform against the baseline, on
// each host and across the fleet.
type FleetRow struct {
	Row      *Row // of the fleet's Table
	Platform string
	// Hosts are the overhead on each host, judged from its own rounds;
	// nil where the host lacks a side.
	Hosts []*Judged
	// Fleet is the mean over the hosts of each host's median per-round
	// cost ratio, with Student's t over the hosts (stats.Fleet).
	Fleet stats.Estimate
	// Spread is the highest host's overhead minus the lowest's; NaN with
	// none.
	Spread float64
}

// Fleet is the fleet table of a merged fleet run: a row per row of t and
// platform other than the baseline that some host measured.
func (t Table) Fleet(hosts []Host) []FleetRow {
	var out []FleetRow
	for i := range t.Rows {
		r := &t.Rows[i]
		for _, p := range t.Platforms {
			if p.Name == t.Baseline {
				continue
			}
			fr := FleetRow{Row: r, Platform: p.Name, Spread: math.NaN()}
			var logs [][]float64
			lo, hi := math.Inf(1), math.Inf(-1)
			any := false
			for _, h := range hosts {
				ref, _ := h.Index.Lookup(Key{r.Workload, r.Label, r.Metric, t.Baseline})
				x, _ := h.Index.Lookup(Key{r.Workload, r.Label, r.Metric, p.Name})
				if len(ref.Values) == 0 || len(x.Values) == 0 {
					fr.Hosts = append(fr.Hosts, nil)
					logs = append(logs, nil)
					continue
				}
				any = true
				e := stats.Compare(ref.Stats(), x.Stats(), r.Higher(), t.Confidence)
				fr.Hosts = append(fr.Hosts, &Judged{Estimate: e, Judgement: stats.Judge(e, t.Analysis.Margin(r.Workload, r.Metric))})
				logs = append(logs, stats.PairLogs(ref.Stats(), x.Stats(), r.Higher()))
				if !math.IsNaN(e.Overhead) {
					lo, hi = math.Min(lo, e.Overhead), math.Max(hi, e.Overhead)
				}
			}
			if !any {
				continue
			}
			fr.Fleet = stats.Fleet(logs, t.Confidence)
			if hi >= lo {
				fr.Spread = hi - lo
			}
			out = append(out, fr)
		}
	}
	return out
}
