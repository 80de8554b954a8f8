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

// fleetCapacity sizes a fleet run's density sweeps: each host's capacity
// from its own sweep, each host type's as the least of its hosts', the
// hosts --instances needs of each type alone, and in the fleet's own mix of
// types.
func fleetCapacity(w io.Writer, r *loadedRun, s *scenario.Scenario, o capacityOptions, headroom float64) error {
	type typed struct {
		name   string
		hosts  []string
		best   map[string]capacity.Result // per platform, the host with the fewest per host
		counts map[string]string          // per platform, each host's per host
	}
	var types []*typed
	for _, fh := range r.info.Fleet.Hosts {
		if fh.Status != "ok" {
			fmt.Fprintf(w, "host %s: %s, not sized (%s)\n", fh.Name, fh.Status, fh.Error)
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
		sweeps := capacity.Sweeps(info, mine)
		if len(sweeps) == 0 {
			fmt.Fprintf(w, "host %s: no density samples, not sized\n", fh.Name)
			continue
		}
		host := capacity.HostOf(info, sweeps, s.Density.Guards.MemAvailable)
		name := hostType(fh.Host)
		i := slices.IndexFunc(types, func(t *typed) bool { return t.name == name })
		if i < 0 {
			types = append(types, &typed{name: name, best: map[string]capacity.Result{}, counts: map[string]string{}})
			i = len(types) - 1
		}
		t := types[i]
		t.hosts = append(t.hosts, fh.Name)
		for _, c := range capacity.PlanOn(s, sweeps, host).Results {
			p := c.Platform
			if b, ok := t.best[p.Name]; !ok || c.PerHost < b.PerHost {
				t.best[p.Name] = c
			}
			t.counts[p.Name] = strings.TrimPrefix(t.counts[p.Name]+fmt.Sprintf(", %s %d", fh.Name, c.PerHost), ", ")
		}
	}
	if len(types) == 0 {
		return usageError(fmt.Errorf("fleet run %s: no host has a density sweep to size", r.info.RunID))
	}
	fmt.Fprintf(w, "vmbench capacity of fleet run %s — %d host type(s); a type's instances per host are the fewest of its hosts'\n", r.info.RunID, len(types))
	tw := tablewriter.NewWriter(w)
	tw.SetHeader([]string{"platform", "host type", "hosts", "per host", "each host", fmt.Sprintf("hosts for %d of this type", o.instances)})
	tw.SetAutoFormatHeaders(false)
	tw.SetAutoWrapText(false)
	tw.SetAlignment(tablewriter.ALIGN_LEFT)
	var platforms []string
	for _, t := range types {
		for p := range t.best {
			if !slices.Contains(platforms, p) {
				platforms = append(platforms, p)
			}
		}
	}
	slices.Sort(platforms)
	emulated := false
	var mixes []string
	for _, p := range platforms {
		var mix []string
		perUnit := 0 // instances one copy of the fleet's mix of hosts holds
		refused := false
		for _, t := range types {
			c, ok := t.best[p]
			if !ok {
				continue
			}
			hosts, tcg := hostsText(c, o, headroom)
			emulated, refused = emulated || tcg, refused || tcg
			tw.Append([]string{p, t.name, strings.Join(t.hosts, ", "), fmt.Sprintf("%d [%d, %d]", c.PerHost, c.PerHostLo, c.PerHostHi), t.counts[p], hosts})
			mix = append(mix, fmt.Sprintf("%d × %s", len(t.hosts), t.name))
			perUnit += len(t.hosts) * int(math.Floor(float64(c.PerHost)*(1-headroom/100)))
		}
		switch {
		case refused || len(mix) < 2:
		case perUnit <= 0:
			mixes = append(mixes, fmt.Sprintf("%s in the fleet's mix: no instance fits after %s headroom", p, o.headroom))
		default:
			copies := (o.instances + perUnit - 1) / perUnit
			var need []string
			total := 0
			for _, t := range types {
				if _, ok := t.best[p]; ok {
					need = append(need, fmt.Sprintf("%d × %s", copies*len(t.hosts), t.name))
					total += copies * len(t.hosts)
				}
			}
			mixes = append(mixes, fmt.Sprintf("%s, %d instances in the fleet's mix of types (%s): %d host(s) (%s) + %d spare(s)",
				p, o.instances, strings.Join(mix, " + "), total, strings.Join(need, " + "), o.spares))
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
