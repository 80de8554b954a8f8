package capacity

import (
	"fmt"
	"math"
	"strings"

	"github.com/vmbench/vmbench/internal/units"
)

// Header and Row are a platform's capacity as a table row, the same in
// vmbench capacity and in the reports: instances per host, what binds,
// and what each instance costs.
var Header = []string{"platform", "per host", "binding", "memory/instance", "PSS/instance", "QEMU beyond guest", "CPU/instance"}

// Row is c under Header.
func (c Result) Row() []string {
	per := fmt.Sprintf("%d [%d, %d]", c.PerHost, c.PerHostLo, c.PerHostHi)
	if c.Extrapolated {
		per += " (extrapolated)"
	}
	vmm := "—"
	if !math.IsNaN(c.VMMPerInstance) {
		vmm = units.Format(c.VMMPerInstance, "B")
	}
	return []string{c.Platform.Name, per, string(c.Binding), FitText(c.MemPerInstance, "B"), FitText(c.PSSPerInstance, "B"), vmm, FitText(c.CPUPerInstance, "cores")}
}

// FitText is a per-instance cost with its interval: "12.1 MB [10.2 MB,
// 14.0 MB]", "—" where not measured.
func FitText(f Fit, unit string) string {
	switch {
	case math.IsNaN(f.PerInstance):
		return "—"
	case f.PerInstance < 0: // a cost below zero is other load's: see the warnings
		return "not measured (below zero)"
	}
	s := units.Format(f.PerInstance, unit)
	if !math.IsNaN(f.Lo) {
		s += fmt.Sprintf(" [%s, %s]", units.Format(f.Lo, unit), units.Format(f.Hi, unit))
	}
	return s
}

// SLOText is the SLO's verdict at each level, and where a guard stopped
// the sweep: "SLO on vm: 1: ok; 2: ok; 4: FAIL (…)".
func (c Result) SLOText() string {
	var levels []string
	for _, v := range c.SLO {
		mark := "ok"
		if !v.Pass {
			mark = "FAIL (" + v.Reason + ")"
		}
		levels = append(levels, fmt.Sprintf("%d: %s", v.N, mark))
	}
	s := fmt.Sprintf("SLO on %s: %s", c.Platform.Name, strings.Join(levels, "; "))
	if c.Stop != "" {
		s += "; stopped: " + c.Stop
	}
	return s
}

// Legend says what a capacity row's figures are.
const Legend = "Per host: the most instances that keep the SLO at every level up to them, fit in memory and CPU, and passed the guards; [95% bootstrap interval over rounds]. " +
	"Memory per instance: the slope of MemAvailable's drop over the levels; PSS: of the instances' processes; CPU: of the instances' own CPU. " +
	"An instance is the workload in vmbench's agent: a native one the agent process; a container one the container (the runtime's foreground runc run and the agent in it, whose binary all containers share read-only, as an image's layers are); a guest one the QEMU process and its guest."
