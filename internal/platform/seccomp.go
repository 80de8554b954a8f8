package platform

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmbench/vmbench/internal/options"
)

// Seccomp profiles, as container platforms apply them (the seccomp option):
// "default" is the profile Docker and Podman apply to every container
// unless told otherwise, in the moby format the containers-common package
// ships; "unconfined" is none; anything else is the path of a profile in
// that format.

// mobyProfile is the profile format of Docker, Podman and containers-common.
type mobyProfile struct {
	DefaultAction   specs.LinuxSeccompAction `json:"defaultAction"`
	DefaultErrnoRet *uint                    `json:"defaultErrnoRet"`
	ArchMap         []struct {
		Arch      specs.Arch   `json:"architecture"`
		SubArches []specs.Arch `json:"subArchitectures"`
	} `json:"archMap"`
	Syscalls []struct {
		Names    []string                 `json:"names"`
		Action   specs.LinuxSeccompAction `json:"action"`
		Args     []specs.LinuxSeccompArg  `json:"args"`
		ErrnoRet *uint                    `json:"errnoRet"`
		Includes mobyFilter               `json:"includes"`
		Excludes mobyFilter               `json:"excludes"`
	} `json:"syscalls"`
}

type mobyFilter struct {
	Caps   []string `json:"caps"`
	Arches []string `json:"arches"`
}

// LoadSeccomp reads a profile in the moby format and turns it into the OCI
// runtime spec's, as the engines do for an amd64 container with caps: a
// rule is kept when the container has every capability and the
// architecture it includes, and none it excludes.
func LoadSeccomp(path string, caps []string) (*specs.LinuxSeccomp, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if path == options.DefaultSeccompProfile {
			return nil, fmt.Errorf("seccomp: default needs %s: apt-get install -y golang-github-containers-common, or set seccomp: unconfined", path)
		}
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	var p mobyProfile
	if err := json.Unmarshal(b, &p); err != nil || p.DefaultAction == "" {
		return nil, fmt.Errorf("seccomp profile %s: not a profile in Docker's format (defaultAction, syscalls): %v", path, err)
	}
	out := &specs.LinuxSeccomp{DefaultAction: p.DefaultAction, DefaultErrnoRet: p.DefaultErrnoRet}
	for _, a := range p.ArchMap {
		if a.Arch == specs.ArchX86_64 {
			out.Architectures = append([]specs.Arch{a.Arch}, a.SubArches...)
		}
	}
	const arch = "amd64"
	for _, s := range p.Syscalls {
		inc, exc := s.Includes, s.Excludes
		if len(inc.Arches) > 0 && !slices.Contains(inc.Arches, arch) || slices.Contains(exc.Arches, arch) {
			continue
		}
		if slices.ContainsFunc(inc.Caps, func(c string) bool { return !slices.Contains(caps, c) }) ||
			slices.ContainsFunc(exc.Caps, func(c string) bool { return slices.Contains(caps, c) }) {
			continue
		}
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{Names: s.Names, Action: s.Action, ErrnoRet: s.ErrnoRet, Args: s.Args})
	}
	return out, nil
}

// SeccompInfo describes a container's seccomp filter for run.json.
func SeccompInfo(option string, f *specs.LinuxSeccomp) string {
	if f == nil {
		return "unconfined"
	}
	return fmt.Sprintf("%s (%s: default action %s, %d rules)", option, options.SeccompPath(option), f.DefaultAction, len(f.Syscalls))
}

// CheckSeccomp is scenario.CheckHost's probe of a seccomp profile: it
// loads as the container platforms will load it.
func CheckSeccomp(path string) error {
	_, err := LoadSeccomp(path, BundleCaps)
	return err
}
