package capacity

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/units"
)

// FleetPlan is a fleet run sized: each host from its own sweep, grouped by
// host type, a type by its weakest host.
type FleetPlan struct {
	Types     []*HostType
	Unsized   []Unsized
	Platforms []string // every platform of some type, sorted
}

// HostType is the hosts of one type and, per platform, the result of the
// one with the fewest instances per host, and each host's count.
type HostType struct {
	Name  string
	Hosts []string
	Best  map[string]Result
	Each  map[string][]HostCount
}

// HostCount is one host's instances per host.
type HostCount struct {
	Host    string `json:"host"`
	PerHost int    `json:"per_host"`
}

// Unsized is a fleet host that was not sized, and why.
type Unsized struct {
	Host   string `json:"host"`
	Reason string `json:"reason"`
}

// HostTypeOf names a kind of host of a fleet: hosts of one CPU model, core
// count and memory size are sized alike.
func HostTypeOf(h result.Host) string {
	return fmt.Sprintf("%s, %d CPUs, %s", cmp.Or(h.CPUModel, "unknown CPU"), h.Cores, units.FormatSize(int64(math.Round(float64(h.MemoryB)/(1<<30)))<<30))
}

// askFleet sizes each host of a fleet run from its own sweep and groups
// them by host type.
func askFleet(s *scenario.Scenario, info result.RunInfo, samples []result.Sample) (*FleetPlan, error) {
	f := &FleetPlan{}
	for _, fh := range info.Fleet.Hosts {
		if fh.Status != "ok" {
			f.Unsized = append(f.Unsized, Unsized{fh.Name, fmt.Sprintf("%s (%s)", fh.Status, fh.Error)})
			continue
		}
		var mine []result.Sample
		for _, x := range samples {
			if x.Host == fh.Name {
				mine = append(mine, x)
			}
		}
		hi := info
		hi.Host = fh.Host
		plan := PlanRun(s, hi, mine)
		if len(plan.Results) == 0 {
			f.Unsized = append(f.Unsized, Unsized{fh.Name, "no density samples"})
			continue
		}
		name := HostTypeOf(fh.Host)
		i := slices.IndexFunc(f.Types, func(t *HostType) bool { return t.Name == name })
		if i < 0 {
			f.Types = append(f.Types, &HostType{Name: name, Best: map[string]Result{}, Each: map[string][]HostCount{}})
			i = len(f.Types) - 1
		}
		t := f.Types[i]
		t.Hosts = append(t.Hosts, fh.Name)
		for _, c := range plan.Results {
			p := c.Platform.Name
			if b, ok := t.Best[p]; !ok || c.PerHost < b.PerHost {
				t.Best[p] = c
			}
			t.Each[p] = append(t.Each[p], HostCount{fh.Name, c.PerHost})
			if !slices.Contains(f.Platforms, p) {
				f.Platforms = append(f.Platforms, p)
			}
		}
	}
	if len(f.Types) == 0 {
		return nil, fmt.Errorf("fleet run %s: no host has a density sweep to size", info.RunID)
	}
	slices.Sort(f.Platforms)
	return f, nil
}

// Mix is what the instances of a platform need in the fleet's own mix of
// host types: whole copies of the fleet's hosts, each copy holding
// Σ hosts·⌊k·(1−headroom)⌋.
type Mix struct {
	Platform string `json:"platform"`
	// Hosts is the hosts needed, spares not counted; 0 with Refused.
	Hosts  int            `json:"hosts"`
	ByType map[string]int `json:"by_type"`
	Spares int            `json:"spares"`
	// Refused says why there is no figure: TCG, or none fit.
	Refused string `json:"refused,omitempty"`
	tcg     bool
}

// mix is the fleet's mix for a platform; false when it runs on fewer than
// two host types (the type's own row says it all).
func (f *FleetPlan) mix(p string, q Question) (Mix, bool) {
	m := Mix{Platform: p, ByType: map[string]int{}, Spares: q.Spares}
	perUnit, n := 0, 0
	for _, t := range f.Types {
		c, ok := t.Best[p]
		if !ok {
			continue
		}
		n++
		if c.Platform.Accel == "tcg" && !q.AllowEmulated {
			m.Refused, m.tcg = refusedTCG, true
		}
		perUnit += len(t.Hosts) * int(math.Floor(float64(c.PerHost)*(1-q.headroom())))
	}
	switch {
	case n < 2:
		return m, false
	case m.Refused != "":
	case perUnit <= 0:
		m.Refused = fmt.Sprintf("no instance fits after %s headroom", q.headroomText())
	default:
		copies := (q.Instances + perUnit - 1) / perUnit
		for _, t := range f.Types {
			if _, ok := t.Best[p]; ok {
				m.ByType[t.Name] = copies * len(t.Hosts)
				m.Hosts += copies * len(t.Hosts)
			}
		}
	}
	return m, true
}
