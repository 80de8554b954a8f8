package platform

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/agent"
)

// A workload that dies says why: the runtime's own line, not the tail of
// its goroutine dump; a process the kernel killed says what usually does.
func TestRunAgentSaysWhy(t *testing.T) {
	oom := `echo "fatal error: runtime: out of memory" >&2
echo >&2
echo "runtime stack:" >&2
echo "runtime.throw({0x5d1a2b?, 0x2000?})" >&2
echo "	/usr/local/go/src/runtime/panic.go:1101 +0x48 fp=0x7ffc sp=0x7ffc pc=0x43d1a8" >&2
echo "runtime/pprof/pprof.go:911 +0x1b fp=0xc000" >&2
exit 2`
	_, err := RunAgent(exec.Command("sh", "-c", oom), agent.Request{Type: "memory"}, nil)
	if err == nil || !strings.HasSuffix(err.Error(), "exit status 2: fatal error: runtime: out of memory") {
		t.Errorf("oom: %v", err)
	}
	_, err = RunAgent(exec.Command("sh", "-c", `echo "panic: runtime error: index out of range [3] with length 3" >&2; echo >&2; echo "goroutine 1 [running]:" >&2; exit 2`), agent.Request{Type: "cpu"}, nil)
	if err == nil || !strings.HasSuffix(err.Error(), ": panic: runtime error: index out of range [3] with length 3") {
		t.Errorf("panic: %v", err)
	}
	_, err = RunAgent(exec.Command("sh", "-c", "kill -9 $$"), agent.Request{Type: "memory"}, nil)
	if err == nil || !strings.Contains(err.Error(), "signal: killed (SIGKILL: the OOM killer") {
		t.Errorf("killed: %v", err)
	}
	_, err = RunAgent(exec.Command("sh", "-c", `echo one >&2; echo two >&2; exit 3`), agent.Request{Type: "cpu"}, nil)
	if err == nil || !strings.HasSuffix(err.Error(), "exit status 3: one | two") {
		t.Errorf("plain: %v", err)
	}
}
