package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/kvm/initproc"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
	"github.com/vmbench/vmbench/workloads/syscalls"
)

func newAgentCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "agent",
		Short:  "Run workloads where a platform placed vmbench (used by vmbench itself)",
		Hidden: true,
	}
	cmd.AddCommand(newHideCgroup2Cmd())
	cmd.AddCommand(&cobra.Command{
		Use:   "guest",
		Short: "Serve the host over the guest's virtio-serial port: the agent in a libvirt guest, started by cloud-init",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			return initproc.Service(self)
		},
	})
	var remote initproc.RemoteOptions
	remoteCmd := &cobra.Command{
		Use:   "remote DIR",
		Short: "Serve the controller over this SSH session's stdio: the agent on a machine vmbench does not manage, placed in DIR",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			remote.Dir, remote.Client = args[0], runClient
			return initproc.Remote(self, remote, os.Stdin, os.Stdout)
		},
	}
	remoteCmd.Flags().StringVar(&remote.Runtime, "runtime", "runc", "the machine's OCI runtime")
	remoteCmd.Flags().StringVar(&remote.Listen, "listen", "", "the address servers listen on (default: every address)")
	cmd.AddCommand(remoteCmd)
	cmd.AddCommand(&cobra.Command{
		Use:   "echo",
		Short: "Echo standard input to standard output: the other end of the syscall workload's pipe",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return syscalls.Echo() },
	})
	cmd.AddCommand(&cobra.Command{
		Use:     "run REQUEST",
		Short:   "Run one workload and print its metrics as JSON",
		Example: `  vmbench agent run '{"type":"cpu","params":{"threads":"2","duration":"500ms"}}'`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := agent.ParseRequest(args[0])
			if err != nil {
				return usageError(err)
			}
			// A platform stops a trial with SIGTERM (native: a server once
			// its client is done): the workload ends what it started.
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			resp := runRequest(ctx, req)
			if err := json.NewEncoder(cmd.OutOrStdout()).Encode(resp); err != nil {
				return err
			}
			if resp.Error != "" {
				return silentExit(1)
			}
			return nil
		},
	})
	return cmd
}

// runClient runs the client of the workload req names, in this process,
// against its server at addr.
func runClient(ctx context.Context, addr string, req agent.Request) (workload.Result, bool, error) {
	w, ok := workloads.Lookup(req.Type)
	if !ok {
		return workload.Result{}, false, fmt.Errorf("unknown workload type %q", req.Type)
	}
	c, ok := w.(workload.Client)
	if !ok {
		return workload.Result{}, false, fmt.Errorf("%s has no client", req.Type)
	}
	params, errs := workload.Complete(w, req.Params)
	if len(errs) > 0 {
		return workload.Result{}, false, errors.Join(errs...)
	}
	_, stops := w.(workload.ServerStopper)
	res, err := c.Client(ctx, addr, params)
	return res, stops, err
}

// runRequest runs an agent request in this process: the workload, once,
// with a CPU profile when asked.
func runRequest(ctx context.Context, req agent.Request) agent.Response {
	w, ok := workloads.Lookup(req.Type)
	if !ok {
		return agent.Response{Error: fmt.Sprintf("unknown workload type %q", req.Type)}
	}
	params, errs := workload.Complete(w, req.Params)
	if len(errs) > 0 {
		return agent.Response{Error: errors.Join(errs...).Error()}
	}
	var prof bytes.Buffer
	profiling := req.Profile && pprof.StartCPUProfile(&prof) == nil
	res, err := w.Run(ctx, params)
	if profiling {
		pprof.StopCPUProfile()
		res.Profile = prof.Bytes()
	}
	if err != nil {
		return agent.Response{Error: err.Error()}
	}
	return agent.Response{Result: res}
}
