// Package result defines what a run writes down: the run's description
// (run.json) and one Sample per trial (samples.jsonl). Every later stage,
// report and gate, reads these files back; nothing else is shared between
// `vmbench run` and `vmbench report`.
//
// One word, one meaning, throughout vmbench:
//
//   - scenario: a YAML file of platforms, workloads, repetitions and gates.
//   - platform: where a workload runs (native, container, vm).
//   - workload variant: a workload with one value of each parameter.
//   - trial: one run of one variant on one platform; it makes a Sample.
//   - round: one trial of a variant on every platform, back to back; the
//     unit of pairing. A retry round is one that vmbench gate --retry adds.
//   - cell: a variant × metric × platform (Cell names the variant on its
//     platform; a metric makes it a cell of numbers).
//   - run: one execution of a scenario, a directory under results/.
//   - verdict: what a comparison of two platforms says (negligible,
//     overhead, better, inconclusive).
//   - confidence: the level of an interval (95%); never called a level.
//   - density level: n instances at once; a density sweep measures levels
//     1, 2, 4 … (the only sweep: removing a killed run's resources is
//     cleanup, RemoveLeftovers).
//   - look: one judgement of the data during adaptive repetitions.
//   - fleet run: runs of one scenario on several hosts, merged.
package result

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/hist"
)

// SchemaVersion is written into every record. Readers refuse newer schemas.
const SchemaVersion = 1

// Metric is one measured value in a base unit (s, B, B/s, ops/s, ratio).
type Metric struct {
	Name  string  `json:"name"`
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
	// Better is "higher" or "lower" where the metric says which way is
	// better (an app's metric in a unit such as fps or errors/s); "": its
	// unit says (HigherIsBetter).
	Better string `json:"better,omitempty"`
}

// HigherIsBetter reports whether larger values of unit mean better
// performance: rates are better high, times and sizes are better low.
func HigherIsBetter(unit string) bool { return strings.HasSuffix(unit, "/s") }

// Higher is whether larger values of a metric in unit are better, better
// ("higher", "lower" or "": the unit's way) saying so where it can.
func Higher(unit, better string) bool {
	switch better {
	case "higher":
		return true
	case "lower":
		return false
	}
	return HigherIsBetter(unit)
}

// UnitSaysBetter reports whether unit alone says which way is better: a
// rate (…/s), a time (s, ms, µs, ns) or a size in bytes. Other units (fps,
// %, a count) need to be told.
func UnitSaysBetter(unit string) bool {
	switch unit {
	case "s", "ms", "µs", "us", "ns", "B", "KB", "MB", "GB", "KiB", "MiB", "GiB":
		return true
	}
	return strings.HasSuffix(unit, "/s")
}

// Sample is what one trial produced.
type Sample struct {
	Schema   int               `json:"schema"`
	RunID    string            `json:"run_id"`
	Workload string            `json:"workload"` // the scenario's workload name
	Type     string            `json:"type"`     // the workload type (cpu, memory, ...)
	Params   map[string]string `json:"params"`
	Label    string            `json:"label,omitempty"` // the variant: the params the scenario set, "threads=2"
	Platform string            `json:"platform"`
	Trial    int               `json:"trial"` // repetition index; warmups count from 0 too
	Warmup   bool              `json:"warmup"`
	Round    int               `json:"round,omitempty"` // 0: the run itself; n: the nth retry round of vmbench gate --retry
	// Level is the density level of a sweep's sample: this many instances
	// of the platform ran at once (0: not a sweep). Instance is which one
	// (from 1); 0 marks the level's own sample, whose metrics are the
	// host's (DensityMetrics).
	Level    int `json:"level,omitempty"`
	Instance int `json:"instance,omitempty"`
	// Stop is set on a level's sample when a guard stopped the platform's
	// sweep there: a result, not an error.
	Stop     string    `json:"stop,omitempty"`
	Start    time.Time `json:"start"`
	Duration float64   `json:"duration_s"` // wall time of the whole trial, host side
	// CPUPressure is the share of the trial's wall time during which some
	// task on the host waited for a CPU (the kernel's PSI): near 0 on a
	// host that had CPUs to spare, near 1 on one that other load kept busy.
	// nil where the kernel has no PSI.
	CPUPressure *float64 `json:"cpu_pressure,omitempty"`
	Metrics     []Metric `json:"metrics,omitempty"`
	// Conditions are facts about where the trial ran that change how its
	// numbers read, such as accel=tcg.
	Conditions map[string]string `json:"conditions,omitempty"`
	Warnings   []string          `json:"warnings,omitempty"`
	Error      string            `json:"error,omitempty"`
	// Histograms hold every latency the trial recorded, by name.
	Histograms map[string]*hist.Hist `json:"histograms,omitempty"`
	// Profile is the trial's CPU profile (pprof format), relative to the
	// run directory: profiles/<platform>/<workload>-….pb.gz.
	Profile string `json:"profile,omitempty"`
	// Host is the fleet host the sample was measured on, in a merged fleet
	// run (vmbench merge); "" in a run of one host.
	Host string `json:"host,omitempty"`
}

// Cell is a workload variant on a platform: the unit the report compares,
// gates judge and retries run again.
type Cell struct {
	Workload, Label, Platform string
}

func (c Cell) String() string {
	s := c.Workload
	if c.Label != "" {
		s += " " + c.Label
	}
	return s + " on " + c.Platform
}

// Cell is the sample's cell.
func (s Sample) Cell() Cell { return Cell{s.Workload, s.Label, s.Platform} }

// TraceOf is the start of the trace of what the samplers read during the
// trial of s: its identity, the sample's.
func TraceOf(s Sample) Trace {
	return Trace{RunID: s.RunID, Workload: s.Workload, Label: s.Label, Platform: s.Platform,
		Trial: s.Trial, Warmup: s.Warmup, Round: s.Round, Start: s.Start}
}

// RoundKey names the round a measured trial belongs to: trials of one
// workload variant with the same key ran back to back, one per platform,
// under the same host conditions, and so can be paired.
func (s Sample) RoundKey() int64 {
	k := int64(s.Round)<<32 | int64(s.Trial)
	if s.Host != "" {
		// A fleet's rounds pair within a host, never across hosts.
		h := fnv.New32a()
		h.Write([]byte(s.Host))
		k ^= int64(h.Sum32()&0x7fff) << 48
	}
	return k
}

// Trace is one line of series.jsonl: what the samplers read during one
// trial, identified as its sample is (TraceOf).
type Trace struct {
	Schema   int       `json:"schema"`
	RunID    string    `json:"run_id"`
	Workload string    `json:"workload"`
	Label    string    `json:"label,omitempty"`
	Platform string    `json:"platform"`
	Trial    int       `json:"trial"`
	Warmup   bool      `json:"warmup"`
	Round    int       `json:"round,omitempty"`
	Start    time.Time `json:"start"`
	// Client: the workload's client ran on the host, from vmbench, during
	// the trial (net, iperf3, redis), so SelfCPU counts it.
	Client bool `json:"client,omitempty"`
	collect.Result
}

// RunInfo is run.json: everything needed to interpret the samples later.
type RunInfo struct {
	Schema   int          `json:"schema"`
	RunID    string       `json:"run_id"`
	Scenario ScenarioCopy `json:"scenario"`
	Version  string       `json:"vmbench_version"`
	Revision string       `json:"vmbench_revision,omitempty"`
	// Labels are what vmbench run --label key=value said of the run: a
	// commit, a branch, a ticket.
	Labels      map[string]string `json:"labels,omitempty"`
	Start       time.Time         `json:"start"`
	End         time.Time         `json:"end,omitempty"`
	Interrupted bool              `json:"interrupted,omitempty"`
	// Planned is how many measured trials (warmups aside) the run set out
	// to run on the platforms that started, with those adaptive looks and
	// gate retries added: samples.jsonl should hold as many. 0 in runs made
	// before it was recorded, and in density sweeps.
	Planned   int               `json:"planned_trials,omitempty"`
	Host      Host              `json:"host"`
	Tools     map[string]string `json:"tools,omitempty"`
	Platforms []PlatformInfo    `json:"platforms"`
	Baseline  string            `json:"baseline"`
	Retries   []Retry           `json:"retries,omitempty"`
	// Analysis is how the run's comparisons are judged; nil in runs made
	// before verdicts existed, which are judged by the defaults.
	Analysis *Analysis `json:"analysis,omitempty"`
	// Adaptive records the rounds an adaptive run added.
	Adaptive []Look `json:"adaptive,omitempty"`
	// Resumes records each vmbench run --resume of a killed run.
	Resumes []Resume `json:"resumes,omitempty"`
	// Lab is set when the run was made in the nested lab (vmbench lab run).
	Lab *Lab `json:"lab,omitempty"`
	// Fleet is set on a fleet run, the runs of several hosts merged
	// (vmbench merge): its samples carry their host.
	Fleet *Fleet `json:"fleet,omitempty"`
}

// Fleet describes the hosts of a merged fleet run.
type Fleet struct {
	Hosts []FleetHost `json:"hosts"`
	// Warnings say where the hosts differ (CPU model, kernel, QEMU,
	// accelerator), which the fleet's numbers mix.
	Warnings []string `json:"warnings,omitempty"`
}

// FleetHost is one host of a fleet: its run, or why it has none.
type FleetHost struct {
	Name   string `json:"name"`
	RunID  string `json:"run_id,omitempty"`
	Status string `json:"status"` // ok, or failed (its samples are not in the fleet run)
	Error  string `json:"error,omitempty"`
	// Doctor is vmbench doctor's verdict on the host: its last line.
	Doctor string `json:"doctor,omitempty"`
	Host   Host   `json:"host"`
	// Accel is each vm platform's accelerator on the host.
	Accel map[string]string `json:"accel,omitempty"`
	QEMU  string            `json:"qemu,omitempty"`
}

// Lab says how a run made in the nested lab was made: a first-level guest
// (L1) under TCG with emulated SVM ran vmbench, whose vm platforms were
// second-level guests (L2) under KVM inside it.
type Lab struct {
	Kind     string   `json:"kind"`  // "nested"
	Image    string   `json:"image"` // L1's root image, named by its content hash
	Suite    string   `json:"suite"` // the Debian release of L1's root
	Packages []string `json:"packages"`
	Kernel   string   `json:"kernel"`  // L1's (and L2's) kernel
	QEMU     string   `json:"qemu"`    // L1's QEMU command line on the host
	BuildS   float64  `json:"build_s"` // building the image; 0: it was in the cache
	WallS    float64  `json:"wall_s"`  // L1's launch to its power-off, on the host
	Console  string   `json:"console"` // L1's console log, in the run directory
	L1       LabL1    `json:"l1"`
}

// LabL1 is what L1's init says of itself and of the run it made; it writes
// it on the work disk for the host.
type LabL1 struct {
	Kernel   string   `json:"kernel"`
	CPUs     int      `json:"cpus"`
	MemoryB  uint64   `json:"memory_bytes"`
	Cgroup   string   `json:"cgroup"`         // v2: a pure cgroup2 hierarchy
	KVM      string   `json:"kvm"`            // the module that gave /dev/kvm, or why none did
	ExitCode int      `json:"exit_code"`      // of vmbench run in L1
	Clean    bool     `json:"clean"`          // vmbench cleanup --dry-run in L1 found nothing after the run
	Left     string   `json:"left,omitempty"` // what it found otherwise
	Notes    []string `json:"notes,omitempty"`
	UptimeS  float64  `json:"uptime_s"` // at power-off
}

// Resume is one continuation of a killed or interrupted run.
type Resume struct {
	At     time.Time `json:"at"`
	Trials int       `json:"trials"` // the trials it had left to run
}

// Analysis is how a run's comparisons become verdicts, fixed when the run
// starts (the scenario's negligible:, compare: and adaptive keys).
type Analysis struct {
	Negligible float64 `json:"negligible"` // equivalence margin, a fraction
	// Margins override it: "workload" for all of a workload's metrics,
	// "workload.metric" for one.
	Margins map[string]float64 `json:"margins,omitempty"`
	Compare [][2]string        `json:"compare,omitempty"` // {platform, reference}
	// Looks is the schedule of repetition counts at which an adaptive run
	// judges its cells; its length sets every interval's level.
	Looks     []int   `json:"looks,omitempty"`
	Precision float64 `json:"precision,omitempty"`
}

// Margin is the equivalence margin of a workload's metric.
func (a Analysis) Margin(workload, metric string) float64 {
	if m, ok := a.Margins[workload+"."+metric]; ok {
		return m
	}
	if m, ok := a.Margins[workload]; ok {
		return m
	}
	return a.Negligible
}

// Look is one look of an adaptive run: the cells still undecided after
// Reps rounds, which the next rounds were added to.
type Look struct {
	Reps      int      `json:"reps"`
	Undecided []string `json:"undecided"`
	Trials    int      `json:"trials"` // the trials added after this look
	Stopped   string   `json:"stopped,omitempty"`
}

// Retry is a round of extra trials that vmbench gate --retry appended to
// the run to decide inconclusive gates.
type Retry struct {
	Round  int       `json:"round"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Cells  []string  `json:"cells"` // "memory op=copy on container"
	Trials int       `json:"trials"`
	Error  string    `json:"error,omitempty"`
	// Looks is how many looks at the data the vmbench gate call that made
	// this retry counted, its retries to come included: its verdicts'
	// level split the error rate over them, and so does the report's.
	Looks int `json:"looks,omitempty"`
}

// Looks is how many times the run's data has been judged, which splits
// the error rate of every interval (stats.Level): its adaptive looks (or
// the one look of a fixed run), one per gate retry round, or what a gate
// call recorded it counted, whichever is more.
func (info RunInfo) Looks() int {
	n := 1
	if info.Analysis != nil {
		n = max(n, len(info.Analysis.Looks))
	}
	n += len(info.Retries)
	for _, r := range info.Retries {
		n = max(n, r.Looks)
	}
	return n
}

// ScenarioCopy keeps the scenario exactly as it was run.
type ScenarioCopy struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Text   string `json:"text"`
}

// Host is the host fingerprint: what a reader needs to judge whether two
// runs are comparable.
type Host struct {
	Hostname   string `json:"hostname"`
	CPUModel   string `json:"cpu_model"`
	Cores      int    `json:"cores"` // logical CPUs
	MemoryB    uint64 `json:"memory_bytes"`
	Kernel     string `json:"kernel"`
	OS         string `json:"os"`
	Governor   string `json:"cpu_governor,omitempty"`
	Turbo      string `json:"turbo,omitempty"`
	SMT        string `json:"smt,omitempty"`
	THP        string `json:"transparent_hugepages,omitempty"`
	CgroupMode string `json:"cgroup_mode,omitempty"`
	KVM        string `json:"kvm,omitempty"`
}

// PlatformInfo describes one platform instance as it was started.
type PlatformInfo struct {
	Name  string            `json:"name"`
	Type  string            `json:"type"`
	Info  map[string]string `json:"info,omitempty"`
	Error string            `json:"error,omitempty"` // set when the platform could not start
}

// HostDifferences lists what differs between two hosts' fingerprints.
func HostDifferences(a, b Host) []string {
	var out []string
	diff := func(what, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("the hosts differ in %s: %q and %q", what, x, y))
		}
	}
	diff("CPU model", a.CPUModel, b.CPUModel)
	diff("logical CPUs", fmt.Sprint(a.Cores), fmt.Sprint(b.Cores))
	diff("kernel", a.Kernel, b.Kernel)
	diff("CPU governor", a.Governor, b.Governor)
	diff("turbo", a.Turbo, b.Turbo)
	diff("SMT", a.SMT, b.SMT)
	diff("transparent hugepages", a.THP, b.THP)
	return out
}
