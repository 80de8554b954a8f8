package runner

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/capacity"
	"github.com/vmbench/vmbench/internal/hist"
	"github.com/vmbench/vmbench/internal/report"
	"github.com/vmbench/vmbench/internal/result"
)

// A density sweep at levels 1, 2 and 4 on real processes, runc containers
// and TCG guests, one instance per guest and two per guest (per_guest: 2,
// so 1, 1 and 2 guests): every instance of every level ran and is recorded, each
// level's host memory is measured three ways, the capacity of each
// platform follows, and nothing is left behind.
//
// The packed guests have one vCPU: a two-vCPU TCG guest once hung in its
// kernel in CI (soft lockups on both vCPUs for over 100 s, QEMU's
// multi-threaded TCG on a loaded host), and this test is about packing,
// not SMP; vm_test covers a two-vCPU guest.
func TestDensitySweep(t *testing.T) {
	needGuest(t)
	s := load(t, `version: 1
name: sweep
timeout: 2m
sample_interval: 50ms
density:
  levels: [1, 2, 4]
  repetitions: 1
  slo:
    - {metric: cpu.throughput, max_loss: 10%}
platforms:
  - {name: native, type: native}
  - {name: box, type: container, network: none}
  - {name: guest, type: vm, accel: tcg, vcpus: 1, memory: 256MiB}
  - {name: packed, type: vm, accel: tcg, vcpus: 1, memory: 512MiB, per_guest: 2}
workloads:
  - {type: cpu, params: {duration: 300ms}}
`)
	dir, samples, err := run(t, context.Background(), s)
	defer consoles(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	instances := map[string]int{}
	for _, x := range samples {
		if x.Level == 0 {
			t.Errorf("a sweep wrote an ordinary sample: %+v", x)
			continue
		}
		if x.Error != "" || x.Stop != "" {
			t.Errorf("%s level %d instance %d: %s%s", x.Platform, x.Level, x.Instance, x.Error, x.Stop)
		}
		if x.Instance > 0 {
			instances[x.Platform]++
			if (x.Platform == "guest" || x.Platform == "packed") && x.Conditions["accel"] != "tcg" {
				t.Errorf("guest sample without accel=tcg: %v", x.Conditions)
			}
			if x.Platform == "packed" && x.Level > 1 && x.Conditions["per_guest"] != "2" {
				t.Errorf("packed level %d instance %d: conditions %v, want per_guest=2", x.Level, x.Instance, x.Conditions)
			}
			continue
		}
		m := map[string]float64{}
		for _, mt := range x.Metrics {
			m[mt.Name] = mt.Value
		}
		if m["instances"] != float64(x.Level) || m["pss_total"] <= 0 || m["mem_available_before"] <= 0 || m["host_busy"] <= 0 {
			t.Errorf("%s level %d: host metrics %v", x.Platform, x.Level, m)
		}
		// QEMU's own memory beyond the guest RAM mapping is measured from
		// smaps, and the guests' PSS holds at least the RAM they touched.
		// (MemAvailable's drop is recorded but not checked: the other test
		// packages' guests come and go meanwhile.)
		if (x.Platform == "guest" || x.Platform == "packed") && (m["vmm_overhead"] <= 0 || m["guest_ram_touched"] <= 0 || m["pss_total"] < m["guest_ram_touched"]) {
			t.Errorf("guest level %d: memory %v", x.Level, m)
		}
	}
	for _, p := range []string{"native", "box", "guest", "packed"} {
		if instances[p] != 1+2+4 {
			t.Errorf("%s: %d instance samples, want 7", p, instances[p])
		}
	}
	info, err := result.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	sweeps := capacity.Sweeps(info, samples)
	if len(sweeps) != 4 {
		t.Fatalf("sweeps of %d platforms, want 4", len(sweeps))
	}
	for _, sw := range sweeps {
		c := capacity.Compute(sw, s.Density.SLO, capacity.Host{Cores: info.Host.Cores, Memory: 8 << 30})
		if c.PerHost < 1 || len(c.SLO) != 3 || !c.SLO[0].Pass {
			t.Errorf("%s: capacity %+v", sw.Name, c)
		}
		t.Logf("%s: %d per host [%d, %d], binding %s, memory/instance %.0f MB, SLO %+v", sw.Name, c.PerHost, c.PerHostLo, c.PerHostHi, c.Binding, c.MemPerInstance.PerInstance/1e6, c.SLO)
	}
	if tab := report.Build(info, samples); len(tab.Density) != 4 || len(tab.Rows) != 0 {
		t.Errorf("report: %d density platforms, %d ordinary rows", len(tab.Density), len(tab.Rows))
	}
	nothingLeft(t, "runc", runID(t, dir))
}

// A sweep interrupted while its guests start or run leaves nothing behind:
// the guests started so far, their taps and temp dirs go at teardown.
func TestDensitySweepInterrupted(t *testing.T) {
	needGuest(t)
	s := load(t, `version: 1
name: interrupted
density:
  levels: [3]
  repetitions: 1
platforms:
  - {name: guest, type: vm, accel: tcg, vcpus: 1, memory: 256MiB}
workloads:
  - {type: cpu, params: {duration: 5s}}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	dir, _, err := run(t, ctx, s)
	if !errors.Is(err, ErrInterrupted) {
		t.Errorf("err %v, want interrupted", err)
	}
	info, rerr := result.ReadRun(dir)
	if rerr != nil || !info.Interrupted {
		t.Errorf("run.json: interrupted %v (%v)", info.Interrupted, rerr)
	}
	nothingLeft(t, "runc", runID(t, dir))
}

// The level's percentiles come from every event of every instance, not
// from averaging the instances' percentiles.
func TestMergedPercentiles(t *testing.T) {
	fast, slow := hist.New(), hist.New()
	for range 99 {
		fast.Record(1000) // 1 µs
	}
	slow.Record(1_000_000) // one 1 ms event in the second instance
	for range 98 {
		slow.Record(1000)
	}
	m := map[string]float64{}
	for _, x := range mergedPercentiles([]result.Sample{
		{Histograms: map[string]*hist.Hist{"latency": fast}},
		{Histograms: map[string]*hist.Hist{"latency": slow}},
	}) {
		m[x.Name] = x.Value
	}
	if len(m) != 4 || m["merged_latency_p50"] > 2e-6 || m["merged_latency_p99_9"] < 0.5e-3 {
		t.Errorf("merged percentiles %v", m)
	}
}

// A sweep's time left weighs its steps by their instances: after level 1
// (weight 2 of 2+3+5 = 10) took 20 s, levels 2 and 4 should take 80 s
// more; a platform a guard stopped takes its steps off the plan.
func TestSweepClock(t *testing.T) {
	began := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	c := sweepClock{planned: 10, began: began}
	if got := c.text(began.Add(time.Minute)); got != "" {
		t.Errorf("before any step: %q", got)
	}
	c.done = 2
	if got := c.text(began.Add(20 * time.Second)); got != ", about 1m20s left" {
		t.Errorf("after level 1: %q", got)
	}
	c.planned -= 5 // level 4 stopped by a guard
	if got := c.text(began.Add(20 * time.Second)); got != ", about 30s left" {
		t.Errorf("after level 1, level 4 stopped: %q", got)
	}
	c.done = 5
	if got := c.text(began.Add(time.Minute)); got != "" {
		t.Errorf("when done: %q", got)
	}
}
