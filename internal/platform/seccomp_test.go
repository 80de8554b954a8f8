package platform

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmbench/vmbench/internal/options"
)

// The engines' default profile, as Debian's containers-common ships it
// (the test command installs it), becomes an OCI filter for an amd64
// container with vmbench's capabilities.
func TestLoadDefaultSeccomp(t *testing.T) {
	f, err := LoadSeccomp(options.SeccompPath("default"), BundleCaps)
	if err != nil {
		t.Fatal(err)
	}
	if f.DefaultAction != specs.ActErrno || !slices.Contains(f.Architectures, specs.ArchX86_64) {
		t.Errorf("default action %s, architectures %v", f.DefaultAction, f.Architectures)
	}
	allowed := func(name string) bool {
		return slices.ContainsFunc(f.Syscalls, func(s specs.LinuxSyscall) bool {
			return s.Action == specs.ActAllow && len(s.Args) == 0 && slices.Contains(s.Names, name)
		})
	}
	for _, name := range []string{"getppid", "read", "pipe2", "io_setup", "io_submit"} {
		if !allowed(name) {
			t.Errorf("%s is not allowed", name)
		}
	}
	// Rules for other architectures, or for capabilities a container does
	// not have, are left out.
	for _, name := range []string{"arm_fadvise64_64", "perf_event_open", "bpf", "init_module"} {
		if allowed(name) {
			t.Errorf("%s is allowed", name)
		}
	}
	if !allowed("chroot") { // the rule that needs CAP_SYS_CHROOT, which containers have
		t.Error("chroot is not allowed")
	}
	f2, _ := LoadSeccomp(options.SeccompPath("default"), append(slices.Clone(BundleCaps), "CAP_SYS_ADMIN"))
	if !slices.ContainsFunc(f2.Syscalls, func(s specs.LinuxSyscall) bool {
		return s.Action == specs.ActAllow && slices.Contains(s.Names, "perf_event_open")
	}) {
		t.Error("with CAP_SYS_ADMIN, perf_event_open is still not allowed")
	}
	if options.SeccompPath("unconfined") != "" {
		t.Error("unconfined has a profile")
	}
	if _, err := LoadSeccomp("/nonexistent.json", BundleCaps); err == nil || !strings.Contains(err.Error(), "seccomp profile") {
		t.Errorf("err = %v", err)
	}
}
