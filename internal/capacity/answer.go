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

// Question is what vmbench capacity is asked of a stored sweep: the
// instances a fleet must run, the share of each host kept free and the
// spare hosts, and optionally another host size to re-project onto.
type Question struct {
	Instances int
	// HeadroomPct is the share of each host kept free, in percent as the
	// user wrote it (25 for 25%): 0 ≤ HeadroomPct < 100.
	HeadroomPct   float64
	Spares        int
	AllowEmulated bool // size platforms that ran under TCG too
	// HostCores and HostMemory (bytes, for instances) re-project the
	// memory and CPU limits onto another host; 0: the run's host.
	HostCores  int
	HostMemory float64
}

// headroom is the share of each host kept free, 0 ≤ h < 1.
func (q Question) headroom() float64 { return q.HeadroomPct / 100 }

// headroomText is the headroom as the user wrote it: "25%".
func (q Question) headroomText() string { return fmt.Sprintf("%g%%", q.HeadroomPct) }

// Answer is a stored sweep sized for a Question: of a run of one host,
// each platform's Result on that host (or on the host re-projected onto);
// of a fleet run, per host type and in the fleet's mix of types (Fleet).
// Text and Doc render it.
type Answer struct {
	Question
	RunID  string
	Levels []int
	Rounds int
	// Banners are the run's, which change how every figure reads (TCG,
	// the lab, a busy host), as the report shows them.
	Banners []string
	// Host is what Results are computed on; RunCores the run's own host's
	// CPUs, which the SLO levels were measured on.
	Host        Host
	RunCores    int
	Reprojected bool
	Results     []Result
	Fleet       *FleetPlan
	// guests are the vm platforms' guest shapes, for the overhead to
	// declare.
	guests map[string]guestShape
}

type guestShape struct {
	memory int64
	vcpus  int
}

// Ask sizes a stored sweep: s is the run's stored scenario, banners the
// run's (report.Banners). Every error it returns says why the run cannot
// be sized, and how to make one that can.
func Ask(s *scenario.Scenario, info result.RunInfo, samples []result.Sample, banners []string, q Question) (Answer, error) {
	if q.HeadroomPct < 0 || q.HeadroomPct >= 100 || q.Instances < 1 || q.Spares < 0 || q.HostCores < 0 || q.HostMemory < 0 {
		return Answer{}, fmt.Errorf("capacity: instances must be ≥ 1, the headroom from 0%% to below 100%%, spares and host cores ≥ 0")
	}
	if s.Density == nil {
		return Answer{}, fmt.Errorf("run %s is not a density sweep: run a scenario with a density: block (scenarios/capacity.yaml)", info.RunID)
	}
	a := Answer{Question: q, RunID: info.RunID, Levels: s.Density.Levels, Rounds: s.Density.Repetitions,
		Banners: append([]string{}, banners...), RunCores: info.Host.Cores, guests: map[string]guestShape{}}
	for _, p := range s.Platforms {
		if p.Type == scenario.VM {
			a.guests[p.Name] = guestShape{p.Memory(), p.VM.VCPUs}
		}
	}
	if info.Fleet != nil {
		f, err := askFleet(s, info, samples)
		a.Fleet = f
		return a, err
	}
	sweeps := Sweeps(info, samples)
	if len(sweeps) == 0 {
		return Answer{}, fmt.Errorf("run %s has no density samples (was it interrupted before its first level?)", info.RunID)
	}
	a.Host = HostOf(info, sweeps, s.Density.Guards.MemAvailable)
	a.Reprojected = q.HostCores > 0 || q.HostMemory > 0
	if q.HostCores > 0 {
		a.Host.Cores = q.HostCores
	}
	if q.HostMemory > 0 {
		a.Host.Memory = q.HostMemory
	}
	a.Results = PlanOn(s, sweeps, a.Host).Results
	return a, nil
}

// hosts is what the fleet of q.Instances needs of a platform's result, or
// why there is no figure: refused is set for a TCG platform.
func (q Question) hosts(c Result) (f Fleet, refused string) {
	switch f = c.Plan(q.Instances, q.headroom(), q.Spares); {
	case c.Platform.Accel == "tcg" && !q.AllowEmulated:
		return f, refusedTCG
	case f.Hosts < 0:
		return f, fmt.Sprintf("none fit after %s headroom", q.headroomText())
	}
	return f, ""
}

const refusedTCG = "the platform ran under TCG, and emulation sizes nothing (--allow-emulated gives the figure)"

// Ratio is one density compared with another: vm against container,
// container against native, vm against native.
type Ratio struct {
	Of, Versus Result
	// Density is Of's instances per host over Versus's; Hosts the host
	// count's ratio, Versus's per host over Of's.
	Density, Hosts float64
}

// Ratios compares the densities of the first platform of each type.
func (a Answer) Ratios() []Ratio {
	byType := map[string]Result{}
	for _, c := range a.Results {
		if _, ok := byType[c.Platform.Type]; !ok {
			byType[c.Platform.Type] = c
		}
	}
	var out []Ratio
	for _, pair := range [][2]string{{scenario.VM, scenario.Container}, {scenario.Container, scenario.Native}, {scenario.VM, scenario.Native}} {
		of, okA := byType[pair[0]]
		versus, okB := byType[pair[1]]
		if !okA || !okB || versus.PerHost == 0 {
			continue
		}
		hosts := math.Inf(1)
		if of.PerHost != 0 {
			hosts = float64(versus.PerHost) / float64(of.PerHost)
		}
		out = append(out, Ratio{of, versus, float64(of.PerHost) / float64(versus.PerHost), hosts})
	}
	return out
}

// Overhead is what a team declares to its scheduler per guest (Kubernetes
// RuntimeClass overhead.podFixed): the vm's per-instance memory and CPU
// beyond the container's, beside what Kata and KubeVirt declare.
type Overhead struct {
	VM, Container Result
	Memory, CPU   float64 // bytes, cores
	// Measured is false when either platform's costs carry warnings or
	// came out below zero: nothing is to be declared.
	Measured bool
	// KubeVirt is KubeVirt's formula for this guest: 220 MiB + guest
	// RAM/512 + 8 MiB per vCPU.
	KubeVirt    float64
	GuestMemory int64
	GuestVCPUs  int
}

// Overhead is the first vm platform's against the first container
// platform's; false when the sweep lacks either.
func (a Answer) Overhead() (Overhead, bool) {
	vm := slices.IndexFunc(a.Results, func(c Result) bool { return c.Platform.Type == scenario.VM })
	ctr := slices.IndexFunc(a.Results, func(c Result) bool { return c.Platform.Type == scenario.Container })
	if vm < 0 || ctr < 0 {
		return Overhead{}, false
	}
	o := Overhead{VM: a.Results[vm], Container: a.Results[ctr]}
	o.Memory = o.VM.MemPerInstance.PerInstance - o.Container.MemPerInstance.PerInstance
	o.CPU = o.VM.CPUPerInstance.PerInstance - o.Container.CPUPerInstance.PerInstance
	o.Measured = len(o.VM.Warnings) == 0 && len(o.Container.Warnings) == 0 && o.Memory >= 0 && o.CPU >= 0
	g := a.guests[o.VM.Platform.Name]
	o.GuestMemory, o.GuestVCPUs = g.memory, cmp.Or(g.vcpus, 1)
	o.KubeVirt = 220<<20 + float64(o.GuestMemory)/512 + 8<<20*float64(o.GuestVCPUs)
	return o, true
}

// Text is how the overhead to declare reads.
func (o Overhead) Text() string {
	if !o.Measured {
		return fmt.Sprintf("No overhead to declare per %s instance beyond %s: their per-instance costs are not measured well enough (see the warnings above; %s beyond: memory %s, CPU %s).",
			o.VM.Platform.Name, o.Container.Platform.Name, o.VM.Platform.Name, units.Format(o.Memory, "B"), units.Format(o.CPU, "cores"))
	}
	return fmt.Sprintf("Declare per %s instance (RuntimeClass overhead.podFixed), beyond %s: memory %s, CPU %s. For comparison: Kata (kata-qemu) declares 160Mi and 250m; KubeVirt's formula for this guest (%s, %d vCPU) gives %s.",
		o.VM.Platform.Name, o.Container.Platform.Name, units.Format(o.Memory, "B"), units.Format(o.CPU, "cores"),
		units.FormatSize(o.GuestMemory), o.GuestVCPUs, units.Format(o.KubeVirt, "B"))
}
