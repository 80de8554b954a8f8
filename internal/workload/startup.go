package workload

import (
	"time"

	"github.com/vmbench/vmbench/internal/result"
)

// Start-up and boot are measured by whoever starts the agent, not by the
// agent: the platform times a start-up trial, and the vm platform times its
// guests' boots. Their metric names live here, the one place the platforms,
// the scenario's gates, the gate evaluator and the report meet them.

// Starter is implemented by workloads whose trial is the start itself: the
// platform times it from starting the agent to its exit (StartMetrics), and
// a vm boots a fresh guest for it and times the boot (BootToAgent). The
// runner says so in the request (agent.Request.Fresh).
type Starter interface {
	TimedByStarter()
}

// The metrics of a Starter's trial.
const (
	StartToExit = "start_to_exit" // from starting the agent to its exit
	BootToAgent = "boot_to_agent" // vm: QEMU's launch of a fresh guest to its agent's hello
)

// StartMetrics are the metrics of a Starter's trial that took wall from
// start to exit.
func StartMetrics(wall time.Duration) []result.Metric {
	return []result.Metric{{Name: StartToExit, Unit: "s", Value: wall.Seconds()}}
}

// Boot is the pseudo-workload under which the runner records each guest
// start of a vm platform: one sample of BootMetrics per guest.
const Boot = result.Boot

// BootMetrics are the metrics of Boot: the whole, then its phases in order.
var BootMetrics = []MetricInfo{
	{Name: "launch_to_ready", Unit: "s", Help: "QEMU launch to the guest agent's hello"},
	{Name: "qemu_and_firmware", Unit: "s", Help: "QEMU launch to the kernel's start"},
	{Name: "kernel", Unit: "s", Help: "kernel start to /init"},
	{Name: "agent", Unit: "s", Help: "/init to the agent ready"},
}

// BootPhases are the BootMetrics of a guest whose agent said hello total
// seconds after QEMU's launch, with its init started at initAt and the agent
// ready at readyAt seconds of guest uptime.
func BootPhases(total, initAt, readyAt float64) []result.Metric {
	values := []float64{total, max(total-readyAt, 0), initAt, readyAt - initAt}
	out := make([]result.Metric, len(BootMetrics))
	for i, m := range BootMetrics {
		out[i] = result.Metric{Name: m.Name, Unit: m.Unit, Value: values[i]}
	}
	return out
}
