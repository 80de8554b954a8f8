package runner

import (
	"fmt"

	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/remote"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/virt"
)

// New is the one table of platform implementations: it builds the platform a
// scenario entry describes.
func New(p scenario.Platform, env Env) (platform.Platform, error) {
	switch p.Type {
	case scenario.Native:
		return &platform.Native{PlatformName: p.Name, Binary: env.Binary, Scratch: env.Scratch, Addr: platform.LoopbackAddr(env.RunID, env.IDs.Add(1)), Tools: env.Tools}, nil
	case scenario.Container:
		return &platform.Container{
			PlatformName: p.Name, RunID: env.RunID, ContainerOptions: p.Container,
			Binary: env.Binary, IDs: env.IDs, Scratch: env.Scratch, Bridge: env.Network, Tools: env.Tools,
		}, nil
	case scenario.VM:
		if p.VM.Manager == options.ManagerLibvirt {
			return &virt.Platform{
				PlatformName: p.Name, RunID: env.RunID, RunDir: env.RunDir, Binary: env.Binary, VMOptions: p.VM,
				Decision: env.Decision, Sample: env.Sample, Scratch: env.Scratch, Network: env.Network, Tools: env.ToolsImage,
			}, nil
		}
		return &kvm.VM{
			PlatformName: p.Name, RunID: env.RunID, RunDir: env.RunDir, Binary: env.Binary, VMOptions: p.VM,
			CacheDir: env.CacheDir, Decision: env.Decision, Sample: env.Sample, Scratch: env.Scratch,
			Network: env.Network, Tools: env.ToolsImage,
		}, nil
	case scenario.Remote:
		return &remote.Platform{PlatformName: p.Name, RunID: env.RunID, RunDir: env.RunDir, Binary: env.Binary, RemoteOptions: p.Remote, Sample: env.Sample}, nil
	}
	return nil, fmt.Errorf("platform type %q is not supported by this build", p.Type)
}
