// Package scenario is the first stage of the pipeline: it reads a scenario
// file (strictly: every unknown key, wrong type or impossible value is an
// error naming file:line:col and the field path), validates it, and plans
// the trials the runner executes.
package scenario

import (
	"time"

	"github.com/vmbench/vmbench/internal/platform"
)

// Version is the scenario format this vmbench reads.
const Version = 1

// Platform types.
const (
	Native    = "native"
	Container = "container"
	VM        = "vm"
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
	// ToolsImage is an OCI image archive (or a docker save archive) whose
	// root filesystem container and vm platforms run tool workloads in,
	// instead of the one vmbench builds with mmdebstrap; "": build it.
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
	Container platform.ContainerOptions
	VM        platform.VMOptions
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
