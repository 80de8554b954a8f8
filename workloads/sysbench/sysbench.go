// Package sysbench is the adapter of sysbench's cpu test (prime numbers)
// and memory test (writes of 1 MiB blocks), references for the built-in cpu
// and memory workloads.
package sysbench

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
)

// Workload is the sysbench adapter.
type Workload struct{}

var (
	_ workload.Workload = Workload{}
	_ workload.Tool     = Workload{}
)

func (Workload) Name() string       { return "sysbench" }
func (Workload) Packages() []string { return []string{"sysbench"} }
func (Workload) Programs() []string { return []string{"sysbench"} }

func (Workload) Describe() string {
	return "sysbench cpu (prime numbers up to 10000) or memory (1MiB block writes): references for cpu and memory"
}

func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "test", Kind: workload.Enum, Choices: []string{"cpu", "memory"}, Default: "cpu", Help: "sysbench's test"},
		{Name: "threads", Kind: workload.Int, Default: "1", Min: 1, Max: 1024, Help: "sysbench --threads"},
		{Name: "duration", Kind: workload.Duration, Default: "1s", Min: int64(time.Second), Help: "sysbench --time, whole seconds"},
	}
}

func (Workload) Metrics() []workload.MetricInfo {
	return []workload.MetricInfo{
		{Name: "rate", Unit: "ops/s", Help: "cpu: events (prime searches) per second", Resource: workload.ResCPU},
		{Name: "bandwidth", Unit: "B/s", Help: "memory: bytes written per second", Resource: workload.ResMemBW},
	}
}

func (Workload) Validate(p workload.Params) error {
	if d := p.Duration("duration"); d%time.Second != 0 {
		return fmt.Errorf("duration: sysbench runs whole seconds, got %s", d)
	}
	return nil
}

// Args builds sysbench's command line.
func Args(p workload.Params) []string {
	args := []string{p["test"], "--threads=" + p["threads"], "--time=" + strconv.Itoa(int(p.Duration("duration").Seconds()))}
	if p["test"] == "memory" {
		args = append(args, "--memory-block-size=1M", "--memory-total-size=1T", "--memory-oper=write")
	}
	return append(args, "run")
}

func (Workload) Run(ctx context.Context, p workload.Params) (workload.Result, error) {
	out, err := workload.RunTool(ctx, "sysbench", Args(p)...)
	if err != nil {
		return workload.Result{}, err
	}
	return Parse(p["test"], out)
}

var (
	eventsRE = regexp.MustCompile(`events per second:\s+([0-9.]+)`)
	mibRE    = regexp.MustCompile(`([0-9.]+) MiB transferred \(([0-9.]+) MiB/sec\)`)
)

// Parse reads sysbench's report of test.
func Parse(test string, out []byte) (workload.Result, error) {
	if test == "cpu" {
		m := eventsRE.FindSubmatch(out)
		if m == nil {
			return workload.Result{}, fmt.Errorf("sysbench cpu output has no 'events per second'")
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return workload.Result{Metrics: []result.Metric{{Name: "rate", Unit: "ops/s", Value: v}}}, nil
	}
	m := mibRE.FindSubmatch(out)
	if m == nil {
		return workload.Result{}, fmt.Errorf("sysbench memory output has no 'MiB transferred (… MiB/sec)'")
	}
	total, _ := strconv.ParseFloat(string(m[1]), 64)
	rate, _ := strconv.ParseFloat(string(m[2]), 64)
	return workload.Result{Work: total * (1 << 20), Metrics: []result.Metric{{Name: "bandwidth", Unit: "B/s", Value: rate * (1 << 20)}}}, nil
}
