package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/capacity"
	"github.com/vmbench/vmbench/internal/result"
)

// Two hosts' density sweeps (two runs here, told apart as two host types)
// merge into a fleet run, which vmbench capacity sizes per host type and
// in the fleet's mix of types; report shows its fleet section.
func TestFleetMergeAndCapacity(t *testing.T) {
	needRunc(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "sweep.yaml")
	os.WriteFile(path, []byte(`version: 1
name: sweep
timeout: 1m
sample_interval: 50ms
density:
  levels: [1, 2]
  repetitions: 2
  slo:
    - {metric: cpu.throughput, max_loss: 50%}
platforms:
  - {name: native, type: native}
  - {name: box, type: container, network: none}
workloads:
  - {type: cpu, params: {duration: 200ms}}
`), 0o644)
	var hosts []string
	for i, cpu := range []string{"Model A", "Model B"} {
		run := runDir(t, filepath.Join(dir, "r"+string(rune('a'+i))), path)
		info, err := result.ReadRun(run)
		if err != nil {
			t.Fatal(err)
		}
		info.Host.CPUModel, info.Labels = cpu, map[string]string{"host": "host-" + string(rune('a'+i))}
		if err := result.WriteRun(run, info); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, run)
	}
	// One host's sweep, as a planner's program reads it.
	code, out, stderr := runCLI(t, "capacity", hosts[0], "--instances", "100", "--headroom", "0%", "--spares", "0", "--json")
	var plan struct {
		Schema    string
		Instances int
		Platforms []capacity.PlatformDoc
	}
	if err := json.Unmarshal([]byte(out), &plan); code != 0 || err != nil || plan.Schema != capacity.Schema || plan.Instances != 100 || len(plan.Platforms) != 2 {
		t.Fatalf("capacity --json: exit %d, %v\n%s\n%s", code, err, out, stderr)
	}
	for _, p := range plan.Platforms {
		if p.PerHost.Value == nil || *p.PerHost.Value < 1 || p.Hosts == nil || *p.Hosts.Value < 1 || len(p.SLO) != 2 || p.Binding == "" {
			t.Errorf("capacity --json, %s: %s", p.Name, out)
		}
	}
	// The same sweep in report.json and in the Prometheus exposition:
	// the levels, and the capacity vmbench capacity computed.
	reportJSON, err := os.ReadFile(filepath.Join(hosts[0], "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Density struct {
			HostCores int `json:"host_cores"`
			Platforms []struct {
				Name   string
				Levels []struct {
					Instances, Rounds int
					Cells             []struct {
						Metric string
						N      int
						Median *float64
					}
					Host map[string]*float64
				}
				Capacity *struct {
					PerHost struct{ Value *float64 } `json:"per_host"`
				}
			}
		}
	}
	if err := json.Unmarshal(reportJSON, &rep); err != nil || len(rep.Density.Platforms) != 2 || rep.Density.HostCores < 1 {
		t.Fatalf("report.json's density: %v\n%s", err, reportJSON)
	}
	for i, p := range rep.Density.Platforms {
		if len(p.Levels) != 2 || p.Levels[1].Instances != 2 || p.Levels[1].Rounds != 2 || p.Levels[1].Host["mem_available_drop"] == nil || p.Levels[1].Host["instances_cpu"] == nil || p.Levels[1].Host["foreign_cpu"] == nil || p.Capacity == nil ||
			p.Capacity.PerHost.Value == nil || *p.Capacity.PerHost.Value != *plan.Platforms[i].PerHost.Value {
			t.Errorf("report.json's density, %s: %+v; capacity --json says %v per host", p.Name, p, *plan.Platforms[i].PerHost.Value)
		}
		for _, c := range p.Levels[1].Cells {
			if c.Metric == "throughput" && (c.N != 4 || c.Median == nil || *c.Median <= 0) { // 2 instances × 2 rounds
				t.Errorf("report.json's density, %s at 2: %+v", p.Name, c)
			}
		}
	}
	// report.md shows the capacity as vmbench capacity prints it.
	md0, _ := os.ReadFile(filepath.Join(hosts[0], "report.md"))
	for _, want := range []string{"## Capacity on this host (", "| platform | per host | binding |", fmt.Sprintf("| box | %v [", *plan.Platforms[1].PerHost.Value), "- SLO on native: 1: ok"} {
		if !strings.Contains(string(md0), want) {
			t.Errorf("report.md of a sweep lacks %q:\n%s", want, md0)
		}
	}
	code, out, stderr = runCLI(t, "report", hosts[0], "--format", "openmetrics")
	for _, want := range []string{`vmbench_density_instance_median_bytes_per_second{platform="box",instances="2",workload="cpu"`,
		`vmbench_density_host_bytes{platform="native",instances="1",metric="mem_available_drop"}`,
		fmt.Sprintf(`vmbench_capacity_instances_per_host{platform="box"} %v`, *plan.Platforms[1].PerHost.Value),
		`vmbench_capacity_slo_pass{platform="native",instances="2"}`} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("report --format openmetrics of a sweep: exit %d, no %s\n%s\n%s", code, want, out, stderr)
		}
	}
	check := exec.Command("promtool", "check", "metrics")
	check.Stdin = strings.NewReader(out)
	if b, err := check.CombinedOutput(); err != nil || len(strings.TrimSpace(string(b))) > 0 {
		t.Errorf("promtool check metrics of a sweep: %v\n%s", err, b)
	}

	code, out, stderr = runCLI(t, append([]string{"merge", "--results", filepath.Join(dir, "fleet")}, hosts...)...)
	if code != 0 || !strings.Contains(out, "fleet run: ") {
		t.Fatalf("merge: exit %d\n%s\n%s", code, out, stderr)
	}
	fleetDir := strings.TrimSpace(out[strings.LastIndex(out, "fleet run: ")+len("fleet run: "):])
	md, _ := os.ReadFile(filepath.Join(fleetDir, "report.md"))
	if !strings.Contains(string(md), "## Fleet: 2 hosts") || !strings.Contains(string(md), "hosts differ in CPU model: Model A on host-a; Model B on host-b") {
		t.Errorf("report.md lacks the fleet section:\n%s", md)
	}
	// The fleet's capacity as a planner's program reads it: per host
	// type, and in the fleet's mix of types.
	code, out, stderr = runCLI(t, "capacity", fleetDir, "--instances", "100", "--headroom", "0%", "--spares", "0", "--json")
	var fleetPlan struct {
		Schema    string
		Fleet     bool
		HostTypes []struct {
			Name      string
			Hosts     []string
			Platforms []struct {
				capacity.PlatformDoc
				EachHost []capacity.HostCount `json:"each_host"`
			}
		} `json:"host_types"`
		Mix []capacity.Mix
	}
	if err := json.Unmarshal([]byte(out), &fleetPlan); code != 0 || err != nil || fleetPlan.Schema != capacity.Schema || !fleetPlan.Fleet || len(fleetPlan.HostTypes) != 2 || len(fleetPlan.Mix) != 2 {
		t.Fatalf("capacity --json of a fleet run: exit %d, %v\n%s\n%s", code, err, out, stderr)
	}
	for _, ht := range fleetPlan.HostTypes {
		for _, p := range ht.Platforms {
			if len(ht.Hosts) != 1 || len(p.EachHost) != 1 || p.EachHost[0].PerHost != int(*p.PerHost.Value) || p.Hosts == nil {
				t.Errorf("capacity --json of a fleet run, %s on %s: %+v", p.Name, ht.Name, p)
			}
		}
	}
	for _, m := range fleetPlan.Mix {
		if m.Refused != "" || m.Hosts < 1 || len(m.ByType) != 2 || m.ByType[fleetPlan.HostTypes[0].Name]+m.ByType[fleetPlan.HostTypes[1].Name] != m.Hosts {
			t.Errorf("capacity --json of a fleet run, the mix of %s: %+v", m.Platform, m)
		}
	}
	code, out, stderr = runCLI(t, "capacity", fleetDir, "--instances", "100", "--headroom", "0%", "--spares", "0")
	if code != 0 {
		t.Fatalf("capacity: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"2 host type(s)", "Model A, ", "Model B, ", "box, 100 instances in the fleet's mix of types (1 × Model A", "native, 100 instances in the fleet's mix"} {
		if !strings.Contains(out, want) {
			t.Errorf("capacity lacks %q:\n%s", want, out)
		}
	}
}
