package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/capacity"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/units"
)

type capacityOptions struct {
	instances     int
	headroom      string
	spares        int
	allowEmulated bool
	hostCores     int
	hostMemory    string
	asJSON        bool
}

func newCapacityCmd() *cobra.Command {
	var o capacityOptions
	cmd := &cobra.Command{
		Use:   "capacity RUN_DIR",
		Short: "Instances per host at the SLO, and hosts for a fleet, from a stored density sweep",
		Long: `Read a density sweep (a run of a scenario with a density: block) and print,
for each platform: the instances that fit on this host at the scenario's
SLO (judged on the interval bound that matters), the limit that binds (the
SLO, memory, CPU or a guard), the memory and CPU each instance costs (the
slope over the levels; the intercept is the shared base), QEMU's memory
beyond its guest, and the hosts a fleet of --instances needs with
--headroom kept free and --spares added: ⌈N / ⌊k·(1−headroom)⌋⌉ + spares.
Every figure carries a 95% bootstrap interval over the sweep's rounds.

Emulated (TCG) guests size nothing: their hosts-needed lines are refused
unless --allow-emulated. --host-cores and --host-memory re-project the
memory and CPU limits onto another host size (the SLO levels stay this
host's measurements, and the output says so). --json prints the same as one
JSON document (schema vmbench.capacity/v1), for a spreadsheet or a
planner; a figure that was not measured is null. Of a fleet run (vmbench
merge), each host is sized from its own sweep, a host type by its weakest
host, and the hosts --instances needs are given per type and in the
fleet's own mix of types.`,
		Example: `  vmbench run scenarios/capacity.yaml
  vmbench capacity results/latest --instances 500 --headroom 25% --spares 1
  vmbench capacity results/latest --instances 500 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCapacity(cmd.OutOrStdout(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.instances, "instances", 100, "instances the fleet must run")
	f.StringVar(&o.headroom, "headroom", "25%", "share of each host kept free")
	f.IntVar(&o.spares, "spares", 1, "spare hosts added to the fleet")
	f.BoolVar(&o.allowEmulated, "allow-emulated", false, "print hosts-needed for platforms that ran under TCG (emulation) too")
	f.IntVar(&o.hostCores, "host-cores", 0, "re-project onto a host with this many logical CPUs (default: the run's host)")
	f.BoolVar(&o.asJSON, "json", false, "print JSON (schema vmbench.capacity/v1) instead of text")
	f.StringVar(&o.hostMemory, "host-memory", "", "re-project onto a host with this much memory for instances, such as 256GiB (default: the run's MemAvailable minus the guard)")
	return cmd
}

func runCapacity(w io.Writer, dir string, o capacityOptions) error {
	headroom, err := strconv.ParseFloat(strings.TrimSuffix(o.headroom, "%"), 64)
	if err != nil || !strings.HasSuffix(o.headroom, "%") || headroom < 0 || headroom >= 100 {
		return usageError(fmt.Errorf("--headroom must be a percentage from 0%% to below 100%%, such as 25%%, got %q", o.headroom))
	}
	if o.instances < 1 || o.spares < 0 || o.hostCores < 0 {
		return usageError(fmt.Errorf("--instances must be ≥ 1, --spares and --host-cores ≥ 0"))
	}
	r, err := loadRun(dir)
	if err != nil {
		return err
	}
	s, err := storedScenario(r.info)
	if err != nil {
		return err
	}
	if s.Density == nil {
		return usageError(fmt.Errorf("run %s is not a density sweep: run a scenario with a density: block (scenarios/capacity.yaml)", r.info.RunID))
	}
	if r.info.Fleet != nil {
		return fleetCapacity(w, r, s, o, headroom)
	}
	sweeps := capacity.Sweeps(r.info, r.samples)
	if len(sweeps) == 0 {
		return usageError(fmt.Errorf("run %s has no density samples (was it interrupted before its first level?)", r.info.RunID))
	}
	host := capacity.HostOf(r.info, sweeps, s.Density.Guards.MemAvailable)
	reprojected := o.hostCores > 0 || o.hostMemory != ""
	if o.hostCores > 0 {
		host.Cores = o.hostCores
	}
	if o.hostMemory != "" {
		m, err := units.ParseSize(o.hostMemory)
		if err != nil {
			return usageError(fmt.Errorf("--host-memory: %v", err))
		}
		host.Memory = float64(m)
	}
	results := capacity.PlanOn(s, sweeps, host).Results
	if o.asJSON {
		return writeJSON(w, capacityJSON(r, s, host, reprojected, results, o, headroom))
	}
	fmt.Fprintf(w, "vmbench capacity of run %s — levels %v, %d round(s) each, on %d CPUs and %s for instances\n",
		r.info.RunID, s.Density.Levels, s.Density.Repetitions, host.Cores, units.Format(host.Memory, "B"))
	for _, b := range r.table.Banners {
		fmt.Fprintf(w, "!! %s\n", b)
	}
	if reprojected {
		fmt.Fprintf(w, "!! re-projected onto %d CPUs and %s: the memory and CPU limits come from the per-instance models; the SLO levels are this host's (%d CPUs)\n",
			host.Cores, units.Format(host.Memory, "B"), r.info.Host.Cores)
	}
	tw := tablewriter.NewWriter(w)
	tw.SetHeader(append(slices.Clone(capacity.Header), fmt.Sprintf("hosts for %d", o.instances)))
	tw.SetAutoFormatHeaders(false)
	tw.SetAutoWrapText(false)
	tw.SetAlignment(tablewriter.ALIGN_LEFT)
	emulated := false
	for _, c := range results {
		hosts, refused := hostsText(c, o, headroom)
		emulated = emulated || refused
		tw.Append(append(c.Row(), hosts))
	}
	tw.Render()
	for _, c := range results {
		for _, msg := range c.Warnings {
			fmt.Fprintf(w, "!! %s\n", msg)
		}
	}
	fmt.Fprintf(w, "%s Hosts: ⌈%d / ⌊k·(1−%s)⌋⌉ + %d spare(s).\n", capacity.Legend, o.instances, o.headroom, o.spares)
	if emulated {
		fmt.Fprintln(w, "Hosts-needed refused for platforms that ran under TCG: emulation sizes nothing. --allow-emulated prints them anyway.")
	}
	for _, c := range results {
		fmt.Fprintln(w, c.SLOText())
	}
	printRatios(w, results)
	printOverhead(w, results, s)
	return nil
}

// hostsText is the hosts --instances needs of a platform's result, or why
// there is no number: refused is set for a TCG platform.
func hostsText(c capacity.Result, o capacityOptions, headroom float64) (text string, refused bool) {
	switch f := c.Plan(o.instances, headroom/100, o.spares); {
	case c.Platform.Accel == "tcg" && !o.allowEmulated:
		return "refused: TCG", true
	case f.Hosts < 0:
		return fmt.Sprintf("none fit after %s headroom", o.headroom), false
	default:
		return fmt.Sprintf("%d [%d, %d]", f.Hosts, f.Lo, f.Hi), false
	}
}

// printRatios compares densities: vm against container, container against
// native.
func printRatios(w io.Writer, results []capacity.Result) {
	byType := map[string]capacity.Result{}
	for _, c := range results {
		if _, ok := byType[c.Platform.Type]; !ok {
			byType[c.Platform.Type] = c
		}
	}
	for _, pair := range [][2]string{{scenario.VM, scenario.Container}, {scenario.Container, scenario.Native}, {scenario.VM, scenario.Native}} {
		a, okA := byType[pair[0]]
		b, okB := byType[pair[1]]
		if !okA || !okB || b.PerHost == 0 {
			continue
		}
		fmt.Fprintf(w, "Density %s / %s: %d / %d = %.2f (host count ratio %.2f)\n", a.Platform.Name, b.Platform.Name, a.PerHost, b.PerHost,
			float64(a.PerHost)/float64(b.PerHost), ratio(b.PerHost, a.PerHost))
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.Inf(1)
	}
	return float64(a) / float64(b)
}

// printOverhead is what a team should declare to its scheduler per guest
// (Kubernetes RuntimeClass overhead.podFixed): the vm's per-instance
// memory and CPU beyond the container's, beside what Kata and KubeVirt
// declare.
func printOverhead(w io.Writer, results []capacity.Result, s *scenario.Scenario) {
	var vm, ctr *capacity.Result
	for i := range results {
		switch results[i].Platform.Type {
		case scenario.VM:
			if vm == nil {
				vm = &results[i]
			}
		case scenario.Container:
			if ctr == nil {
				ctr = &results[i]
			}
		}
	}
	if vm == nil || ctr == nil {
		return
	}
	mem := vm.MemPerInstance.PerInstance - ctr.MemPerInstance.PerInstance
	cpu := vm.CPUPerInstance.PerInstance - ctr.CPUPerInstance.PerInstance
	if len(vm.Warnings) > 0 || len(ctr.Warnings) > 0 || !(mem >= 0) || !(cpu >= 0) {
		fmt.Fprintf(w, "No overhead to declare per %s instance beyond %s: their per-instance costs are not measured well enough (see the warnings above; %s beyond: memory %s, CPU %s).\n",
			vm.Platform.Name, ctr.Platform.Name, vm.Platform.Name, units.Format(mem, "B"), units.Format(cpu, "cores"))
		return
	}
	var guestMem int64
	vcpus := 1
	for _, p := range s.Platforms {
		if p.Name == vm.Platform.Name {
			guestMem, vcpus = p.Memory(), p.VM.VCPUs
		}
	}
	kubevirt := 220<<20 + float64(guestMem)/512 + 8<<20*float64(vcpus)
	fmt.Fprintf(w, "Declare per %s instance (RuntimeClass overhead.podFixed), beyond %s: memory %s, CPU %s", vm.Platform.Name, ctr.Platform.Name, units.Format(mem, "B"), units.Format(cpu, "cores"))
	fmt.Fprintf(w, ". For comparison: Kata (kata-qemu) declares 160Mi and 250m; KubeVirt's formula for this guest (%s, %d vCPU) gives %s.\n",
		units.FormatSize(guestMem), vcpus, units.Format(kubevirt, "B"))
}

// CapacitySchema names the layout of vmbench capacity --json.
const CapacitySchema = "vmbench.capacity/v1"

// capacityPlatform is a platform's capacity and the hosts --instances
// needs.
type capacityPlatform struct {
	capacity.ResultDoc
	// Hosts is what --instances needs; nil with HostsRefused (TCG) or when
	// none fit after the headroom.
	Hosts        *capacity.Estimate `json:"hosts"`
	HostsRefused string             `json:"hosts_refused,omitempty"`
}

// capacityPlatformOf is a platform's capacity with the hosts --instances
// needs, or why they are not given.
func capacityPlatformOf(c capacity.Result, o capacityOptions, headroom float64) capacityPlatform {
	p := capacityPlatform{ResultDoc: c.Doc()}
	switch f := c.Plan(o.instances, headroom/100, o.spares); {
	case c.Platform.Accel == "tcg" && !o.allowEmulated:
		p.HostsRefused = "the platform ran under TCG, and emulation sizes nothing (--allow-emulated gives the figure)"
	case f.Hosts < 0:
		p.HostsRefused = fmt.Sprintf("none fit after %s headroom", o.headroom)
	default:
		p.Hosts = &capacity.Estimate{Value: units.Finite(float64(f.Hosts)), Lo: units.Finite(float64(f.Lo)), Hi: units.Finite(float64(f.Hi))}
	}
	return p
}

// capacityHead is what every vmbench capacity --json document begins
// with: the run, the sweep and the question asked.
type capacityHead struct {
	Schema    string   `json:"schema"`
	RunID     string   `json:"run_id"`
	Levels    []int    `json:"levels"`
	Rounds    int      `json:"rounds"`
	Instances int      `json:"instances"`
	Headroom  float64  `json:"headroom"`
	Spares    int      `json:"spares"`
	Banners   []string `json:"banners"`
}

func headOf(r *loadedRun, s *scenario.Scenario, o capacityOptions, headroom float64) capacityHead {
	return capacityHead{Schema: CapacitySchema, RunID: r.info.RunID, Levels: s.Density.Levels, Rounds: s.Density.Repetitions,
		Instances: o.instances, Headroom: headroom / 100, Spares: o.spares, Banners: append([]string{}, r.table.Banners...)}
}

func capacityJSON(r *loadedRun, s *scenario.Scenario, host capacity.Host, reprojected bool, results []capacity.Result, o capacityOptions, headroom float64) any {
	doc := struct {
		capacityHead
		HostCores   int                `json:"host_cores"`
		HostMemory  float64            `json:"host_memory_bytes"` // for instances
		Reprojected bool               `json:"reprojected"`
		Platforms   []capacityPlatform `json:"platforms"`
	}{capacityHead: headOf(r, s, o, headroom), HostCores: host.Cores, HostMemory: host.Memory, Reprojected: reprojected, Platforms: []capacityPlatform{}}
	for _, c := range results {
		doc.Platforms = append(doc.Platforms, capacityPlatformOf(c, o, headroom))
	}
	return doc
}
