// Package fio is the adapter of fio, the reference for block I/O: the same
// parameters as the built-in disk workload, turned into fio's options, and
// fio's JSON output turned into the same metrics, so that disk and fio can
// be compared trial for trial (the fidelity scenario does).
package fio

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/safefs"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads/disk"
)

// Workload is the fio adapter.
type Workload struct{}

var (
	_ workload.Workload = Workload{}
	_ workload.Tool     = Workload{}
)

func (Workload) Name() string { return "fio" }

func (Workload) Describe() string {
	return "fio (the reference for disk) with disk's parameters, on the same scratch area; ioengine psync or libaio"
}

func (Workload) Packages() []string { return []string{"fio"} }
func (Workload) Programs() []string { return []string{"fio"} }

// Params are disk's: the two must mean the same.
func (Workload) Params() []workload.Param         { return disk.Workload{}.Params() }
func (Workload) Scratch(p workload.Params) int64  { return disk.Workload{}.Scratch(p) }
func (Workload) Metrics() []workload.MetricInfo   { return disk.Workload{}.Metrics() }
func (Workload) Validate(p workload.Params) error { return disk.Workload{}.Validate(p) }

// FileName is fio's file in a scratch directory.
const FileName = "fio.dat"

// Args builds fio's command line for params p on filename.
func Args(p workload.Params, filename string) []string {
	rw := map[string]string{"read": "read", "write": "write", "mixed": "rw"}[p["op"]]
	if p["pattern"] == "rand" {
		rw = "rand" + rw
	}
	engine := "psync"
	if p["engine"] == "libaio" {
		engine = "libaio"
	}
	direct := "0"
	if p["direct"] == "true" {
		direct = "1"
	}
	args := []string{
		"--name=vmbench", "--filename=" + filename, "--size=" + strconv.FormatInt(p.Size("size"), 10),
		"--rw=" + rw, "--rwmixread=50", "--bs=" + strconv.FormatInt(p.Size("bs"), 10),
		"--ioengine=" + engine, "--iodepth=" + p["iodepth"], "--direct=" + direct,
		"--runtime=" + strconv.FormatInt(p.Duration("duration").Milliseconds(), 10) + "ms", "--time_based",
		"--lat_percentiles=1", "--percentile_list=50:90:99:99.9", "--output-format=json",
	}
	if n := p.Int("fsync"); n > 0 {
		args = append(args, "--fsync="+strconv.Itoa(n))
	}
	return args
}

func (Workload) Run(ctx context.Context, p workload.Params) (workload.Result, error) {
	target := os.Getenv(workload.ScratchEnv)
	if target == "" {
		return workload.Result{}, fmt.Errorf("no scratch area: $%s is not set (the platform sets it)", workload.ScratchEnv)
	}
	if st, err := os.Stat(target); err == nil && st.IsDir() {
		// fio follows links: the file is made (or found) a regular one
		// first, as the disk workload opens it.
		f, err := safefs.OpenFile(target, FileName, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return workload.Result{}, fmt.Errorf("scratch area: %w", err)
		}
		f.Close()
		target = filepath.Join(target, FileName)
	}
	out, err := workload.RunTool(ctx, "fio", Args(p, target)...)
	if err != nil {
		return workload.Result{}, err
	}
	return Parse(out)
}

type latency struct {
	N          float64            `json:"N"`
	Mean       float64            `json:"mean"`
	Percentile map[string]float64 `json:"percentile"`
}

type direction struct {
	IOBytes float64 `json:"io_bytes"`
	BW      float64 `json:"bw_bytes"`
	IOPS    float64 `json:"iops"`
	Lat     latency `json:"lat_ns"`
}

type output struct {
	Jobs []struct {
		Error int       `json:"error"`
		Read  direction `json:"read"`
		Write direction `json:"write"`
	} `json:"jobs"`
}

// fioPercentile is how fio names each of workload.Percentiles.
var fioPercentile = map[string]string{"p50": "50.000000", "p90": "90.000000", "p99": "99.000000", "p99_9": "99.900000"}

// Parse reads fio's JSON output. Reads and writes add up (IOPS, bytes);
// the mean latency is over both; a percentile is the larger of the two
// directions' (fio keeps them apart).
func Parse(out []byte) (workload.Result, error) {
	// fio may print notes before the JSON.
	if i := bytes.IndexByte(out, '{'); i > 0 {
		out = out[i:]
	}
	var o output
	if err := json.Unmarshal(out, &o); err != nil {
		return workload.Result{}, fmt.Errorf("fio output: %w", err)
	}
	if len(o.Jobs) != 1 {
		return workload.Result{}, fmt.Errorf("fio output: %d jobs, want 1", len(o.Jobs))
	}
	j := o.Jobs[0]
	if j.Error != 0 {
		return workload.Result{}, fmt.Errorf("fio job error %d", j.Error)
	}
	n := j.Read.Lat.N + j.Write.Lat.N
	if n == 0 {
		return workload.Result{}, fmt.Errorf("fio output: no I/O completed")
	}
	res := workload.Result{
		Work: j.Read.IOBytes + j.Write.IOBytes,
		Metrics: []result.Metric{
			{Name: "iops", Unit: "ops/s", Value: j.Read.IOPS + j.Write.IOPS},
			{Name: "bandwidth", Unit: "B/s", Value: j.Read.BW + j.Write.BW},
			{Name: "latency", Unit: "s", Value: (j.Read.Lat.Mean*j.Read.Lat.N + j.Write.Lat.Mean*j.Write.Lat.N) / n / 1e9},
		},
	}
	for _, pc := range workload.Percentiles {
		key := fioPercentile[pc.Name]
		v := math.Max(j.Read.Lat.Percentile[key], j.Write.Lat.Percentile[key])
		res.Metrics = append(res.Metrics, result.Metric{Name: pc.Name, Unit: "s", Value: v / 1e9})
	}
	return res, nil
}
