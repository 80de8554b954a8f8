// Package capacity is the planning stage of the pipeline: from a stored
// density sweep (samples with a level) it computes, per platform, how many
// instances fit on one host at the scenario's SLO, which limit binds (the
// SLO, memory, CPU, a guard), and how many hosts a fleet of N instances
// needs — each with a bootstrap interval over the sweep's rounds. It reads
// samples and writes numbers; nothing here runs anything.
package capacity

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
)

// Cell is one workload variant's metric.
// Better is the metric's own say on which way is better (result.Higher).
type Cell struct{ Workload, Label, Metric, Unit, Better string }

// Round is what one round of one level measured on a platform.
type Round struct {
	Inst map[Cell][]float64 // each instance's value of each cell
	Host map[string]float64 // the level's host metrics, the largest over the variants
}

// Level is one density level of a platform.
type Level struct {
	N      int
	Rounds []Round
	Stop   string // a guard stopped the sweep here
}

// HostMedian is the median over the level's rounds of a host metric;
// false when no round has it.
func (l Level) HostMedian(metric string) (float64, bool) {
	m := medianOf(l.HostValues(metric))
	return m, !math.IsNaN(m)
}

// HostValues are a host metric's values over the level's rounds.
func (l Level) HostValues(metric string) []float64 {
	var v []float64
	for _, r := range l.Rounds {
		if x, ok := r.Host[metric]; ok {
			v = append(v, x)
		}
	}
	return v
}

// Platform is a platform's sweep.
type Platform struct {
	Name, Type, Accel string
	Levels            []Level // rising
	// HostUnits are the units of the levels' host metrics, by name.
	HostUnits map[string]string
}

// Sweeps groups a run's density samples by platform and level.
func Sweeps(info result.RunInfo, samples []result.Sample) []Platform {
	var out []Platform
	at := map[string]int{}
	for _, p := range info.Platforms {
		at[p.Name] = len(out)
		out = append(out, Platform{Name: p.Name, Type: p.Type, Accel: p.Info["accel"], HostUnits: map[string]string{}})
	}
	level := func(p *Platform, n int) *Level {
		for i := range p.Levels {
			if p.Levels[i].N == n {
				return &p.Levels[i]
			}
		}
		p.Levels = append(p.Levels, Level{N: n})
		return &p.Levels[len(p.Levels)-1]
	}
	round := func(l *Level, r int) *Round {
		for len(l.Rounds) <= r {
			l.Rounds = append(l.Rounds, Round{Inst: map[Cell][]float64{}, Host: map[string]float64{}})
		}
		return &l.Rounds[r]
	}
	for _, s := range samples {
		i, ok := at[s.Platform]
		if !ok || !analysis.Swept(s) {
			continue
		}
		l := level(&out[i], s.Level)
		if s.Stop != "" {
			l.Stop = s.Stop
		}
		if s.Error != "" || len(s.Metrics) == 0 {
			continue
		}
		r := round(l, s.Trial)
		for _, m := range s.Metrics {
			if s.Instance == 0 {
				r.Host[m.Name] = math.Max(r.Host[m.Name], m.Value)
				out[i].HostUnits[m.Name] = m.Unit
				continue
			}
			c := Cell{s.Workload, s.Label, m.Name, m.Unit, m.Better}
			r.Inst[c] = append(r.Inst[c], m.Value)
		}
	}
	for i := range out {
		slices.SortFunc(out[i].Levels, func(a, b Level) int { return a.N - b.N })
	}
	return slices.DeleteFunc(out, func(p Platform) bool { return len(p.Levels) == 0 })
}

// Host is the machine capacity is computed for.
type Host struct {
	Cores int
	// Measured is the logical CPUs of the host the sweep ran on, which
	// tells saturated levels apart; 0: Cores.
	Measured int
	// Memory is what instances may use: MemAvailable before the sweep
	// minus the guard's floor.
	Memory float64
}

// HostOf is the run's host: its logical CPUs, and MemAvailable before the
// sweep's first level minus the guard's floor.
func HostOf(info result.RunInfo, sweeps []Platform, floor int64) Host {
	var v []float64
	for _, p := range sweeps {
		v = append(v, p.Levels[0].HostValues(workload.LevelMemBefore)...)
	}
	h := Host{Cores: info.Host.Cores, Measured: info.Host.Cores}
	if m := medianOf(v); !math.IsNaN(m) {
		h.Memory = m - float64(floor)
	}
	return h
}

// Plan is a density sweep's whole answer: the host it ran on, and each
// platform's capacity there at the scenario's SLO.
type Plan struct {
	Host    Host
	Results []Result
}

// PlanRun is the one way from a stored density sweep to its capacity, as
// vmbench capacity, the gates and the report read it: the sweeps, the host
// (MemAvailable less the scenario's guard) and each platform's result. A
// run with no density samples, or a scenario with no density block, plans
// nothing (no results).
func PlanRun(s *scenario.Scenario, info result.RunInfo, samples []result.Sample) Plan {
	if s == nil || s.Density == nil {
		return Plan{}
	}
	sweeps := Sweeps(info, samples)
	if len(sweeps) == 0 {
		return Plan{}
	}
	return PlanOn(s, sweeps, HostOf(info, sweeps, s.Density.Guards.MemAvailable))
}

// PlanOn is the capacity of the sweeps on a given host (vmbench capacity
// re-projects onto another host size this way).
func PlanOn(s *scenario.Scenario, sweeps []Platform, host Host) Plan {
	out := Plan{Host: host}
	for _, p := range sweeps {
		out.Results = append(out.Results, Compute(p, s.Density.SLO, host))
	}
	return out
}

// Limit names what binds a platform's density.
type Limit string

const (
	LimitSLO    Limit = "SLO"
	LimitMemory Limit = "memory"
	LimitCPU    Limit = "CPU"
	LimitGuard  Limit = "guard"
	// LimitNone: nothing bound within the levels measured, and no
	// resource model extrapolates beyond them.
	LimitNone Limit = "none reached"
)

// Verdict is the SLO at one level.
type Verdict struct {
	N      int
	Pass   bool
	Reason string // the first SLO that failed, with its numbers
}

// Result is a platform's capacity on a host.
type Result struct {
	Platform Platform
	// PerHost is the instances that fit, with its bootstrap interval.
	PerHost        int
	PerHostLo      int
	PerHostHi      int
	Binding        Limit
	Extrapolated   bool // beyond the highest level measured: from the resource models
	SLO            []Verdict
	MemPerInstance Fit // MemAvailable drop over instances
	PSSPerInstance Fit
	VMMPerInstance float64 // QEMU beyond its guest, per guest; NaN when none
	CPUPerInstance Fit     // host cores busy over instances
	Stop           string
	// Warnings say what the sweep could not measure: a per-instance cost
	// that came out negative (other load on the host moved the host's
	// figures more than the instances did), whose limit is then not judged.
	Warnings []string
}

// Fit is a line over the levels: y = Base + PerInstance·n, with the
// bootstrap interval of the slope.
type Fit struct {
	PerInstance, Lo, Hi, Base float64
}

// Resamples is the number of bootstrap resamples behind each interval.
const Resamples = 1000

// Compute judges a platform's sweep against the SLO and the host.
func Compute(p Platform, slo []scenario.Gate, host Host) Result {
	res := Result{Platform: p, VMMPerInstance: math.NaN()}
	point := compute(p, slo, host)
	res.PerHost, res.Binding, res.Extrapolated, res.SLO, res.Stop = point.k, point.binding, point.extrapolated, point.verdicts, point.stop
	res.MemPerInstance, res.PSSPerInstance, res.CPUPerInstance = point.mem, point.pss, point.cpu
	if v := perInstance(p, workload.LevelVMMOverhead); !math.IsNaN(v) {
		res.VMMPerInstance = v
	}
	// Bootstrap: resample each level's rounds.
	r := rand.New(rand.NewPCG(uint64(len(p.Levels)), 7))
	var ks, mems, psss, cpus []float64
	for range Resamples {
		q := p
		q.Levels = make([]Level, len(p.Levels))
		for i, l := range p.Levels {
			q.Levels[i] = Level{N: l.N, Stop: l.Stop, Rounds: make([]Round, len(l.Rounds))}
			for j := range l.Rounds {
				q.Levels[i].Rounds[j] = l.Rounds[r.IntN(len(l.Rounds))]
			}
		}
		b := compute(q, slo, host)
		ks = append(ks, float64(b.k))
		mems, psss, cpus = append(mems, b.mem.PerInstance), append(psss, b.pss.PerInstance), append(cpus, b.cpu.PerInstance)
	}
	lo, hi := percentiles(ks)
	res.PerHostLo, res.PerHostHi = int(lo), int(hi)
	res.MemPerInstance.Lo, res.MemPerInstance.Hi = percentiles(mems)
	res.PSSPerInstance.Lo, res.PSSPerInstance.Hi = percentiles(psss)
	res.CPUPerInstance.Lo, res.CPUPerInstance.Hi = percentiles(cpus)
	res.Warnings = negativeCosts(p.Name, []namedFit{
		{"memory (MemAvailable drop)", "B", res.MemPerInstance, "the memory limit is not judged"},
		{"PSS", "B", res.PSSPerInstance, ""},
		{"CPU", "cores", res.CPUPerInstance, "the CPU limit is not judged"},
	})
	if w := foreignLoad(p, host); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	return res
}

// ForeignLoad is the other load on the host, in cores, above which a
// sweep's level is said to have shared its host: vmbench's own process
// and the kernel's work come to a few hundredths of a core.
const ForeignLoad = 0.25

// foreignLoad warns when other load on the host, beyond the instances'
// own CPU, went above ForeignLoad cores (or a tenth of the host's) at some
// level: MemAvailable's drop and the SLO's figures then carry it.
func foreignLoad(p Platform, host Host) string {
	limit := max(ForeignLoad, 0.1*float64(cmp.Or(host.Measured, host.Cores)))
	worst, at := 0.0, 0
	for _, l := range p.Levels {
		if v, ok := l.HostMedian(workload.LevelForeignCPU); ok && v > worst {
			worst, at = v, l.N
		}
	}
	if worst <= limit {
		return ""
	}
	return fmt.Sprintf("%s: other load on the host used %.2f cores beside the instances at level %d (median over its rounds; more than %.2f): the memory drop and the SLO's figures carry it, the CPU per instance does not (it is the instances' own); run the sweep on a quiet host", p.Name, worst, at, limit)
}

type namedFit struct {
	what, unit  string
	fit         Fit
	consequence string
}

// negativeCosts warns of each per-instance cost that came out below zero:
// instances cannot free memory or CPU, so other load on the host moved the
// host's figures during the sweep more than the instances did.
func negativeCosts(platform string, fits []namedFit) []string {
	var out []string
	for _, f := range fits {
		if !(f.fit.PerInstance < 0) {
			continue
		}
		msg := fmt.Sprintf("%s: %s per instance measured %s, below zero: other load on the host changed it during the sweep more than the instances did; run the sweep on a quiet host", platform, f.what, units.Format(f.fit.PerInstance, f.unit))
		if f.consequence != "" {
			msg += "; " + f.consequence
		}
		out = append(out, msg)
	}
	return out
}

type point struct {
	k             int
	binding       Limit
	extrapolated  bool
	verdicts      []Verdict
	mem, pss, cpu Fit
	stop          string
}

func compute(p Platform, slo []scenario.Gate, host Host) point {
	var out point
	first := p.Levels[0]
	kSLO, failed := math.MaxInt, false
	for _, l := range p.Levels {
		if len(l.Rounds) == 0 {
			continue
		}
		v := judge(l, first, slo)
		out.verdicts = append(out.verdicts, v)
		if !v.Pass && !failed {
			failed = true
			kSLO = prevLevel(p, l.N)
		}
	}
	kGuard := math.MaxInt
	for _, l := range p.Levels {
		if l.Stop != "" {
			kGuard, out.stop = prevLevel(p, l.N), l.Stop
			break
		}
	}
	out.mem = fit(p, workload.LevelMemDrop)
	out.pss = fit(p, workload.LevelPSSTotal)
	measured := host.Measured
	if measured == 0 {
		measured = host.Cores
	}
	out.cpu = cpuFit(p, measured)
	// The resource models extrapolate: a level that ran within the SLO
	// and passed the guards fit, whatever a model says.
	fitted := 0
	for i, v := range out.verdicts {
		if !v.Pass || v.N > kGuard {
			break
		}
		fitted = out.verdicts[i].N
	}
	kMem := math.MaxInt
	if out.mem.PerInstance > 0 && host.Memory > 0 {
		kMem = max(fitted, int(math.Floor((host.Memory-math.Max(out.mem.Base, 0))/out.mem.PerInstance)))
	}
	kCPU := math.MaxInt
	if out.cpu.PerInstance > 0 && host.Cores > 0 {
		kCPU = max(fitted, int(math.Floor(float64(host.Cores)/out.cpu.PerInstance)))
	}
	out.k, out.binding = kSLO, LimitSLO
	for _, c := range []struct {
		k int
		l Limit
	}{{kGuard, LimitGuard}, {kMem, LimitMemory}, {kCPU, LimitCPU}} {
		if c.k < out.k {
			out.k, out.binding = c.k, c.l
		}
	}
	top := p.Levels[len(p.Levels)-1].N
	if out.k == math.MaxInt {
		out.k, out.binding = top, LimitNone
	}
	out.k = max(out.k, 0)
	out.extrapolated = out.k > top
	return out
}

// prevLevel is the level measured before n (0 before the first).
func prevLevel(p Platform, n int) int {
	prev := 0
	for _, l := range p.Levels {
		if l.N >= n {
			break
		}
		prev = l.N
	}
	return prev
}

// judge checks every SLO at a level, on the interval bound that matters:
// a max must hold at the interval's top, a min at its bottom, a loss at its
// worst. The level's rounds are the units of evidence, not its instances:
// the instances of one round share the host's state then (its other load,
// its caches, its clock), so each round's figure is the median of its
// instances', and the interval is Student's t over the rounds' figures
// (on a log scale), a loss paired round by round with the first level's.
// Treating the instances as independent claimed levels that broke the SLO
// in 8.5–13.5% of simulated sweeps with 2–3% round effects (intended:
// 2.5%). A level of one round is judged on its figure alone, without an interval.
func judge(l, first Level, slo []scenario.Gate) Verdict {
	v := Verdict{N: l.N, Pass: true}
	for _, g := range slo {
		for _, c := range cellsOf(l, g) {
			rounds := roundFigures(l, c)
			if len(rounds) == 0 {
				continue
			}
			higher := result.Higher(c.Unit, c.Better)
			if len(rounds) < MinSLORounds {
				// One round: no interval; judged on its figure, as a
				// quick sweep asks (density.repetitions: 1).
				x := rounds[0]
				switch {
				case g.Kind == scenario.Absolute && (g.Upper && x > g.Bound || !g.Upper && x < g.Bound):
					return Verdict{N: l.N, Reason: fmt.Sprintf("%s: median %.4g in its one round (no interval) breaks %s", g.Name, x, boundText(g))}
				case g.Kind == scenario.Loss:
					if base := roundFigures(first, c); len(base) > 0 {
						if loss := cost(base[0], x, higher); loss > g.Bound {
							return Verdict{N: l.N, Reason: fmt.Sprintf("%s: per instance %+.1f%% cost vs the first level in one round (no interval), beyond %.0f%%", g.Name, 100*loss, 100*g.Bound)}
						}
					}
				}
				continue
			}
			switch g.Kind {
			case scenario.Absolute:
				logs := make([]float64, 0, len(rounds))
				for _, r := range rounds {
					if r <= 0 {
						return Verdict{N: l.N, Reason: fmt.Sprintf("%s: a round's median is %.4g, not a positive figure", g.Name, r)}
					}
					logs = append(logs, math.Log(r))
				}
				m, lo, hi := stats.TInterval(logs, 0.95)
				worst := math.Exp(lo)
				if g.Upper {
					worst = math.Exp(hi)
				}
				if (g.Upper && worst > g.Bound) || (!g.Upper && worst < g.Bound) {
					return Verdict{N: l.N, Reason: fmt.Sprintf("%s: median %.4g over %d rounds, interval bound %.4g breaks %s", g.Name, math.Exp(m), len(rounds), worst, boundText(g))}
				}
			case scenario.Loss:
				// Each round's cost against the first level's same round
				// (its median over the first level's rounds where that
				// round is missing).
				base := roundFigures(first, c)
				all := medianOf(slices.Clone(base))
				var logs []float64
				for i, x := range rounds {
					b := all
					if i < len(base) {
						b = base[i]
					}
					if c := cost(b, x, higher); c > -1 {
						logs = append(logs, math.Log1p(c))
					}
				}
				if len(logs) < MinSLORounds {
					return Verdict{N: l.N, Reason: fmt.Sprintf("%s: %d round(s) with a cost against the first level: too few", g.Name, len(logs))}
				}
				m, _, hi := stats.TInterval(logs, 0.95)
				if worst := math.Expm1(hi); worst > g.Bound {
					return Verdict{N: l.N, Reason: fmt.Sprintf("%s: per instance %s cost vs the first level over %d rounds (up to %s), beyond %.0f%%", g.Name, units.Overhead(math.Expm1(m)), len(logs), units.Overhead(worst), 100*g.Bound)}
				}
			}
		}
	}
	return v
}

// MinSLORounds is the fewest rounds of a level that give an SLO an
// interval (Student's t needs two); a level of one round is judged on its
// figure alone.
const MinSLORounds = 2

// roundFigures are a cell's figure in each round of a level: the median of
// its instances'.
func roundFigures(l Level, c Cell) []float64 {
	var out []float64
	for _, r := range l.Rounds {
		if v := r.Inst[c]; len(v) > 0 {
			out = append(out, medianOf(slices.Clone(v)))
		}
	}
	return out
}

// cost is the extra cost per unit of work of x over base.
func cost(base, x float64, higher bool) float64 {
	if higher {
		return base/x - 1
	}
	return x/base - 1
}

func boundText(g scenario.Gate) string {
	if g.Upper {
		return fmt.Sprintf("≤ %.4g", g.Bound)
	}
	return fmt.Sprintf("≥ %.4g", g.Bound)
}

// cellsOf lists the cells of a level an SLO applies to.
func cellsOf(l Level, g scenario.Gate) []Cell {
	var out []Cell
	for _, r := range l.Rounds {
		for c := range r.Inst {
			if c.Workload == g.Workload && c.Metric == g.Metric && matches(c.Label, g) && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, func(a, b Cell) int { return cmp.Compare(a.Label, b.Label) })
	return out
}

// matches reports whether a variant label carries the gate's where values.
func matches(label string, g scenario.Gate) bool {
	for k, v := range g.Where {
		if !slices.Contains(splitLabel(label), k+"="+v) {
			return false
		}
	}
	return true
}

func splitLabel(label string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(label); i++ {
		if i == len(label) || label[i] == ' ' {
			if i > start {
				out = append(out, label[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// fit is the least-squares line of a host metric over the instances of
// every round of every level.
func fit(p Platform, metric string) Fit {
	var xs, ys []float64
	for _, l := range p.Levels {
		for _, v := range l.HostValues(metric) {
			xs, ys = append(xs, float64(l.N)), append(ys, v)
		}
	}
	slope, base := line(xs, ys)
	return Fit{PerInstance: slope, Base: base, Lo: math.NaN(), Hi: math.NaN()}
}

// cpuFit is host cores busy per instance, from the levels before the host
// saturates (a saturated host shows the cores it has, not what more
// instances would need: a round of a later level that dips below is not
// evidence); through the origin when only the first level is unsaturated.
func cpuFit(p Platform, cores int) Fit {
	var xs, ys []float64
	// The instances' own CPU where the sweep measured it, so that other
	// load on the host is not counted as theirs; the whole host's in runs
	// from before it did.
	metric := workload.LevelHostBusy
	if _, ok := p.Levels[0].HostMedian(workload.LevelInstancesCPU); ok {
		metric = workload.LevelInstancesCPU
	}
	for _, l := range p.Levels {
		median, ok := l.HostMedian(workload.LevelHostBusy) // saturation is the whole host's
		if !ok {
			continue
		}
		saturated := median >= 0.9*float64(cores)
		if saturated && len(xs) > 0 {
			break
		}
		for _, v := range l.HostValues(metric) {
			xs, ys = append(xs, float64(l.N)), append(ys, v)
		}
		if saturated {
			break // the first level saturates already: through the origin
		}
	}
	f := Fit{Lo: math.NaN(), Hi: math.NaN()}
	distinct := map[float64]bool{}
	for _, x := range xs {
		distinct[x] = true
	}
	switch {
	case len(xs) == 0:
		f.PerInstance = math.NaN()
	case len(distinct) == 1:
		var sx, sy float64
		for i := range xs {
			sx, sy = sx+xs[i], sy+ys[i]
		}
		f.PerInstance = sy / sx
	default:
		f.PerInstance, f.Base = line(xs, ys)
	}
	return f
}

func line(xs, ys []float64) (slope, intercept float64) {
	n := float64(len(xs))
	if n < 2 {
		return math.NaN(), math.NaN()
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return math.NaN(), math.NaN()
	}
	slope = (n*sxy - sx*sy) / d
	return slope, (sy - slope*sx) / n
}

// perInstance is the median over levels and rounds of a host metric
// divided by the level.
func perInstance(p Platform, metric string) float64 {
	var v []float64
	for _, l := range p.Levels {
		for _, x := range l.HostValues(metric) {
			v = append(v, x/float64(l.N))
		}
	}
	return medianOf(v)
}

// medianOf is the (upper) median of v, which it sorts; NaN when empty.
func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func percentiles(v []float64) (lo, hi float64) {
	var ok []float64
	for _, x := range v {
		if !math.IsNaN(x) {
			ok = append(ok, x)
		}
	}
	if len(ok) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(ok)
	return ok[int(0.025*float64(len(ok)-1))], ok[int(0.975*float64(len(ok)-1))]
}

// Fleet is the hosts N instances need.
type Fleet struct {
	Instances     int
	Headroom      float64 // fraction of each host kept free
	Spares        int
	Hosts, Lo, Hi int // -1: does not fit
	UsablePerHost int // instances per host after the headroom
}

// Hosts is ⌈N / ⌊k·(1−headroom)⌋⌉ + spares; -1 when no instance fits.
func Hosts(n, k int, headroom float64, spares int) int {
	per := int(math.Floor(float64(k) * (1 - headroom)))
	if per < 1 {
		return -1
	}
	return (n+per-1)/per + spares
}

// Plan is the hosts for N instances, with the interval of the instances
// per host carried through (fewer instances per host, more hosts).
func (r Result) Plan(n int, headroom float64, spares int) Fleet {
	return Fleet{Instances: n, Headroom: headroom, Spares: spares,
		Hosts: Hosts(n, r.PerHost, headroom, spares), Lo: Hosts(n, r.PerHostHi, headroom, spares), Hi: Hosts(n, r.PerHostLo, headroom, spares),
		UsablePerHost: int(math.Floor(float64(r.PerHost) * (1 - headroom)))}
}

// collectCell is every instance's value of a cell over a level's rounds.
func collectCell(l Level, c Cell) []float64 {
	var out []float64
	for _, r := range l.Rounds {
		out = append(out, r.Inst[c]...)
	}
	return out
}
