// Package iperf3 is the adapter of iperf3, the reference for the net
// workload's stream mode: iperf3's server runs in the platform (-s -1: one
// test, then exit), its client on the host, over the same path as net's.
package iperf3

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
)

// Port is the port iperf3's server listens on.
const Port = 45201 // not 5201: a host may run its own iperf3 server

// Workload is the iperf3 adapter.
type Workload struct{}

var (
	_ workload.Workload = Workload{}
	_ workload.Tool     = Workload{}
	_ workload.Client   = Workload{}
)

func (Workload) Name() string       { return "iperf3" }
func (Workload) Packages() []string { return []string{"iperf3"} }
func (Workload) Programs() []string { return []string{"iperf3"} }

func (Workload) Describe() string {
	return "iperf3 TCP stream from a client on the host to the server in the platform: reference for net mode=stream"
}

func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "connections", Kind: workload.Int, Default: "1", Min: 1, Max: 128, Help: "parallel streams (-P)"},
		{Name: "duration", Kind: workload.Duration, Default: "1s", Min: int64(time.Second), Help: "iperf3 -t, whole seconds"},
	}
}

func (Workload) Metrics() []workload.MetricInfo {
	return []workload.MetricInfo{{Name: "bandwidth", Unit: "B/s", Help: "bytes the client sent per second (iperf3's sum_sent)", Resource: workload.ResNetTput}}
}

func (Workload) Validate(p workload.Params) error {
	if d := p.Duration("duration"); d%time.Second != 0 {
		return fmt.Errorf("duration: iperf3 runs whole seconds, got %s", d)
	}
	return nil
}

// ServerArgs and ClientArgs build iperf3's command lines.
func ServerArgs() []string {
	return []string{"-s", "-1", "-J", "-p", strconv.Itoa(Port), "-B", workload.ListenAddr()}
}

func ClientArgs(p workload.Params, addr string) []string {
	return []string{"-c", addr, "-p", strconv.Itoa(Port), "-J", "-t", strconv.Itoa(int(p.Duration("duration").Seconds())), "-P", p["connections"]}
}

// Run is the server: one test, then its report of what it received.
func (Workload) Run(ctx context.Context, p workload.Params) (workload.Result, error) {
	out, err := workload.RunTool(ctx, "iperf3", ServerArgs()...)
	if err != nil {
		return workload.Result{}, err
	}
	var o report
	if err := json.Unmarshal(out, &o); err != nil {
		return workload.Result{}, fmt.Errorf("iperf3 server output: %w", err)
	}
	return workload.Result{Metrics: []result.Metric{{Name: "received", Unit: "B", Value: o.End.SumReceived.Bytes}}}, nil
}

// dialWait bounds how long the client retries a server that is not up yet.
const dialWait = time.Minute

// Port is the port the server listens on.
func (Workload) Port(workload.Params) int { return Port }

// Client runs iperf3's client on the host, retrying while the server in
// the platform is still starting.
func (Workload) Client(ctx context.Context, addr string, p workload.Params) (workload.Result, error) {
	deadline := time.Now().Add(dialWait)
	for {
		out, err := workload.RunTool(ctx, "iperf3", ClientArgs(p, addr)...)
		if err == nil {
			var res workload.Result
			if res, err = Parse(out); err == nil {
				return res, nil
			}
		}
		// -J reports errors in the JSON on stdout.
		refused := strings.Contains(err.Error(), "Connection refused") || strings.Contains(string(out), "Connection refused")
		if !refused || time.Now().After(deadline) || ctx.Err() != nil {
			if e := jsonError(out); e != "" {
				err = fmt.Errorf("%w: %s", err, e)
			}
			return workload.Result{}, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type sum struct {
	Bytes         float64 `json:"bytes"`
	BitsPerSecond float64 `json:"bits_per_second"`
}

type report struct {
	Error string `json:"error"`
	End   struct {
		SumSent     sum `json:"sum_sent"`
		SumReceived sum `json:"sum_received"`
	} `json:"end"`
}

func jsonError(out []byte) string {
	var o report
	json.Unmarshal(out, &o)
	return o.Error
}

// Parse reads the client's JSON report.
func Parse(out []byte) (workload.Result, error) {
	var o report
	if err := json.Unmarshal(out, &o); err != nil {
		return workload.Result{}, fmt.Errorf("iperf3 output: %w", err)
	}
	if o.Error != "" {
		return workload.Result{}, fmt.Errorf("iperf3: %s", o.Error)
	}
	if o.End.SumSent.BitsPerSecond <= 0 {
		return workload.Result{}, fmt.Errorf("iperf3 output: nothing sent")
	}
	return workload.Result{Work: o.End.SumSent.Bytes, Metrics: []result.Metric{{Name: "bandwidth", Unit: "B/s", Value: o.End.SumSent.BitsPerSecond / 8}}}, nil
}
