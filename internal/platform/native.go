package platform

import (
	"context"
	"os"
	"os/exec"
	"sync/atomic"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/workload"
)

// Native runs the agent as a plain host process: the baseline.
type Native struct {
	PlatformName string
	Binary       string // the static vmbench binary
	Scratch      string // the run's scratch directory; "": none
}

var _ Platform = (*Native)(nil)

func (n *Native) Name() string { return n.PlatformName }

func (n *Native) Start(context.Context) (Instance, error) {
	return &nativeInstance{binary: n.Binary, scratch: n.Scratch}, nil
}

type nativeInstance struct {
	binary  string
	scratch string
	pid     atomic.Int64 // the agent's, during a trial
}

func (i *nativeInstance) Run(ctx context.Context, req agent.Request) (workload.Result, error) {
	cmd := exec.CommandContext(ctx, i.binary, agent.Args(req)...)
	if i.scratch != "" {
		cmd.Env = append(os.Environ(), workload.ScratchEnv+"="+i.scratch)
	}
	return RunAgent(cmd, req, &i.pid)
}

// Samplers follow the agent process.
func (i *nativeInstance) Samplers() []collect.Sampler {
	return []collect.Sampler{collect.Follow(&i.pid)}
}

// Addr is loopback: the client and the server share the host.
func (i *nativeInstance) Addr() string { return "127.0.0.1" }

func (i *nativeInstance) Info() map[string]string { return map[string]string{"binary": i.binary} }

func (i *nativeInstance) Close(context.Context) error { return nil }
