// Package stressng is the adapter of stress-ng's stream stressor (a STREAM
// variant, reference for the memory workload) and its cpu stressor.
package stressng

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
)

// Workload is the stress-ng adapter.
type Workload struct{}

var (
	_ workload.Workload = Workload{}
	_ workload.Tool     = Workload{}
)

func (Workload) Name() string       { return "stress-ng" }
func (Workload) Packages() []string { return []string{"stress-ng"} }
func (Workload) Programs() []string { return []string{"stress-ng"} }

func (Workload) Describe() string {
	return "stress-ng --stream (STREAM-like memory bandwidth, reference for memory) or --cpu (bogo ops)"
}

// minStream is how long stress-ng's stream stressor must run to report a
// memory rate ("run duration too short to determine memory rate" below).
const minStream = 6 * time.Second

func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "stressor", Kind: workload.Enum, Choices: []string{"stream", "cpu"}, Default: "stream", Help: "stream: memory bandwidth; cpu: the matrixprod method"},
		{Name: "instances", Kind: workload.Int, Default: "1", Min: 1, Max: 1024, Help: "stressor instances (processes)"},
		{Name: "l3", Kind: workload.Size, Default: "32MiB", Min: 1 << 20, Max: 4 << 30, Help: "stream: the L3 size stress-ng sizes its arrays from (--stream-l3-size; 4× it per array)"},
		{Name: "duration", Kind: workload.Duration, Default: "6s", Min: int64(time.Second), Help: "stress-ng -t, whole seconds; stream needs at least 6s to report a rate"},
	}
}

func (Workload) Metrics() []workload.MetricInfo {
	return []workload.MetricInfo{
		{Name: "bandwidth", Unit: "B/s", Help: "stream: memory read plus write rate", Resource: workload.ResMemBW},
		{Name: "rate", Unit: "ops/s", Help: "cpu: bogo operations per second (real time)", Resource: workload.ResCPU},
	}
}

func (Workload) Validate(p workload.Params) error {
	d := p.Duration("duration")
	if d%time.Second != 0 {
		return fmt.Errorf("duration: stress-ng runs whole seconds, got %s", d)
	}
	if p["stressor"] == "stream" && d < minStream {
		return fmt.Errorf("duration: stress-ng's stream stressor reports no memory rate under %s, got %s", minStream, d)
	}
	return nil
}

// Args builds stress-ng's command line, writing its metrics to yamlPath and
// its temporary files beside it (its default, the working directory, is a
// container's read-only /).
func Args(p workload.Params, yamlPath string) []string {
	args := []string{"--" + p["stressor"], p["instances"], "-t", strconv.Itoa(int(p.Duration("duration").Seconds())), "--metrics", "--yaml", yamlPath, "--temp-path", filepath.Dir(yamlPath)}
	if p["stressor"] == "stream" {
		return append(args, "--stream-l3-size", strconv.FormatInt(p.Size("l3"), 10))
	}
	return append(args, "--cpu-method", "matrixprod")
}

func (Workload) Run(ctx context.Context, p workload.Params) (workload.Result, error) {
	dir, err := os.MkdirTemp("", "stress-ng-")
	if err != nil {
		return workload.Result{}, err
	}
	defer os.RemoveAll(dir)
	yamlPath := filepath.Join(dir, "metrics.yaml")
	if _, err := workload.RunTool(ctx, "stress-ng", Args(p, yamlPath)...); err != nil {
		return workload.Result{}, err
	}
	b, err := os.ReadFile(yamlPath)
	if err != nil {
		return workload.Result{}, fmt.Errorf("stress-ng wrote no metrics: %w", err)
	}
	return Parse(p["stressor"], b)
}

// Parse reads the metrics section of stress-ng's YAML output.
func Parse(stressor string, b []byte) (workload.Result, error) {
	vals := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); ok && err == nil {
			vals[k] = f
		}
	}
	switch stressor {
	case "stream":
		r, okr := vals["memory-read-rate-mb-per-sec"]
		w, okw := vals["memory-write-rate-mb-per-sec"]
		if !okr || !okw {
			return workload.Result{}, fmt.Errorf("stress-ng stream reported no memory rate (runs under %s report none)", minStream)
		}
		return workload.Result{Metrics: []result.Metric{{Name: "bandwidth", Unit: "B/s", Value: (r + w) * 1e6}}}, nil
	default:
		v, ok := vals["bogo-ops-per-second-real-time"]
		if !ok {
			return workload.Result{}, fmt.Errorf("stress-ng output has no bogo-ops-per-second-real-time")
		}
		return workload.Result{Metrics: []result.Metric{{Name: "rate", Unit: "ops/s", Value: v}}}, nil
	}
}
