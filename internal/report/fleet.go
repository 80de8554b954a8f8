package report

import (
	"cmp"
	"fmt"
	"math"
	"strings"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/stats"
)

// FleetTable is a fleet run's own section: its hosts, where they differ,
// and each cell's overhead on every host and across the fleet.
type FleetTable struct {
	Hosts    []result.FleetHost
	Warnings []string
	Header   []string
	Rows     [][]string
}

// fleetLegend says how the fleet's column is computed.
const fleetLegend = "Each host's overhead is judged from its own rounds, as in a run of one host. fleet: the mean over the hosts of each host's median per-round cost ratio, so that every host weighs the same, with a 95% interval from a hierarchical bootstrap (hosts resampled, then each host's rounds): it holds the spread between hosts as well as the trial noise. spread: the highest host's overhead minus the lowest's."

// fleet builds the fleet section from the samples, which carry their host.
func (t *Table) fleet(info result.RunInfo, samples []result.Sample) {
	if info.Fleet == nil {
		return
	}
	ft := &FleetTable{Hosts: info.Fleet.Hosts, Warnings: info.Fleet.Warnings}
	t.Fleet = ft
	var hosts []string
	for _, h := range info.Fleet.Hosts {
		if h.Status == "ok" {
			hosts = append(hosts, h.Name)
		}
	}
	type key struct{ host, workload, label, metric, platform string }
	cells := map[key]*stats.Values{}
	for _, s := range samples {
		if s.Warmup || s.Error != "" || s.Level > 0 {
			continue
		}
		for _, m := range s.Metrics {
			k := key{s.Host, s.Workload, s.Label, m.Name, s.Platform}
			if cells[k] == nil {
				cells[k] = &stats.Values{}
			}
			cells[k].V = append(cells[k].V, m.Value)
			cells[k].Round = append(cells[k].Round, s.RoundKey())
		}
	}
	ft.Header = append([]string{"workload", "variant", "metric", "platform"}, hosts...)
	ft.Header = append(ft.Header, "fleet", "spread")
	for _, r := range t.Rows {
		higher := result.HigherIsBetter(r.Unit)
		for _, p := range t.Platforms {
			if p.Name == t.Baseline {
				continue
			}
			rec := []string{r.Workload, r.Label, r.Metric, p.Name}
			var logs [][]float64
			lo, hi := math.Inf(1), math.Inf(-1)
			any := false
			for _, h := range hosts {
				ref, x := cells[key{h, r.Workload, r.Label, r.Metric, t.Baseline}], cells[key{h, r.Workload, r.Label, r.Metric, p.Name}]
				if ref == nil || x == nil {
					rec = append(rec, "—")
					logs = append(logs, nil)
					continue
				}
				any = true
				e := stats.Compare(*ref, *x, higher, t.Level)
				j := Judged{e, stats.Judge(e, t.Analysis.Margin(r.Workload, r.Metric))}
				rec = append(rec, j.Text())
				logs = append(logs, stats.PairLogs(*ref, *x, higher))
				if !math.IsNaN(e.Overhead) {
					lo, hi = math.Min(lo, e.Overhead), math.Max(hi, e.Overhead)
				}
			}
			if !any {
				continue
			}
			f := stats.Fleet(logs, 0.95)
			text := pct(f.Overhead)
			if !math.IsNaN(f.Lo) {
				text += " " + interval(f)
			}
			spread := "—"
			if hi >= lo {
				spread = strings.TrimPrefix(pct(hi-lo), "+") + " points"
			}
			ft.Rows = append(ft.Rows, append(rec, fmt.Sprintf("%s (%d hosts)", text, f.N), spread))
		}
	}
}

// hostRows are the fleet's hosts as rows: name, status, CPU, kernel, the
// guests' accelerators, and why a failed host has no run.
func (f *FleetTable) hostRows() ([]string, [][]string) {
	var rows [][]string
	for _, h := range f.Hosts {
		var acc []string
		for p, a := range h.Accel {
			acc = append(acc, p+"="+a)
		}
		rows = append(rows, []string{h.Name, h.Status, cmp.Or(h.Host.CPUModel, "—"), cmp.Or(h.Host.Kernel, "—"), cmp.Or(strings.Join(acc, " "), "—"), cmp.Or(h.Doctor, "—"), cmp.Or(h.Error, "")})
	}
	return []string{"host", "status", "CPU", "kernel", "accelerators", "doctor", "why not"}, rows
}
