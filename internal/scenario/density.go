package scenario

import (
	"fmt"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
)

// Density is a density sweep: at each level n, n instances of a platform
// run the scenario's workloads at once, so that capacity planning can ask
// how many fit on a host at an SLO.
type Density struct {
	Levels      []int
	Repetitions int // rounds per level
	// SLO is judged per level on the per-instance values: absolute gates
	// (max or min of an aggregate) and loss gates (max_loss: the
	// per-instance value may be at most this much worse than at level 1).
	SLO    []Gate
	Guards Guards
}

// Guards stop a platform's sweep before the host is hurt; a stop is a
// result, not an error.
type Guards struct {
	MemAvailable   int64         // stop when MemAvailable falls below this during a level
	PSIMemoryFull  float64       // stop when memory "full" pressure over a level exceeds this fraction
	StartTimeout   time.Duration // stop when starting an instance takes longer (a guest's boot)
	StopOnOOMKills bool          // stop when the kernel OOM-killed a process during the level
}

// Density defaults.
const (
	DefaultDensityRepetitions = 3
	DefaultMemAvailableFloor  = 512 << 20
	DefaultPSIMemoryFull      = 0.10
)

var (
	densityKeys = []string{"levels", "repetitions", "slo", "guards"}
	guardKeys   = []string{"mem_available", "psi_memory_full", "start_timeout", "oom"}
	levelKeys   = []string{"from", "to", "step"}
)

func (d *decoder) density(n *yaml.Node) *Density {
	if n == nil {
		return nil
	}
	const path = "density"
	out := &Density{Repetitions: DefaultDensityRepetitions,
		Guards: Guards{MemAvailable: DefaultMemAvailableFloor, PSIMemoryFull: DefaultPSIMemoryFull, StopOnOOMKills: true}}
	f := d.fields(n, path, "density", densityKeys, "levels")
	if ln := f["levels"]; ln != nil {
		out.Levels = d.levels(ln, path+".levels")
	}
	d.intField(f, "repetitions", path+".repetitions", &out.Repetitions)
	if sn := f["slo"]; sn != nil {
		for i, item := range d.seq(sn, path+".slo") {
			out.SLO = append(out.SLO, d.gate(item, fmt.Sprintf("%s.slo[%d]", path, i)))
		}
	}
	if gn := f["guards"]; gn != nil {
		gp := path + ".guards"
		g := d.fields(gn, gp, "guards", guardKeys)
		d.sizeField(g, "mem_available", gp+".mem_available", &out.Guards.MemAvailable)
		if pn := g["psi_memory_full"]; pn != nil && d.scalar(pn, gp+".psi_memory_full") {
			p, err := parsePercent(pn.Value)
			if err != nil {
				d.fail(pn, gp+".psi_memory_full", "the share of time all tasks stalled on memory, %v", err)
			} else {
				out.Guards.PSIMemoryFull = p
			}
		}
		d.durationField(g, "start_timeout", gp+".start_timeout", &out.Guards.StartTimeout)
		d.boolField(g, "oom", gp+".oom", &out.Guards.StopOnOOMKills)
	}
	return out
}

// levels reads a list of levels, or {from, to, step} with step log2
// (doubling) or a whole number to add.
func (d *decoder) levels(n *yaml.Node, path string) []int {
	if n.Kind == yaml.SequenceNode {
		var out []int
		for i, item := range d.seq(n, path) {
			var v int
			if d.int(item, fmt.Sprintf("%s[%d]", path, i), &v) {
				out = append(out, v)
			}
		}
		return out
	}
	f := d.fields(n, path, "levels", levelKeys, "from", "to")
	from, to, step := 1, 0, "log2"
	d.intField(f, "from", path+".from", &from)
	d.intField(f, "to", path+".to", &to)
	d.strField(f, "step", path+".step", &step)
	add, err := strconv.Atoi(step)
	switch {
	case step == "log2":
		add = 0
	case err != nil || add < 1:
		d.fail(f["step"], path+".step", "must be log2 (double each level) or a whole number ≥ 1 to add, got %q", step)
		return nil
	}
	if from < 1 || to < from || to > MaxLevel {
		d.fail(n, path, "from %d to %d: levels run from 1 or more up to at most %d, and to must be ≥ from", from, to, MaxLevel)
		return nil
	}
	var out []int
	for l := from; l <= to; {
		out = append(out, l)
		if add == 0 {
			l *= 2
		} else {
			l += add
		}
	}
	if out[len(out)-1] != to && add == 0 {
		out = append(out, to)
	}
	return out
}

// DescribeDensity returns "density sweep: levels [1 2 4] × 2 rounds × 3
// platforms × 1 variant: 42 instances, 14 guests booted".
func DescribeDensity(s *Scenario) string {
	dn := s.Density
	instances, guests := 0, 0
	for _, p := range s.Platforms {
		for _, l := range dn.Levels {
			instances += l * dn.Repetitions
			if p.Type == VM {
				guests += (l + p.VM.PerGuest - 1) / p.VM.PerGuest * dn.Repetitions
			}
		}
	}
	variants := 0
	for _, w := range s.Workloads {
		variants += len(Variants(w))
	}
	return fmt.Sprintf("density sweep: levels %v × %s × %s × %s: %d instances, %s booted",
		dn.Levels, plural(dn.Repetitions, "round"), plural(len(s.Platforms), "platform"), plural(variants, "variant"), instances, plural(guests, "guest"))
}

// MaxLevel bounds a level: instances of one platform at once.
const MaxLevel = 1024

func (v *validator) density() {
	for _, g := range v.s.Gates {
		if g.Kind == Loss {
			v.fail(g.Path+".max_loss", "applies to a density sweep's slo: only (the loss versus the same platform at level 1)")
		}
	}
	dn := v.s.Density
	if dn == nil {
		return
	}
	const path = "density"
	for _, p := range v.s.Platforms {
		if p.Type == Remote {
			// Its guards and level samples read this host, not the machine.
			v.fail(p.at("type"), "a density sweep watches this host's memory and CPU, so a remote machine's sweep would read the wrong host; sweep on the machine itself (vmbench run there, or a fleet), or remove this platform")
		}
	}
	if _, set := v.s.pos[path+".levels"]; set && len(dn.Levels) == 0 {
		v.fail(path+".levels", "must list at least one level")
	}
	for i, l := range dn.Levels {
		if l < 1 || l > MaxLevel {
			v.fail(fmt.Sprintf("%s.levels[%d]", path, i), "must be from 1 to %d instances, got %d", MaxLevel, l)
		}
		if i > 0 && l <= dn.Levels[i-1] {
			v.fail(fmt.Sprintf("%s.levels[%d]", path, i), "levels must rise: %d follows %d", l, dn.Levels[i-1])
		}
	}
	if dn.Repetitions < 1 {
		v.fail(path+".repetitions", "must be ≥ 1, got %d", dn.Repetitions)
	}
	if dn.Guards.MemAvailable < 0 {
		v.fail(path+".guards.mem_available", "must be ≥ 0, got %s", units.FormatSize(dn.Guards.MemAvailable))
	}
	if !(dn.Guards.PSIMemoryFull > 0 && dn.Guards.PSIMemoryFull <= 1) {
		v.fail(path+".guards.psi_memory_full", "must be above 0%% and at most 100%%, got %g%%", 100*dn.Guards.PSIMemoryFull)
	}
	for i := range dn.SLO {
		g := &dn.SLO[i]
		v.gate(g)
		if g.Kind != Absolute && g.Kind != Loss {
			key := map[string]string{Relative: "max_overhead", Equivalence: "negligible", Regression: "max_regression"}[g.Kind]
			v.fail(g.Path+"."+key, "an SLO is judged on one platform's instances: give max or min (absolute) or max_loss (versus the same platform at level 1)")
		}
		if g.Workload == workload.Boot {
			v.fail(g.Path+".metric", "boot metrics are not per instance; an SLO names a workload's metric")
		}
		if g.Kind == Absolute && g.Aggregate != "median" {
			v.fail(g.Path+".aggregate", "an SLO is judged on the median of the instances' values and its interval; name a percentile metric (such as p99) instead of an aggregate")
		}
	}
	for _, g := range v.s.Gates {
		if g.Kind != PerHost && g.Kind != DensityLoss {
			v.fail(g.Path, "a density sweep has no trials to gate: judge its levels with density.slo, and gate its capacity with %s or %s", PerHost, DensityLoss)
		}
	}
	if v.s.Adaptive(v.s.Repetitions) {
		v.fail("max_repetitions", "a density sweep runs density.repetitions rounds per level; adaptive repetitions apply to ordinary runs")
	}
}
