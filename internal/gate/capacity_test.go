package gate

import (
	"math"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
)

// sweep makes a density sweep's samples: each platform's instances share
// cores CPUs, so per-instance throughput halves each time the level passes
// the cores; host memory grows by memPer per instance.
func sweep(info *result.RunInfo, cores map[string]int, levels []int, memPer float64) []result.Sample {
	var out []result.Sample
	for p, c := range cores {
		info.Platforms = append(info.Platforms, result.PlatformInfo{Name: p, Type: "native"})
		for _, n := range levels {
			for r := range 3 {
				per := 100 * math.Min(1, float64(c)/float64(n)) * (1 + 0.001*float64(r))
				for k := 1; k <= n; k++ {
					out = append(out, result.Sample{Workload: "cpu", Label: "", Platform: p, Trial: r, Level: n, Instance: k,
						Metrics: []result.Metric{{Name: "throughput", Unit: "B/s", Value: per}}})
				}
				out = append(out, result.Sample{Workload: "cpu", Platform: p, Trial: r, Level: n, Metrics: []result.Metric{
					{Name: "mem_available_before", Unit: "B", Value: 16e9}, {Name: "mem_available_drop", Unit: "B", Value: memPer * float64(n)},
					{Name: "host_busy", Unit: "cores", Value: math.Min(float64(n), float64(c))}}})
			}
		}
	}
	return out
}

func TestCapacityGates(t *testing.T) {
	s, err := scenario.Load("capacity.yaml", []byte(`version: 1
name: capacity
density:
  levels: [1, 2, 4, 8]
  slo: [{metric: cpu.throughput, max_loss: 10%}]
platforms:
  - {name: big, type: native}
  - {name: small, type: native}
workloads:
  - {type: cpu}
gates:
  - {min_instances_per_host: 4, platform: big}
  - {min_instances_per_host: 4, platform: small}
  - {max_density_loss: 25%, platform: small, versus: big}
`))
	if err != nil {
		t.Fatal(err)
	}
	info := result.RunInfo{RunID: "sweep", Host: result.Host{Cores: 64}}
	samples := sweep(&info, map[string]int{"big": 4, "small": 2}, []int{1, 2, 4, 8}, 1e6)
	r := Evaluate(s, info, samples, nil, 1)
	if len(r.Checks) != 3 {
		t.Fatalf("%d checks: %+v", len(r.Checks), r.Checks)
	}
	big, small, loss := r.Checks[0], r.Checks[1], r.Checks[2]
	if big.Status != Pass || big.Value != 4 || !strings.Contains(big.Reason, "4 instances per host [4, 4], bound by SLO: all of it ≥ 4") {
		t.Errorf("big: %+v", big)
	}
	if small.Status != Fail || small.Value != 2 || !strings.Contains(small.Reason, "all of it below 4") {
		t.Errorf("small: %+v", small)
	}
	if loss.Status != Fail || math.Abs(loss.Value-0.5) > 1e-9 || !strings.Contains(loss.Reason, "small fits 2 per host, big 4: density loss +50.0%") {
		t.Errorf("density loss: %+v", loss)
	}
	// Emulation sizes nothing.
	info.Platforms[0].Info = map[string]string{"accel": "tcg"}
	info.Platforms[1].Info = map[string]string{"accel": "tcg"}
	if r := Evaluate(s, info, samples, nil, 1); r.Count(Skipped) != 3 {
		t.Errorf("under TCG: %s", r.Summary())
	}
}
