// Package agent is the contract between the host and the agent, the
// vmbench binary placed where a platform runs workloads (a host process, a
// container's process, a guest's PID 1: internal/kvm/initproc): the request
// and response of `vmbench agent run <request>` (one JSON response on
// stdout), the guest link's protocol, and what host and guest agree on
// (contract.go). Running the workload is the command's (cmd/vmbench): this
// package compiles no workload.
package agent

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmbench/vmbench/internal/workload"
)

// Request asks the agent to run one workload once.
type Request struct {
	Type   string            `json:"type"`
	Params map[string]string `json:"params"`
	// Profile asks for a CPU profile of the workload (runtime/pprof).
	Profile bool `json:"profile,omitempty"`
	// Sample, in seconds, asks a guest's agent to sample its own machine
	// during the run at this interval (the guest's view); 0: don't.
	Sample float64 `json:"sample_s,omitempty"`
	// Tool: the workload runs an external program (workload.Tool), which
	// containers and guests find in the tools rootfs.
	Tool bool `json:"tool,omitempty"`
	// Fresh: the trial is a start (workload.Starter): the platform times
	// it from starting the agent to its exit, and a vm boots a fresh guest
	// for it.
	Fresh bool `json:"fresh,omitempty"`
	// Seccomp is the filter of the container a guest runs the workload
	// in (the host read the vm platform's seccomp profile); nil: none.
	Seccomp *specs.LinuxSeccomp `json:"seccomp,omitempty"`
	// Port is the TCP port of a server whose client runs on the host
	// (workload.Client), which an engine publishes; 0: none.
	Port int `json:"port,omitempty"`
	// Client asks the agent to run the workload's client too, on its own
	// machine against the server it starts (a remote machine's network
	// path); the result is the client's, with the server's CPU.
	Client bool `json:"client,omitempty"`
}

// Response is the agent's answer; Error is set when the workload failed.
type Response struct {
	workload.Result
	Error string `json:"error,omitempty"`
	// CPU is the CPU time, user plus system, of the processes the trial
	// ran in on the agent's machine (the runtime, the container), in
	// seconds: a remote machine's own measure of the trial; 0: unknown.
	CPU float64 `json:"cpu_s,omitempty"`
}

// Args returns the argument vector (after the binary) that makes the vmbench
// binary run req and print its Response.
func Args(req Request) []string {
	b, _ := json.Marshal(req)
	return []string{"agent", "run", string(b)}
}

// ParseRequest decodes the JSON argument of `vmbench agent run`.
func ParseRequest(arg string) (Request, error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader([]byte(arg)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("agent request: %w", err)
	}
	return req, nil
}

// ParseOutput reads the agent's Response from its standard output: the last
// non-empty line, so that anything a runtime prints before it is ignored.
func ParseOutput(out []byte) (workload.Result, error) {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	last := lines[len(lines)-1]
	var resp Response
	if err := json.Unmarshal(last, &resp); err != nil {
		return workload.Result{}, fmt.Errorf("agent output is not a response (%q): %w", truncate(string(last), 200), err)
	}
	return responseResult(resp)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
