package platform

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/workload"
)

// Native runs the agent as a plain host process: the baseline.
type Native struct {
	PlatformName string
	Binary       string // the static vmbench binary
	Scratch      string // the run's scratch directory, in which each instance has its own; "": none
	// Addr is the loopback address its servers listen on and its
	// clients reach ("": 127.0.0.1): one of its own per instance, so that
	// runs and instances do not meet on one port.
	Addr string
	// Tools is the tools rootfs, which an app workload's command runs
	// chrooted into (the user's image); "": none. Native's other tool
	// workloads run the host's own programs.
	Tools string
}

// LoopbackAddr is a loopback address of a run's k-th native instance:
// 127.<two bytes of the run id's hash>.<k>.
func LoopbackAddr(runID string, k int64) string {
	h := fnv.New32a()
	h.Write([]byte(runID))
	sum := h.Sum32()
	return fmt.Sprintf("127.%d.%d.%d", sum>>8&255, sum&255, k%254+1)
}

var _ Platform = (*Native)(nil)

func (n *Native) Name() string { return n.PlatformName }

func (n *Native) Start(context.Context) (Instance, error) {
	addr := n.Addr
	if addr == "" {
		addr = "127.0.0.1"
	}
	scratch, err := InstanceScratch(n.Scratch, n.PlatformName)
	if err != nil {
		return nil, err
	}
	return &nativeInstance{binary: n.Binary, scratch: scratch, addr: addr, tools: n.Tools}, nil
}

type nativeInstance struct {
	binary  string
	scratch string
	addr    string
	tools   string
	pid     atomic.Int64 // the agent's, during a trial
}

func (i *nativeInstance) Run(ctx context.Context, req agent.Request) (Output, error) {
	cmd := exec.CommandContext(ctx, i.binary, agent.Args(req)...)
	cmd.Env = append(os.Environ(), workload.ListenEnv+"="+i.addr)
	if i.scratch != "" {
		cmd.Env = append(cmd.Env, workload.ScratchEnv+"="+i.scratch)
	}
	if i.tools != "" && req.Tool {
		cmd.Env = append(cmd.Env, workload.AppRootEnv+"="+i.tools)
	}
	// Stopped, the agent gets SIGTERM and ends what it started (a server's
	// process); then whatever is left of its process group goes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	defer func() {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	return RunAgent(cmd, req, &i.pid)
}

// Samplers follow the agent process.
func (i *nativeInstance) Samplers() []collect.Sampler {
	return []collect.Sampler{collect.Follow(&i.pid)}
}

// Addr is loopback: the client and the server share the host, each
// instance on an address of its own.
func (i *nativeInstance) Addr() string { return i.addr }

func (i *nativeInstance) Info() map[string]string { return map[string]string{"binary": i.binary} }

func (i *nativeInstance) Close(context.Context) error {
	if i.scratch == "" {
		return nil
	}
	return os.RemoveAll(i.scratch)
}
