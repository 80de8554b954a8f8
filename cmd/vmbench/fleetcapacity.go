package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"

	"github.com/vmbench/vmbench/internal/capacity"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/units"
)

// hostType is a kind of host of a fleet: hosts of one CPU model, core
// count and memory size are sized alike.
func hostType(h result.Host) string {
	return fmt.Sprintf("%s, %d CPUs, %s", cmp.Or(h.CPUModel, "unknown CPU"), h.Cores, units.FormatSize(int64(math.Round(float64(h.MemoryB)/(1<<30)))<<30))
}

// fleetType is the hosts of one type and, per platform, the result of the
// one with the fewest instances per host, and each host's count.
type fleetType struct {
	name  string
	hosts []string
	best  map[string]capacity.Result
	each  map[string][]hostCount
}

// hostCount is one host's instances per host.
type hostCount struct {
	Host    string `json:"host"`
	PerHost int    `json:"per_host"`
}

// unsized is a fleet host that was not sized, and why.
type unsized struct {
	Host   string `json:"host"`
	Reason string `json:"reason"`
}

// fleetPlan sizes each host of a fleet run from its own sweep and groups
// them by host type.
func fleetPlan(r *loadedRun, s *scenario.Scenario) (types []*fleetType, skipped []unsized) {
	for _, fh := range r.info.Fleet.Hosts {
		if fh.Status != "ok" {
			skipped = append(skipped, unsized{fh.Name, fmt.Sprintf("%s (%s)", fh.Status, fh.Error)})
			continue
		}
		var mine []result.Sample
		for _, x := range r.samples {
			if x.Host == fh.Name {
				mine = append(mine, x)
			}
		}
		info := r.info
		info.Host = fh.Host
		plan := capacity.PlanRun(s, info, mine)
		if len(plan.Results) == 0 {
			skipped = append(skipped, unsized{fh.Name, "no density samples"})
			continue
		}
		name := hostType(fh.Host)
		i := slices.IndexFunc(types, func(t *fleetType) bool { return t.name == name })
		if i < 0 {
			types = append(types, &fleetType{name: name, best: map[string]capacity.Result{}, each: map[string][]hostCount{}})
			i = len(types) - 1
		}
		t := types[i]
		t.hosts = append(t.hosts, fh.Name)
		for _, c := range plan.Results {
			p := c.Platform.Name
			if b, ok := t.best[p]; !ok || c.PerHost < b.PerHost {
				t.best[p] = c
			}
			t.each[p] = append(t.each[p], hostCount{fh.Name, c.PerHost})
		}
	}
	return types, skipped
}

// fleetMix is what --instances of a platform need in the fleet's own mix
// of host types: whole copies of the fleet's hosts, each copy holding
// Σ hosts·⌊k·(1−headroom)⌋.
type fleetMix struct {
	Platform string `json:"platform"`
	// Hosts is the hosts needed, spares not counted; 0 with Refused.
	Hosts  int            `json:"hosts"`
	ByType map[string]int `json:"by_type"`
	Spares int            `json:"spares"`
	// Refused says why there is no figure: TCG, or none fit.
	Refused string `json:"refused,omitempty"`
	tcg     bool
}

// mixOf is the fleet's mix for a platform; false when it runs on fewer
// than two host types (the type's own row says it all).
func mixOf(p string, types []*fleetType, o capacityOptions, headroom float64) (fleetMix, bool) {
	m := fleetMix{Platform: p, ByType: map[string]int{}, Spares: o.spares}
	perUnit, n := 0, 0
	for _, t := range types {
		c, ok := t.best[p]
		if !ok {
			continue
		}
		n++
		if c.Platform.Accel == "tcg" && !o.allowEmulated {
			m.Refused, m.tcg = "the platform ran under TCG, and emulation sizes nothing (--allow-emulated gives the figure)", true
		}
		perUnit += len(t.hosts) * int(math.Floor(float64(c.PerHost)*(1-headroom/100)))
	}
	switch {
	case n < 2:
		return m, false
	case m.Refused != "":
	case perUnit <= 0:
		m.Refused = fmt.Sprintf("no instance fits after %s headroom", o.headroom)
	default:
		copies := (o.instances + perUnit - 1) / perUnit
		for _, t := range types {
			if _, ok := t.best[p]; ok {
				m.ByType[t.name] = copies * len(t.hosts)
				m.Hosts += copies * len(t.hosts)
			}
		}
	}
	return m, true
}

// fleetCapacity sizes a fleet run's density sweeps: each host's capacity
// from its own sweep, each host type's as the least of its hosts', the
// hosts --instances needs of each type alone, and in the fleet's own mix of
// types; as text, or with --json as one document.
func fleetCapacity(w io.Writer, r *loadedRun, s *scenario.Scenario, o capacityOptions, headroom float64) error {
	types, skipped := fleetPlan(r, s)
	if len(types) == 0 {
		return usageError(fmt.Errorf("fleet run %s: no host has a density sweep to size", r.info.RunID))
	}
	var platforms []string
	for _, t := range types {
		for p := range t.best {
			if !slices.Contains(platforms, p) {
				platforms = append(platforms, p)
			}
		}
	}
	slices.Sort(platforms)
	if o.asJSON {
		return writeJSON(w, fleetCapacityJSON(r, s, types, skipped, platforms, o, headroom))
	}
	for _, u := range skipped {
		fmt.Fprintf(w, "host %s: not sized: %s\n", u.Host, u.Reason)
	}
	fmt.Fprintf(w, "vmbench capacity of fleet run %s — %d host type(s); a type's instances per host are the fewest of its hosts'\n", r.info.RunID, len(types))
	tw := tablewriter.NewWriter(w)
	tw.SetHeader([]string{"platform", "host type", "hosts", "per host", "each host", fmt.Sprintf("hosts for %d of this type", o.instances)})
	tw.SetAutoFormatHeaders(false)
	tw.SetAutoWrapText(false)
	tw.SetAlignment(tablewriter.ALIGN_LEFT)
	emulated := false
	var mixes []string
	for _, p := range platforms {
		var mix []string
		for _, t := range types {
			c, ok := t.best[p]
			if !ok {
				continue
			}
			hosts, tcg := hostsText(c, o, headroom)
			emulated = emulated || tcg
			var each []string
			for _, h := range t.each[p] {
				each = append(each, fmt.Sprintf("%s %d", h.Host, h.PerHost))
			}
			tw.Append([]string{p, t.name, strings.Join(t.hosts, ", "), fmt.Sprintf("%d [%d, %d]", c.PerHost, c.PerHostLo, c.PerHostHi), strings.Join(each, ", "), hosts})
			mix = append(mix, fmt.Sprintf("%d × %s", len(t.hosts), t.name))
		}
		m, ok := mixOf(p, types, o, headroom)
		switch {
		case !ok || m.tcg: // the rows say it
		case m.Refused != "":
			mixes = append(mixes, fmt.Sprintf("%s in the fleet's mix: %s", p, m.Refused))
		default:
			var need []string
			for _, t := range types {
				if n, ok := m.ByType[t.name]; ok {
					need = append(need, fmt.Sprintf("%d × %s", n, t.name))
				}
			}
			mixes = append(mixes, fmt.Sprintf("%s, %d instances in the fleet's mix of types (%s): %d host(s) (%s) + %d spare(s)",
				p, o.instances, strings.Join(mix, " + "), m.Hosts, strings.Join(need, " + "), o.spares))
		}
	}
	tw.Render()
	for _, m := range mixes {
		fmt.Fprintln(w, m)
	}
	fmt.Fprintf(w, "Per host: the most instances that keep the SLO at every level up to them, fit in memory and CPU, and passed the guards, on the type's weakest host; [95%% bootstrap interval over rounds]. Hosts of one type: ⌈%d / ⌊k·(1−%s)⌋⌉ + %d spare(s); in the mix: whole copies of the fleet's hosts, each holding Σ hosts·⌊k·(1−%s)⌋.\n",
		o.instances, o.headroom, o.spares, o.headroom)
	if emulated {
		fmt.Fprintln(w, "Hosts-needed refused for platforms that ran under TCG: emulation sizes nothing. --allow-emulated prints them anyway.")
	}
	return nil
}

// fleetCapacityJSON is a fleet's capacity as one document (schema
// vmbench.capacity/v1, with fleet set): per host type, each platform's
// capacity on its weakest host with each host's count, and the fleet's mix.
func fleetCapacityJSON(r *loadedRun, s *scenario.Scenario, types []*fleetType, skipped []unsized, platforms []string, o capacityOptions, headroom float64) any {
	type typePlatform struct {
		capacityPlatform
		EachHost []hostCount `json:"each_host"`
	}
	type hostTypeDoc struct {
		Name      string         `json:"name"`
		Hosts     []string       `json:"hosts"`
		Platforms []typePlatform `json:"platforms"`
	}
	doc := struct {
		capacityHead
		Fleet     bool          `json:"fleet"`
		Unsized   []unsized     `json:"unsized"`
		HostTypes []hostTypeDoc `json:"host_types"`
		Mix       []fleetMix    `json:"mix"`
	}{capacityHead: headOf(r, s, o, headroom), Fleet: true, Unsized: append([]unsized{}, skipped...), HostTypes: []hostTypeDoc{}, Mix: []fleetMix{}}
	for _, t := range types {
		ht := hostTypeDoc{Name: t.name, Hosts: t.hosts, Platforms: []typePlatform{}}
		for _, p := range platforms {
			if c, ok := t.best[p]; ok {
				ht.Platforms = append(ht.Platforms, typePlatform{capacityPlatformOf(c, o, headroom), t.each[p]})
			}
		}
		doc.HostTypes = append(doc.HostTypes, ht)
	}
	for _, p := range platforms {
		if m, ok := mixOf(p, types, o, headroom); ok {
			doc.Mix = append(doc.Mix, m)
		}
	}
	return doc
}
