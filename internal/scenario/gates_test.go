package scenario

import (
	"strings"
	"testing"
)

const gated = `version: 1
name: gated
platforms:
  - {name: native, type: native}
  - {name: box, type: container}
  - {name: guest, type: vm, accel: tcg}
workloads:
  - type: cpu
    params: {threads: [1, 2]}
  - name: mem
    type: memory
    params: {size: 8MiB}
gates:
  - metric: cpu.throughput
    where: {threads: 1}
    platform: guest
    max_overhead: 10%
  - name: boot under five seconds
    metric: boot.launch_to_ready
    aggregate: p90
    max: 5s
  - metric: mem.bandwidth
    platform: [box, guest]
    min: 1GB/s
  - metric: cpu.throughput
    max_regression: 5%
    alpha: 0.01
`

func TestGatesDecode(t *testing.T) {
	s, err := Load("g.yaml", []byte(gated))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Gates) != 4 {
		t.Fatalf("got %d gates", len(s.Gates))
	}
	rel, boot, abs, reg := s.Gates[0], s.Gates[1], s.Gates[2], s.Gates[3]
	if rel.Kind != Relative || rel.Bound != 0.10 || rel.Versus != "native" || rel.Where["threads"] != "1" ||
		rel.Name != "cpu.throughput overhead vs native ≤ 10%" {
		t.Errorf("relative gate %+v", rel)
	}
	if boot.Kind != Absolute || !boot.Upper || boot.Bound != 5 || boot.Aggregate != "p90" ||
		strings.Join(boot.Platforms, ",") != "guest" || boot.Name != "boot under five seconds" {
		t.Errorf("boot gate %+v (a boot gate applies to the vm platforms only)", boot)
	}
	if abs.Upper || abs.Bound != 1e9 || abs.Aggregate != "median" || strings.Join(abs.Platforms, ",") != "box,guest" {
		t.Errorf("absolute gate %+v", abs)
	}
	// A regression of the overhead is judged on the platforms other than
	// the baseline.
	if reg.Kind != Regression || reg.Alpha != 0.01 || reg.Bound != 0.05 || reg.Of != "overhead" || strings.Join(reg.Platforms, ",") != "box,guest" ||
		reg.Name != "cpu.throughput overhead regression ≤ 5%" {
		t.Errorf("regression gate %+v", reg)
	}
	if !rel.Matches(map[string]string{"threads": "1", "kernel": "hash"}) || rel.Matches(map[string]string{"threads": "2"}) {
		t.Error("where: threads=1 selects the wrong variants")
	}
}

func TestGateErrors(t *testing.T) {
	head := "version: 1\nname: x\nplatforms:\n  - {name: native, type: native}\n  - {name: guest, type: vm}\n" +
		"workloads:\n  - {type: cpu, params: {threads: [1, 2]}}\ngates:\n"
	for _, tc := range []struct {
		name, gate, want string
	}{
		{"not a list", "", "x.yaml:8:8: gates: must be a list"},
		{"no metric", "  - {max: 1}\n", `x.yaml:9:5: gates[0]: missing required field "metric"`},
		{"metric form", "  - {metric: throughput, max: 1}\n", `x.yaml:9:14: gates[0].metric: must be workload.metric, such as cpu.throughput`},
		{"unknown workload", "  - {metric: disk.iops, max: 1}\n", `x.yaml:9:14: gates[0].metric: "disk" is not a workload of this scenario (workloads: cpu; boot for a guest's start)`},
		{"unknown metric", "  - {metric: cpu.ops, max: 1}\n", `gates[0].metric: workload cpu has no metric "ops" (metrics: cpu.throughput, cpu.host_cpu, cpu.host_cpu_per_GB, cpu.footprint)`},
		{"no bound", "  - {metric: cpu.throughput}\n", "x.yaml:9:5: gates[0]: give exactly one bound: max or min (absolute), max_overhead, min_overhead or negligible (versus another platform) or max_regression (versus a baseline run); got none"},
		{"two bounds", "  - {metric: cpu.throughput, max: 1, max_overhead: 5%}\n", "got max and max_overhead"},
		{"unknown key", "  - {metric: cpu.throughput, below: 1}\n", "x.yaml:9:30: gates[0].below: unknown field for gate"},
		{"rate unit", "  - {metric: cpu.throughput, min: 1GB}\n", `x.yaml:9:35: gates[0].min: must be a rate such as 2GB/s or 500MiB/s (the metric is in bytes per second), got "1GB"`},
		{"duration", "  - {metric: boot.kernel, max: soon}\n", `gates[0].max: must be a duration such as 2ms or 1.5s (the metric is in seconds), got "soon"`},
		{"percent", "  - {metric: cpu.throughput, max_overhead: 0.1}\n", `x.yaml:9:44: gates[0].max_overhead: must be a percentage such as 10%, got "0.1"`},
		{"negative threshold", "  - {metric: cpu.throughput, max_regression: -1%}\n", "gates[0].max_regression: is the noise threshold and must be ≥ 0%"},
		{"alpha range", "  - {metric: cpu.throughput, max_regression: 5%, alpha: 5}\n", "gates[0].alpha: must be a significance level between 0 and 1"},
		{"alpha on absolute", "  - {metric: cpu.throughput, max: 1, alpha: 0.1}\n", "x.yaml:9:45: gates[0].alpha: applies to regression gates only (this gate's bound, max, makes it absolute)"},
		{"aggregate", "  - {metric: cpu.throughput, max: 1, aggregate: p42}\n", `x.yaml:9:49: gates[0].aggregate: must be one of median, mean, min, max, p90, p95, p99, got "p42"`},
		{"platform", "  - {metric: cpu.throughput, max: 1, platform: box}\n", `x.yaml:9:48: gates[0].platform: "box" is not a platform of this scenario (platforms: native, guest)`},
		{"platform list", "  - {metric: cpu.throughput, max: 1, platform: [guest, box]}\n", `gates[0].platform[1]: "box" is not a platform`},
		{"boot on native", "  - {metric: boot.kernel, max: 1s, platform: native}\n", "gates[0].platform: platform native is a native; only vm platforms have boot metrics"},
		{"versus itself", "  - {metric: cpu.throughput, max_overhead: 5%, platform: native}\n", "gates[0].platform: is the platform it is compared with (versus: native)"},
		{"versus unknown", "  - {metric: cpu.throughput, max_overhead: 5%, versus: bare}\n", `gates[0].versus: "bare" is not a platform of this scenario`},
		{"where param", "  - {metric: cpu.throughput, max: 1, where: {cores: 2}}\n", "gates[0].where.cores: not a parameter of workload cpu (parameters: kernel, threads, duration)"},
		{"where value", "  - {metric: cpu.throughput, max: 1, where: {threads: 4}}\n", "x.yaml:9:55: gates[0].where.threads: no variant of workload cpu has threads=4 (values in this scenario: 1, 2)"},
		{"of", "  - {metric: cpu.throughput, max_regression: 5%, of: ratio}\n", `gates[0].of: must be overhead (the cost relative to the baseline platform, round by round) or value (the metric itself), got "ratio"`},
		{"of on absolute", "  - {metric: cpu.throughput, max: 1, of: value}\n", "gates[0].of: applies to regression gates only"},
		{"overhead of the baseline", "  - {metric: cpu.throughput, max_regression: 5%, platform: native}\n", "gates[0].platform: is the baseline platform, whose overhead is 0 by definition; name another platform, or set of: value"},
		{"boot overhead", "  - {metric: boot.kernel, max_regression: 5%, of: overhead}\n", "gates[0].of: boot metrics have no value on the baseline platform to be relative to; set of: value"},
		{"negligible margin", "  - {metric: cpu.throughput, negligible: 0%, platform: guest}\n", "x.yaml:9:42: gates[0].negligible: is the equivalence margin and must be above 0% and below 100%, got 0%"},
		{"negligible versus itself", "  - {metric: cpu.throughput, negligible: 2%, versus: guest, platform: guest}\n", "gates[0].platform: is the platform it is compared with (versus: guest)"},
		{"negligible aggregate", "  - {metric: cpu.throughput, negligible: 2%, aggregate: mean}\n", "gates[0].aggregate: applies to absolute gates only (this gate's bound, negligible, makes it negligible)"},
		{"where not mapping", "  - {metric: cpu.throughput, max: 1, where: threads}\n", "gates[0].where: must be a mapping of parameter names to values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := head + tc.gate
			if tc.gate == "" {
				y = strings.Replace(head, "gates:\n", "gates: 1\n", 1)
			}
			_, err := Load("x.yaml", []byte(y))
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
		})
	}
}
