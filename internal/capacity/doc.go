package capacity

import (
	"slices"
	"strings"

	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
)

// Estimate is a figure with its interval in JSON; null where it was not
// measured.
type Estimate struct {
	Value *float64 `json:"value"`
	Lo    *float64 `json:"lo"`
	Hi    *float64 `json:"hi"`
}

// FitEstimate is a per-instance slope as an Estimate; null when it was not
// measured or came out below zero (other load's; the result's warnings say).
func FitEstimate(f Fit) Estimate {
	if !(f.PerInstance >= 0) {
		return Estimate{}
	}
	return Estimate{units.Finite(f.PerInstance), units.Finite(f.Lo), units.Finite(f.Hi)}
}

// ResultDoc is a platform's capacity as JSON: what vmbench capacity --json
// and report.json's density section carry.
type ResultDoc struct {
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	Accel        string   `json:"accel,omitempty"`
	PerHost      Estimate `json:"per_host"`
	Extrapolated bool     `json:"extrapolated"`
	Binding      string   `json:"binding"`
	// Memory and PSS in bytes, CPU in cores, per instance.
	MemoryPerInstance Estimate   `json:"memory_per_instance_bytes"`
	PSSPerInstance    Estimate   `json:"pss_per_instance_bytes"`
	QEMUBeyondGuest   *float64   `json:"qemu_beyond_guest_bytes"`
	CPUPerInstance    Estimate   `json:"cpu_per_instance_cores"`
	SLO               []SLOLevel `json:"slo"`
	Stop              string     `json:"stop,omitempty"`
	Warnings          []string   `json:"warnings"`
}

// SLOLevel is the SLO's verdict at a level of n instances.
type SLOLevel struct {
	Instances int    `json:"instances"`
	Pass      bool   `json:"pass"`
	Reason    string `json:"reason,omitempty"`
}

// Doc is the result as JSON.
func (c Result) Doc() ResultDoc {
	d := ResultDoc{Name: c.Platform.Name, Type: c.Platform.Type, Accel: c.Platform.Accel,
		PerHost:      Estimate{units.Finite(float64(c.PerHost)), units.Finite(float64(c.PerHostLo)), units.Finite(float64(c.PerHostHi))},
		Extrapolated: c.Extrapolated, Binding: string(c.Binding),
		MemoryPerInstance: FitEstimate(c.MemPerInstance), PSSPerInstance: FitEstimate(c.PSSPerInstance),
		QEMUBeyondGuest: units.Finite(c.VMMPerInstance), CPUPerInstance: FitEstimate(c.CPUPerInstance),
		SLO: []SLOLevel{}, Stop: c.Stop, Warnings: append([]string{}, c.Warnings...)}
	for _, v := range c.SLO {
		d.SLO = append(d.SLO, SLOLevel{v.N, v.Pass, v.Reason})
	}
	return d
}

// LevelDoc is one level of a sweep as JSON: each cell's median per
// instance over every instance of every round, and the host's metrics'
// medians over the rounds (by the metric names of the workload package:
// mem_drop in bytes, host_busy in cores, …).
type LevelDoc struct {
	Instances int                 `json:"instances"`
	Rounds    int                 `json:"rounds"`
	Stop      string              `json:"stop,omitempty"`
	Cells     []CellDoc           `json:"cells"`
	Host      map[string]*float64 `json:"host"`
}

// CellDoc is a cell's median per instance at a level.
type CellDoc struct {
	Workload string   `json:"workload"`
	Variant  string   `json:"variant"`
	Metric   string   `json:"metric"`
	Unit     string   `json:"unit"`
	Better   string   `json:"better,omitempty"`
	N        int      `json:"n"`
	Median   *float64 `json:"median"`
}

// Doc is the level as JSON.
func (l Level) Doc() LevelDoc {
	d := LevelDoc{Instances: l.N, Rounds: len(l.Rounds), Stop: l.Stop, Cells: []CellDoc{}, Host: map[string]*float64{}}
	var cells []Cell
	for _, r := range l.Rounds {
		for c := range r.Inst {
			if !slices.Contains(cells, c) {
				cells = append(cells, c)
			}
		}
		for name := range r.Host {
			if _, ok := d.Host[name]; !ok {
				m, _ := l.HostMedian(name)
				d.Host[name] = units.Finite(m)
			}
		}
	}
	slices.SortFunc(cells, func(a, b Cell) int {
		return strings.Compare(a.Workload+"\x00"+a.Label+"\x00"+a.Metric, b.Workload+"\x00"+b.Label+"\x00"+b.Metric)
	})
	for _, c := range cells {
		s := stats.Summarize(collectCell(l, c)) // the density table's median
		d.Cells = append(d.Cells, CellDoc{Workload: c.Workload, Variant: c.Label, Metric: c.Metric, Unit: c.Unit, Better: c.Better, N: s.N, Median: units.Finite(s.Center)})
	}
	return d
}
