package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/capacity"
	"github.com/vmbench/vmbench/internal/report"
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
	q := capacity.Question{Instances: o.instances, HeadroomPct: headroom, Spares: o.spares, AllowEmulated: o.allowEmulated, HostCores: o.hostCores}
	if o.hostMemory != "" {
		m, err := units.ParseSize(o.hostMemory)
		if err != nil {
			return usageError(fmt.Errorf("--host-memory: %v", err))
		}
		q.HostMemory = float64(m)
	}
	r, err := openRun(dir)
	if err != nil {
		return err
	}
	s, err := storedScenario(r.Info)
	if err != nil {
		return err
	}
	a, err := capacity.Ask(s, r.Info, r.Samples, report.Banners(r.Info, r.Samples), q)
	if err != nil {
		return usageError(err)
	}
	if o.asJSON {
		return writeJSON(w, a.Doc())
	}
	a.Text(w)
	return nil
}
