package capacity

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/workload"
)

// synthetic builds a platform whose instances each get perInstance(n) of
// throughput, whose host memory grows by memPer per instance over a base,
// and whose host is busy busy(n) cores; rounds wobble by ±1%.
func synthetic(levels []int, perInstance func(n int) float64, base, memPer float64, busy func(n int) float64) Platform {
	p := Platform{Name: "p", Type: "container"}
	for _, n := range levels {
		l := Level{N: n}
		for r, wobble := range []float64{0.99, 1.0, 1.01} {
			rd := Round{Inst: map[Cell][]float64{}, Host: map[string]float64{
				"mem_available_drop": (base + memPer*float64(n)) * wobble,
				"pss_total":          memPer * float64(n) * 0.9,
				"host_busy":          busy(n),
			}}
			c := Cell{"cpu", "threads=1", "throughput", "B/s", ""}
			for k := range n {
				rd.Inst[c] = append(rd.Inst[c], perInstance(n)*(1+0.001*float64(k+r)))
			}
			l.Rounds = append(l.Rounds, rd)
		}
		p.Levels = append(p.Levels, l)
	}
	return p
}

func loss(bound float64) scenario.Gate {
	return scenario.Gate{Name: "cpu.throughput loss", Kind: scenario.Loss, Workload: "cpu", Metric: "throughput", Bound: bound}
}

func TestSLOBinds(t *testing.T) {
	// Two cores: two instances run at full speed, four share them.
	p := synthetic([]int{1, 2, 4, 8}, func(n int) float64 { return 100 * math.Min(1, 2/float64(n)) }, 50e6, 100e6,
		func(n int) float64 { return math.Min(float64(n), 2) * 0.98 })
	r := Compute(p, []scenario.Gate{loss(0.10)}, Host{Cores: 2, Memory: 10e9})
	if r.PerHost != 2 || r.Binding != LimitSLO || r.Extrapolated {
		t.Errorf("per host %d (%s), want 2 bound by the SLO", r.PerHost, r.Binding)
	}
	if len(r.SLO) != 4 || !r.SLO[1].Pass || r.SLO[2].Pass {
		t.Errorf("SLO verdicts %+v", r.SLO)
	}
	if math.Abs(r.MemPerInstance.PerInstance-100e6) > 1e6 || !(r.MemPerInstance.Lo <= 100e6 && r.MemPerInstance.Hi >= 99e6) {
		t.Errorf("memory per instance %+v, want 100 MB", r.MemPerInstance)
	}
	if r.PerHostLo > r.PerHost || r.PerHostHi < r.PerHost {
		t.Errorf("interval [%d, %d] misses %d", r.PerHostLo, r.PerHostHi, r.PerHost)
	}
	// Re-projected onto 64 cores: saturation is still judged against the
	// 2 cores the sweep ran on, so the CPU per instance stays 0.98.
	if big := Compute(p, []scenario.Gate{loss(0.10)}, Host{Cores: 64, Measured: 2, Memory: 10e9}); math.Abs(big.CPUPerInstance.PerInstance-0.98) > 1e-9 {
		t.Errorf("re-projected CPU per instance %+v", big.CPUPerInstance)
	}
	// 500 instances, 25% headroom: 1 usable per host (⌊2·0.75⌋), 1 spare.
	if f := r.Plan(500, 0.25, 1); f.Hosts != 501 || f.UsablePerHost != 1 {
		t.Errorf("fleet %+v", f)
	}
}

// A model that says fewer than a level that ran within the SLO is wrong
// there: measured levels win, models only extrapolate.
func TestMeasuredLevelsBeatModels(t *testing.T) {
	p := synthetic([]int{1, 2, 4}, func(n int) float64 { return 100 * math.Min(1, 2/float64(n)) }, 0, 1e6,
		func(n int) float64 { return math.Min(1.05*float64(n), 2) })
	r := Compute(p, []scenario.Gate{loss(0.10)}, Host{Cores: 2, Memory: 1e12})
	if r.PerHost != 2 || r.Binding != LimitSLO {
		t.Errorf("per host %d (%s), want 2: two instances ran within the SLO though 1.05 cores each would not fit 2", r.PerHost, r.Binding)
	}
}

// A saturated level whose round dips below the threshold is not evidence
// of a shallow slope.
func TestCPUFitStopsAtSaturation(t *testing.T) {
	p := synthetic([]int{1, 2, 4, 8}, func(n int) float64 { return 100 * math.Min(1, 2/float64(n)) }, 0, 1e6,
		func(n int) float64 { return math.Min(float64(n), 2) })
	p.Levels[3].Rounds[0].Host["host_busy"] = 1.7 // a dip at level 8
	r := Compute(p, nil, Host{Cores: 2, Memory: 1e12})
	if math.Abs(r.CPUPerInstance.PerInstance-1) > 1e-9 {
		t.Errorf("cpu per instance %+v, want 1 core (from level 1 alone)", r.CPUPerInstance)
	}
}

func TestMemoryBinds(t *testing.T) {
	// Idle-ish instances: the SLO always holds; 1 GB of host memory and
	// 100 MB per instance over a 50 MB base: ⌊(1000−50)/100⌋ = 9.
	p := synthetic([]int{1, 2, 4}, func(int) float64 { return 100 }, 50e6, 100e6, func(n int) float64 { return 0.05 * float64(n) })
	r := Compute(p, []scenario.Gate{loss(0.10)}, Host{Cores: 2, Memory: 1e9})
	if r.PerHost != 9 || r.Binding != LimitMemory || !r.Extrapolated {
		t.Errorf("per host %d (%s, extrapolated %v), want 9 bound by memory", r.PerHost, r.Binding, r.Extrapolated)
	}
	// CPU: 0.05 cores each, 40 would fit on 2 cores.
	if math.Abs(r.CPUPerInstance.PerInstance-0.05) > 1e-9 {
		t.Errorf("cpu per instance %+v", r.CPUPerInstance)
	}
	if f := r.Plan(500, 0.25, 1); f.UsablePerHost != 6 || f.Hosts != 84+1 {
		t.Errorf("fleet %+v, want ⌈500/6⌉+1 = 85", f)
	}
}

func TestGuardStops(t *testing.T) {
	p := synthetic([]int{1, 2, 4}, func(int) float64 { return 100 }, 0, 1e6, func(int) float64 { return 0.1 })
	p.Levels[2].Stop = "MemAvailable fell to 400 MiB, below the guard's 512 MiB"
	r := Compute(p, nil, Host{Cores: 2, Memory: 1e12})
	if r.PerHost != 2 || r.Binding != LimitGuard || r.Stop == "" {
		t.Errorf("per host %d (%s) stop %q, want 2 bound by the guard", r.PerHost, r.Binding, r.Stop)
	}
}

func TestNothingBinds(t *testing.T) {
	p := synthetic([]int{1, 2}, func(int) float64 { return 100 }, 0, 0, func(int) float64 { return 0 })
	r := Compute(p, nil, Host{Cores: 2, Memory: 1e9})
	if r.PerHost != 2 || r.Binding != LimitNone {
		t.Errorf("per host %d (%s), want the top level, none reached", r.PerHost, r.Binding)
	}
}

func TestAbsoluteSLO(t *testing.T) {
	p := synthetic([]int{1, 2, 4, 8}, func(n int) float64 { return 100 / float64(n) }, 0, 1e6, func(int) float64 { return 0.1 })
	min40 := scenario.Gate{Name: "cpu.throughput median ≥ 40", Kind: scenario.Absolute, Workload: "cpu", Metric: "throughput", Bound: 40}
	r := Compute(p, []scenario.Gate{min40}, Host{Cores: 64, Memory: 1e12})
	if r.PerHost != 2 || r.Binding != LimitSLO || r.SLO[2].Reason == "" {
		t.Errorf("per host %d (%s), verdicts %+v", r.PerHost, r.Binding, r.SLO)
	}
}

func TestHosts(t *testing.T) {
	for _, c := range []struct{ n, k, spares, want int }{{500, 16, 1, 43}, {500, 1, 0, -1}, {10, 10, 0, 2}} {
		if got := Hosts(c.n, c.k, 0.25, c.spares); got != c.want {
			t.Errorf("Hosts(%d, %d, 25%%, %d) = %d, want %d", c.n, c.k, c.spares, got, c.want)
		}
	}
}

// TestNegativeCostIsNotAResult: instances cannot free memory; a sweep
// during which other load released more than they took measures a
// negative cost, which is a warning, not a figure, and no limit.
func TestNegativeCostIsNotAResult(t *testing.T) {
	p := synthetic([]int{1, 2, 4}, func(int) float64 { return 100 }, 50e6, -10e6, func(n int) float64 { return 0.05 * float64(n) })
	r := Compute(p, []scenario.Gate{loss(0.10)}, Host{Cores: 2, Memory: 1e9})
	if r.MemPerInstance.PerInstance >= 0 || r.Binding == LimitMemory || len(r.Warnings) != 2 ||
		!strings.Contains(r.Warnings[0], "p: memory (MemAvailable drop) per instance measured -10") || !strings.Contains(r.Warnings[0], "the memory limit is not judged") {
		t.Errorf("memory per instance %+v, binding %s, warnings %q", r.MemPerInstance, r.Binding, r.Warnings)
	}
}

// On a host with other load (0.6 cores of another tenant), CPU per
// instance is the instances' own CPU, not the whole host's, and the
// result warns that the host was shared; on a quiet host it does not.
func TestForeignLoad(t *testing.T) {
	own := func(n int) float64 { return 0.1 * float64(n) }
	p := synthetic([]int{1, 2, 4}, func(int) float64 { return 100 }, 0, 1e6, func(n int) float64 { return 0.6 + own(n) })
	for i, l := range p.Levels {
		for j := range l.Rounds {
			p.Levels[i].Rounds[j].Host["instances_cpu"] = own(l.N)
			p.Levels[i].Rounds[j].Host["foreign_cpu"] = 0.6
		}
	}
	r := Compute(p, nil, Host{Cores: 2, Memory: 1e12})
	if math.Abs(r.CPUPerInstance.PerInstance-0.1) > 1e-9 {
		t.Errorf("cpu per instance %+v, want the instances' own 0.1 cores", r.CPUPerInstance)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "other load on the host used 0.60 cores beside the instances") {
		t.Errorf("warnings %q, want one of other load", r.Warnings)
	}
	for i, l := range p.Levels {
		for j := range l.Rounds {
			p.Levels[i].Rounds[j].Host["foreign_cpu"] = 0.05
		}
	}
	if r := Compute(p, nil, Host{Cores: 2, Memory: 1e12}); len(r.Warnings) != 0 {
		t.Errorf("a quiet host: warnings %q", r.Warnings)
	}
}

// A level whose instances are exactly at the SLO's bound must not be
// claimed within it more often than the interval's one side allows
// (2.5%), whatever the round effects (every instance of a round shares its
// host's state) and the rounds per level. The instances taken as
// independent, as before, claimed it far more often. docs/capacity.md has
// the table.
func TestSLOClaimsHoldTheirLevel(t *testing.T) {
	const sweeps, instances = 4000, 8
	r := rand.New(rand.NewPCG(5, 25))
	c := Cell{"redis", "", "p99", "s", ""}
	maxLatency := scenario.Gate{Name: "redis.p99 ≤ 1ms", Kind: scenario.Absolute, Workload: "redis", Metric: "p99", Bound: 1e-3, Upper: true}
	maxLoss := scenario.Gate{Name: "loss ≤ 10%", Kind: scenario.Loss, Workload: "redis", Metric: "p99", Bound: 0.10}
	level := func(rounds int, center, roundNoise float64) Level {
		l := Level{N: instances}
		for range rounds {
			rd := Round{Inst: map[Cell][]float64{}}
			effect := roundNoise * r.NormFloat64()
			for range instances {
				rd.Inst[c] = append(rd.Inst[c], center*math.Exp(effect+0.02*r.NormFloat64()))
			}
			l.Rounds = append(l.Rounds, rd)
		}
		return l
	}
	for _, roundNoise := range []float64{0.02, 0.03} {
		for _, rounds := range []int{2, 3, 5} {
			var claimed, lossClaimed, pooled int
			for range sweeps {
				at := level(rounds, 1e-3, roundNoise)
				if judge(at, at, []scenario.Gate{maxLatency}).Pass {
					claimed++
				}
				if s := stats.Summarize(collectCell(at, c)); s.Hi <= 1e-3 {
					pooled++
				}
				first := level(rounds, 0.9e-3, roundNoise)
				at = level(rounds, 0.99e-3, roundNoise) // +10% exactly
				if judge(at, first, []scenario.Gate{maxLoss}).Pass {
					lossClaimed++
				}
			}
			rate := func(n int) float64 { return 100 * float64(n) / sweeps }
			t.Logf("round effects %.0f%%, %d rounds: a level at the bound claimed within it in %.1f%% of sweeps (instances pooled: %.1f%%); at the loss bound: %.1f%%",
				100*roundNoise, rounds, rate(claimed), rate(pooled), rate(lossClaimed))
			if rate(claimed) > 3.5 || rate(lossClaimed) > 3.5 {
				t.Errorf("round effects %.0f%%, %d rounds: claimed %.1f%% and %.1f%% (loss), want ≤ 2.5%%", 100*roundNoise, rounds, rate(claimed), rate(lossClaimed))
			}
		}
	}
}

// How often the per-host interval holds the true instances per host, where
// memory binds: each round's MemAvailable drop is base + c·n with a round
// effect on the whole round (the page cache, other tenants) and noise per
// level, and the host holds ⌊(M − base)/c⌋ = 10 instances, above the
// highest level measured (8). Prints the coverage by rounds per level;
// asserts only that more rounds do not cover less and that it reaches the
// 95% the interval claims at 5 rounds. The figures are in docs/capacity.md.
func TestPerHostIntervalCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("a simulation")
	}
	const sweeps, base, c = 400, 50e6, 100e6
	host := Host{Cores: 64, Memory: base + 10.5*c}
	r := rand.New(rand.NewPCG(30, 4))
	coverage := map[int]float64{}
	for _, rounds := range []int{2, 3, 5} {
		covered := 0
		for range sweeps {
			p := Platform{Name: "x", HostUnits: map[string]string{workload.LevelMemDrop: "B"}}
			for _, n := range []int{1, 2, 4, 8} {
				l := Level{N: n}
				for range rounds {
					effect := 0.05 * r.NormFloat64()
					drop := (base + c*float64(n)) * (1 + effect + 0.02*r.NormFloat64())
					l.Rounds = append(l.Rounds, Round{Inst: map[Cell][]float64{}, Host: map[string]float64{workload.LevelMemDrop: drop}})
				}
				p.Levels = append(p.Levels, l)
			}
			res := Compute(p, nil, host)
			if res.PerHostLo <= 10 && 10 <= res.PerHostHi {
				covered++
			}
		}
		coverage[rounds] = float64(covered) / sweeps
		t.Logf("%d rounds per level: the per-host interval holds the true 10 in %.1f%% of %d sweeps", rounds, 100*coverage[rounds], sweeps)
	}
	if coverage[3] < coverage[2]-0.05 || coverage[5] < coverage[3]-0.05 || coverage[5] < 0.93 {
		t.Errorf("coverage by rounds %v: want it to grow with rounds and reach 95%% at 5", coverage)
	}
	// Where the SLO binds: the per-instance cost is +3% at 4 instances
	// (within a 10% loss) and +40% at 8, so 4 fit. The SLO is claimed at
	// its interval's worst end, so a miss is a k below 4, never above.
	c1 := Cell{"cpu", "", "throughput", "B/s", ""}
	loss := scenario.Gate{Name: "loss ≤ 10%", Kind: scenario.Loss, Workload: "cpu", Metric: "throughput", Bound: 0.10}
	const sloSweeps = 100 // each SLO judgement is a bootstrap of its own: slower
	for _, rounds := range []int{2, 3, 5} {
		covered, above := 0, 0
		for range sloSweeps {
			p := Platform{Name: "x"}
			for _, lv := range []struct {
				n    int
				cost float64
			}{{1, 0}, {2, 0}, {4, 0.03}, {8, 0.40}} {
				l := Level{N: lv.n}
				for range rounds {
					effect := 0.02 * r.NormFloat64()
					rd := Round{Inst: map[Cell][]float64{}, Host: map[string]float64{}}
					for range lv.n {
						rd.Inst[c1] = append(rd.Inst[c1], 1e9/(1+lv.cost)*math.Exp(effect+0.02*r.NormFloat64()))
					}
					l.Rounds = append(l.Rounds, rd)
				}
				p.Levels = append(p.Levels, l)
			}
			res := Compute(p, []scenario.Gate{loss}, Host{Cores: 64, Memory: 1e12})
			if res.PerHostLo <= 4 && 4 <= res.PerHostHi {
				covered++
			}
			if res.PerHostLo > 4 {
				above++
			}
		}
		t.Logf("SLO binding, %d rounds per level: the interval holds the true 4 in %.1f%%, lies above it in %.1f%% of %d sweeps", rounds, 100*float64(covered)/sloSweeps, 100*float64(above)/sloSweeps, sloSweeps)
		if above > sloSweeps/20 {
			t.Errorf("SLO binding, %d rounds: the per-host interval lay above the true 4 in %d of %d sweeps", rounds, above, sloSweeps)
		}
	}
}
