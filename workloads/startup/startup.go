// Package startup is the built-in start-up workload: how long the platform
// takes to start a workload and see it exit. The agent does nothing for it;
// whoever starts the agent times it, from the start of the command to its
// exit: the agent process on the host (native), `runc run` on the host
// (container) and in the guest (vm), which also boots a fresh guest for
// every trial and times QEMU's launch to the agent's hello (see
// workload.Starter).
package startup

import (
	"context"

	"github.com/vmbench/vmbench/internal/workload"
)

// Workload is the startup workload.
type Workload struct{}

var (
	_ workload.Workload = Workload{}
	_ workload.Starter  = Workload{}
)

func (Workload) Name() string { return "startup" }

func (Workload) Describe() string {
	return "start-up time: a container (or process) started and exited, timed by whoever starts it; on vm also a fresh guest booted to its agent"
}

func (Workload) Params() []workload.Param { return nil }

func (Workload) Metrics() []workload.MetricInfo {
	return []workload.MetricInfo{
		{Name: workload.StartToExit, Unit: "s", Help: "from starting the agent (host process; runc run on the host or in the guest) to its exit", Resource: workload.ResStartup},
		{Name: workload.BootToAgent, Unit: "s", Help: "vm only: from QEMU's launch to the fresh guest's agent saying hello"},
	}
}

func (Workload) Validate(workload.Params) error { return nil }

// TimedByStarter: the platform times the trial.
func (Workload) TimedByStarter() {}

// Run does nothing: the time it takes to get here and back is the measure.
func (Workload) Run(context.Context, workload.Params) (workload.Result, error) {
	return workload.Result{}, nil
}
