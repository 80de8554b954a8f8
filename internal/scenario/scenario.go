// Package scenario is the first stage of the pipeline: it reads a scenario
// file (strictly: every unknown key, wrong type or impossible value is an
// error naming file:line:col and the field path), validates it, and plans
// the trials the runner executes.
package scenario

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/vmbench/vmbench/workloads"
	"github.com/vmbench/vmbench/workloads/app"

	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
)

// Version is the scenario format this vmbench reads.
const Version = 1

// Platform types.
const (
	Native    = "native"
	Container = "container"
	VM        = "vm"
	Remote    = "remote"
)

// Scenario is a loaded scenario file.
type Scenario struct {
	Version     int
	Name        string
	Description string
	Repetitions int
	Warmup      int
	Baseline    string
	Timeout     time.Duration // per trial
	// MaxDuration is the longest a run may be planned to take (Estimate)
	// before vmbench refuses it, unless told --yes.
	MaxDuration time.Duration
	// Sample is the interval of the resource samplers during each trial;
	// 0 turns them off.
	Sample time.Duration
	// Profile asks the agent for a CPU profile of each built-in trial.
	Profile bool
	// ScratchDir is the host directory in which the run keeps its scratch
	// area: the disk workload's file (native, container) and the backing
	// file of each guest's scratch disk (vm).
	ScratchDir string
	// ToolsImage is an OCI image archive (or a docker save archive), or an
	// image an engine has (docker:NAME, podman:NAME), whose root filesystem
	// container and vm platforms run tool workloads in (and app workloads
	// everywhere), instead of the one vmbench builds with mmdebstrap; "":
	// build it.
	ToolsImage string
	Platforms  []Platform
	Workloads  []Workload
	Gates      []Gate
	Verdicts
	// Density, when set, makes the run a density sweep instead of trials
	// of one instance.
	Density *Density

	file string
	pos  map[string]Pos // where each field path was written
}

// Platform is where workloads run. Which options apply depends on Type.
type Platform struct {
	Name string
	Type string
	// The options of its type (the other type's stay at their defaults).
	Container options.ContainerOptions
	VM        options.VMOptions
	Remote    options.RemoteOptions
	// Family is set on a platform a matrix made (options given as lists):
	// the name as written; Name is then Family[key=value,...], and Matrix
	// the options that vary with their values here.
	Family string
	Matrix [][2]string
	// path is where the platform is written (platforms[2]); keyPaths, for
	// a matrix's platforms, where its options' values are (…vcpus[1]).
	path     string
	keyPaths map[string]string
}

// selectPlatforms resolves a platform selector: a platform's name; a
// matrix's family (every platform it made); or family[key=value,...], the
// platforms of the family with those values. None: nil.
func (s *Scenario) selectPlatforms(sel string) []string {
	family, rest, _ := strings.Cut(sel, "[")
	want := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(rest, "]"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			want[k] = v
		}
	}
	var out []string
	for _, p := range s.Platforms {
		if p.Name == sel {
			return []string{sel}
		}
		if p.Family != family {
			continue
		}
		n := 0
		for _, kv := range p.Matrix {
			if v, ok := want[kv[0]]; ok && v == kv[1] {
				n++
			}
		}
		if n == len(want) {
			out = append(out, p.Name)
		}
	}
	return out
}

// at is the path of one of the platform's options, for located errors.
func (p Platform) at(key string) string {
	if kp, ok := p.keyPaths[key]; ok {
		return kp
	}
	return p.path + "." + key
}

// Role is the place the platform takes in the comparisons across types:
// its type, except for a remote machine, which stands as what it is — a
// VM (kind: vm), a container on bare metal, or bare metal's own process.
func (p Platform) Role() string {
	if p.Type != Remote {
		return p.Type
	}
	return RemoteRole(p.Remote.Kind, p.Remote.Container)
}

// RemoteRole is the role of a remote machine of this kind, running the
// workload in a container or not.
func RemoteRole(kind string, container bool) string {
	switch {
	case kind == options.KindVM:
		return VM
	case container:
		return Container
	}
	return Native
}

// NeedsStaticAgent reports whether the agent leaves this host's userspace:
// into a container's bare root, a guest's /init or a remote machine, where
// no dynamic loader of this host is. Native platforms run it as it is.
func (s *Scenario) NeedsStaticAgent() bool {
	return slices.ContainsFunc(s.Platforms, func(p Platform) bool { return p.Type != Native })
}

// NeedsRoot lists the platforms that need root on this host: containers
// (runtimes, engines, cgroups) and guests (taps, QEMU, libvirt). Native
// processes and remote machines (root is the far side's) do not.
func (s *Scenario) NeedsRoot() []string {
	var names []string
	for _, p := range s.Platforms {
		if p.Type == Container || p.Type == VM {
			names = append(names, p.Name)
		}
	}
	return names
}

// Memory is the platform's memory: a container's limit or a guest's size;
// 0: no limit.
func (p Platform) Memory() int64 {
	switch p.Type {
	case Container:
		return p.Container.Memory
	case VM:
		return p.VM.Memory
	}
	return 0
}

// Workload is one workload entry; a parameter with several values expands
// into one variant per combination.
type Workload struct {
	Name   string
	Type   string
	Params []Param
	// Margins override the scenario's equivalence margin for this
	// workload: under "" for all its metrics, under a metric's name for
	// that metric.
	Margins map[string]float64
	// App is the app: block of an app workload (type app); nil otherwise.
	App *app.Spec
	// Platforms, when set, are the platforms (names, or matrix families
	// for all their variants) the workload runs on, besides the baseline,
	// which it always runs on; empty: every platform.
	Platforms []string
}

// RunsOn reports whether the workload runs on platform p.
func (w Workload) RunsOn(p Platform, baseline string) bool {
	if of, twin := result.TwinOf(p.Name); twin { // runs what its platform runs
		p.Name = of
	}
	return len(w.Platforms) == 0 || p.Name == baseline || slices.Contains(w.Platforms, p.Name) || p.Family != "" && slices.Contains(w.Platforms, p.Family)
}

// SameAs reports whether p and q define the same platform, whatever their
// names: type and every option.
func (p Platform) SameAs(q Platform) bool {
	return p.Type == q.Type && reflect.DeepEqual(p.Container, q.Container) && reflect.DeepEqual(p.VM, q.VM) && reflect.DeepEqual(p.Remote, q.Remote)
}

// Param is one parameter as written: a single value or a list.
type Param struct {
	Key    string
	Values []string
}

// File is the path the scenario was read from.
func (s *Scenario) File() string { return s.file }

// Defaults applied when a field is absent.
const (
	DefaultRepetitions = 6
	DefaultWarmup      = 1
	DefaultTimeout     = 5 * time.Minute
	DefaultSample      = 100 * time.Millisecond
	MinSample          = 10 * time.Millisecond
	DefaultScratchDir  = "/var/tmp"
)

// Metrics are what a trial of the workload records: its type's metrics, or
// an app's own (its block's, or its parser's), then the cost metrics.
func (w Workload) Metrics() []workload.MetricInfo {
	if w.App != nil {
		return append(app.MetricsOf(*w.App), workload.CostMetrics...)
	}
	impl, ok := workloads.Lookup(w.Type)
	if !ok {
		return nil
	}
	return workload.AllMetrics(impl)
}
