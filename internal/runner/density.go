package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/vmbench/vmbench/internal/cleanup"
	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/hist"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/workload"
)

// Level metrics: what the host paid for a density level, recorded on the
// level's own sample (Instance 0) once per workload variant and round.
var DensityMetrics = []workload.MetricInfo{
	{Name: workload.LevelInstances, Unit: "n", Help: "instances of the platform that ran the variant at once"},
	{Name: workload.LevelMemDrop, Unit: "B", Help: "MemAvailable before the instances started minus its lowest reading during the variant (gVisor's method; catches kernel memory such as page tables)"},
	{Name: workload.LevelMemBefore, Unit: "B", Help: "MemAvailable before the level's instances started: what capacity is computed against"},
	{Name: workload.LevelMemIdleDrop, Unit: "B", Help: "MemAvailable before the instances started minus after, before any workload ran"},
	{Name: workload.LevelPSSTotal, Unit: "B", Help: "the instances' host processes' proportional set size summed at each reading, at its largest (Kata's method): what they held together at their fullest"},
	{Name: workload.LevelVMMOverhead, Unit: "B", Help: "vm: sum over the guests of QEMU's proportional set size beyond the guest RAM mapping, from smaps (Firecracker's method)"},
	{Name: workload.LevelGuestRAM, Unit: "B", Help: "vm: sum over the guests of the guest RAM mapping's proportional set size"},
	{Name: "host_cpu", Unit: "s", Help: "host CPU time of all instances' processes during the variant"},
	{Name: workload.LevelHostBusy, Unit: "cores", Help: "the whole host's CPU time (user plus system) during the variant over its wall time"},
	{Name: workload.LevelInstancesCPU, Unit: "cores", Help: "the instances' own host CPU time (their processes: the agent, runc and the container, QEMU) over the variant's wall time: what capacity's CPU per instance is fitted to"},
	{Name: workload.LevelForeignCPU, Unit: "cores", Help: "host_busy minus instances_cpu: other load on the host during the variant (vmbench itself, other tenants)"},
	{Name: workload.LevelPSICPUSome, Unit: "ratio", Help: "share of the variant's wall time some task waited for a CPU (PSI)"},
	{Name: workload.LevelPSIMemoryFull, Unit: "ratio", Help: "share of the variant's wall time all tasks stalled on memory (PSI)"},
	{Name: workload.LevelPSIIOSome, Unit: "ratio", Help: "share of the variant's wall time some task waited for I/O (PSI)"},
	{Name: workload.LevelStartLast, Unit: "s", Help: "time to start the last instance while the others ran idle (a guest: launch to agent-ready)"},
	{Name: workload.LevelKSMSharing, Unit: "B", Help: "memory KSM deduplicated at the end of the variant"},
	{Name: "merged_<histogram>_<p50|p90|p99|p99_9>", Unit: "s", Help: "latency percentiles of every event of every instance of the level, from their merged histograms"},
}

// sweep runs the scenario's density sweep: for each level n, round after
// round, each platform (in an order that rotates) starts n instances one
// after the other, runs every workload variant in all of them at once,
// records a sample per instance and one for the level, and closes them. A
// guard that trips stops that platform's sweep, which the level's sample
// records; the other platforms go on.
func (ss *session) sweep(ctx context.Context) error {
	o, s, dn := ss.o, ss.o.Scenario, ss.o.Scenario.Density
	one := *s
	one.Platforms, one.Repetitions, one.Warmup = s.Platforms[:1], 1, 0
	variants := scenario.Plan(&one)
	stopped := map[string]string{}
	total := len(dn.Levels) * dn.Repetitions * len(s.Platforms)
	step := 0
	// The time left weighs a step by its instances, each started and
	// run, plus one for the level's fixed work.
	var left sweepClock
	for _, n := range dn.Levels {
		left.planned += (n + 1) * dn.Repetitions * len(s.Platforms)
	}
	left.began = time.Now()
	for li, n := range dn.Levels {
		for rep := range dn.Repetitions {
			for i := range s.Platforms {
				p := s.Platforms[(i+li*dn.Repetitions+rep)%len(s.Platforms)]
				step++
				if ctx.Err() != nil {
					return ErrInterrupted
				}
				if stopped[p.Name] != "" {
					left.planned -= n + 1
					continue
				}
				fmt.Fprintf(o.Log, "[%d/%d%s] level %d, round %d: %d × %s\n", step, total, left.text(time.Now()), n, rep+1, n, p.Name)
				stop, err := ss.level(ctx, p, n, rep, variants)
				left.done += n + 1
				if err != nil {
					return err
				}
				if stop != "" {
					stopped[p.Name] = stop
					fmt.Fprintf(o.Log, "platform %s stops at level %d: %s\n", p.Name, n, stop)
				}
			}
		}
	}
	return nil
}

// sweepClock is a sweep's time left at its pace so far, its steps
// weighed by their instances.
type sweepClock struct {
	planned, done int
	began         time.Time
}

// text is ", about 2m10s left" at now, or "" before the first step is
// done.
func (c sweepClock) text(now time.Time) string {
	if c.done == 0 || c.done >= c.planned {
		return ""
	}
	left := now.Sub(c.began) / time.Duration(c.done) * time.Duration(c.planned-c.done)
	return ", about " + left.Round(time.Second).String() + " left"
}

// level starts n instances of p, runs every variant in all of them at
// once and closes them. It returns why a guard stopped the platform ("" to
// go on).
func (ss *session) level(ctx context.Context, p scenario.Platform, n, rep int, variants []scenario.Trial) (stop string, err error) {
	o, w, info, dn := ss.o, ss.w, ss.info, ss.o.Scenario.Density
	var undo cleanup.Stack
	defer func() {
		if cerr := o.teardown(ctx, &undo); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	avail0, _ := collect.MemAvailable("/")
	// The instances' homes: n of them, or for a vm packing per_guest
	// instances into each guest, as many guests as hold n.
	counts := make([]int, n)
	for i := range counts {
		counts[i] = 1
	}
	if k := p.VM.PerGuest; p.Type == scenario.VM && k > 1 {
		counts = nil
		for left := n; left > 0; left -= k {
			counts = append(counts, min(k, left))
		}
	}
	insts := make([]platform.Instance, 0, len(counts))
	var startLast float64
	for k := 1; k <= len(counts); k++ {
		pk := p
		pk.Name = fmt.Sprintf("%s-%d", p.Name, k) // names files, guests and containers apart
		t0 := time.Now()
		inst, serr := ss.startOne(ctx, pk, &undo)
		startLast = time.Since(t0).Seconds()
		if sr, ok := inst.(platform.StartupReporter); ok && serr == nil && len(sr.StartupMetrics()) > 0 {
			startLast = sr.StartupMetrics()[0].Value
		}
		if serr != nil {
			if ctx.Err() != nil {
				return "", ErrInterrupted
			}
			stop = fmt.Sprintf("instance %d of %d did not start: %v", k, len(counts), serr)
			return stop, w.samples.Write(levelSample(info.RunID, p.Name, variants[0], n, rep, nil, stop))
		}
		if dn.Guards.StartTimeout > 0 && startLast > dn.Guards.StartTimeout.Seconds() {
			stop = fmt.Sprintf("instance %d of %d took %.1fs to start, beyond the guard's %s", k, len(counts), startLast, dn.Guards.StartTimeout)
		}
		insts = append(insts, inst)
		recordPlatform(info, p, inst)
	}
	if stop != "" {
		return stop, w.samples.Write(levelSample(info.RunID, p.Name, variants[0], n, rep, nil, stop))
	}
	availIdle, _ := collect.MemAvailable("/")
	for _, v := range variants {
		metrics, samples, vstop := runAtOnce(ctx, o, insts, counts, v, rep, info.RunID, avail0)
		if ctx.Err() != nil {
			return "", ErrInterrupted
		}
		for _, x := range samples {
			x.Platform = p.Name
			if err := w.samples.Write(x); err != nil {
				return "", err
			}
		}
		metrics = append(metrics,
			result.Metric{Name: workload.LevelMemBefore, Unit: "B", Value: avail0},
			result.Metric{Name: workload.LevelMemIdleDrop, Unit: "B", Value: avail0 - availIdle},
			result.Metric{Name: workload.LevelStartLast, Unit: "s", Value: startLast})
		if vstop != "" {
			stop = vstop
		}
		if err := w.samples.Write(levelSample(info.RunID, p.Name, v, n, rep, metrics, stop)); err != nil {
			return "", err
		}
		if stop != "" {
			return stop, nil
		}
	}
	return "", nil
}

// runAtOnce runs one variant in every instance at once — counts[i] copies
// in insts[i], a guest holding several — sampling the host and the
// instances meanwhile, and checks the guards. avail0 is MemAvailable
// before the instances started. It returns the level's metrics, a sample
// per instance, and why a guard stops the platform ("" to go on).
func runAtOnce(ctx context.Context, o Options, insts []platform.Instance, counts []int, v scenario.Trial, rep int, runID string, avail0 float64) ([]result.Metric, []result.Sample, string) {
	a := &atOnce{insts: insts, counts: counts}
	a.run(ctx, o.Scenario, v)
	samples, hostCPU := a.instanceSamples(v, rep, runID)
	return a.levelMetrics(avail0, hostCPU, samples), samples, a.guard(o.Scenario.Density)
}

// atOnce is one variant run in every instance of a level at once, and
// what was read of the host around it.
type atOnce struct {
	insts  []platform.Instance
	counts []int // the variant's copies in each instance

	first   []int // each instance's first series in col
	results [][]platform.Output
	errs    [][]error
	col     collect.Result
	start   time.Time
	wall    float64 // seconds

	minAvail     float64 // MemAvailable's lowest reading
	psi0, psi1   collect.Pressure
	psiErr       error
	oom0, oom1   int64
	vmm, touched float64 // QEMU beyond its guests' RAM, and the RAM they touched
}

// run starts sampling the host and every instance, runs the variant in
// all of them at once, reads QEMU's memory before the guests go, and stops
// sampling.
func (a *atOnce) run(ctx context.Context, s *scenario.Scenario, v scenario.Trial) {
	samplers := []collect.Sampler{collect.NewHost("host", "/")}
	a.first = make([]int, len(a.insts))
	for k, inst := range a.insts {
		a.first[k] = len(samplers)
		if sm, ok := inst.(platform.Sampled); ok {
			samplers = append(samplers, sm.Samplers()...)
		}
	}
	interval := s.Sample
	if interval == 0 {
		interval = scenario.DefaultSample
	}
	a.minAvail, _ = collect.MemAvailable("/")
	a.psi0, a.psiErr = collect.ReadPressure("/")
	a.oom0, _ = collect.OOMKills("/")
	coll := collect.Start(ctx, interval, samplers...)
	a.start = time.Now()
	a.runAll(ctx, s, v)
	for _, inst := range a.insts {
		if m, ok := inst.(platform.VMM); ok {
			if pid, ram := m.VMMProcess(); pid > 0 {
				if over, g, err := collect.VMMOverhead("/", pid, ram); err == nil {
					a.vmm, a.touched = a.vmm+over, a.touched+g
				}
			}
		}
	}
	a.col = coll.Stop()
	a.wall = time.Since(a.start).Seconds()
	a.psi1, _ = collect.ReadPressure("/")
	a.oom1, _ = collect.OOMKills("/")
	if hs := a.col.Series[0]; len(hs.Points) > 0 {
		if i := hs.Field("mem_available"); i >= 0 {
			for _, pt := range hs.Points {
				a.minAvail = min(a.minAvail, pt.Values[i])
			}
		}
	}
}

// runAll runs the variant in every instance at once: a guest holding
// several copies runs them together (platform.Packed).
func (a *atOnce) runAll(ctx context.Context, s *scenario.Scenario, v scenario.Trial) {
	req := request(v, false)
	a.results = make([][]platform.Output, len(a.insts))
	a.errs = make([][]error, len(a.insts))
	var wg sync.WaitGroup
	for k, inst := range a.insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			packed, ok := inst.(platform.Packed)
			if a.counts[k] == 1 || !ok {
				r, err := attempt(ctx, s, inst, v.Impl, req)
				a.results[k], a.errs[k] = []platform.Output{r}, []error{err}
				return
			}
			tctx, cancel := context.WithTimeout(ctx, s.Timeout)
			defer cancel()
			a.results[k], a.errs[k] = packed.RunMany(tctx, req, a.counts[k])
		}()
	}
	wg.Wait()
}

// series are instance k's series in the collection.
func (a *atOnce) series(k int) []collect.Series {
	end := len(a.col.Series)
	if k+1 < len(a.insts) {
		end = a.first[k+1]
	}
	return a.col.Series[a.first[k]:end]
}

// level is the instances of the variant in all: each copy counts.
func (a *atOnce) level() int {
	n := 0
	for _, c := range a.counts {
		n += c
	}
	return n
}

// instanceSamples are a sample per copy of the variant, with the
// workload's metrics and its share of its instance's host footprint, and
// the host CPU time of them all.
func (a *atOnce) instanceSamples(v scenario.Trial, rep int, runID string) (samples []result.Sample, hostCPU float64) {
	for k := range a.insts {
		peak := footprint(a.series(k))
		for j, res := range a.results[k] {
			x := result.Sample{RunID: runID, Workload: v.Workload, Type: v.Type, Params: maps.Clone(v.Params), Label: v.Label,
				Trial: rep, Level: a.level(), Instance: len(samples) + 1, Start: a.start, Duration: a.wall}
			if c, ok := a.insts[k].(platform.Conditioner); ok {
				x.Conditions = maps.Clone(c.Conditions())
			}
			if a.counts[k] > 1 {
				x.Conditions = withCondition(x.Conditions, "per_guest", fmt.Sprint(a.counts[k]))
			}
			share := peak / float64(len(a.results[k])) // of a guest's footprint
			hostCPU += res.HostCPU
			x.Metrics, x.Histograms, x.Warnings = res.Metrics, res.Histograms, res.Warnings
			x.Conditions = withConditions(x.Conditions, res.Conditions)
			if a.errs[k][j] != nil {
				x.Error = a.errs[k][j].Error()
			} else {
				x.Metrics = append(x.Metrics, workload.Cost(res.Work, res.HostCPU, share)...)
			}
			samples = append(samples, x)
		}
	}
	return samples, hostCPU
}

// levelMetrics are what the host paid for the variant at this level
// (DensityMetrics).
func (a *atOnce) levelMetrics(avail0, hostCPU float64, samples []result.Sample) []result.Metric {
	var processes []int // every instance's process series
	for k := range a.insts {
		for i := a.first[k]; i < a.first[k]+len(a.series(k)); i++ {
			if a.col.Series[i].Sampler == "process" {
				processes = append(processes, i)
			}
		}
	}
	busy := 0.0
	if hs := a.col.Series[0]; len(hs.Points) > 1 {
		u, sy := hs.Field("cpu_user"), hs.Field("cpu_system")
		p, q := hs.Points[0], hs.Points[len(hs.Points)-1]
		if dt := q.T - p.T; u >= 0 && sy >= 0 && dt > 0 {
			busy = (q.Values[u] + q.Values[sy] - p.Values[u] - p.Values[sy]) / dt
		}
	}
	metrics := []result.Metric{
		{Name: workload.LevelInstances, Unit: "n", Value: float64(a.level())},
		{Name: workload.LevelMemDrop, Unit: "B", Value: avail0 - a.minAvail},
		{Name: workload.LevelPSSTotal, Unit: "B", Value: a.col.PeakSum("pss", processes)},
		{Name: "host_cpu", Unit: "s", Value: hostCPU},
		{Name: workload.LevelHostBusy, Unit: "cores", Value: busy},
		{Name: workload.LevelKSMSharing, Unit: "B", Value: collect.KSMSharing("/")},
	}
	if a.vmm > 0 {
		metrics = append(metrics, result.Metric{Name: workload.LevelVMMOverhead, Unit: "B", Value: a.vmm}, result.Metric{Name: workload.LevelGuestRAM, Unit: "B", Value: a.touched})
	}
	if a.wall > 0 && busy > 0 {
		own := hostCPU / a.wall
		metrics = append(metrics, result.Metric{Name: workload.LevelInstancesCPU, Unit: "cores", Value: own},
			result.Metric{Name: workload.LevelForeignCPU, Unit: "cores", Value: max(0, busy-own)})
	}
	metrics = append(metrics, mergedPercentiles(samples)...)
	if d := a.psi1.Sub(a.psi0); a.psiErr == nil && a.wall > 0 {
		metrics = append(metrics,
			result.Metric{Name: workload.LevelPSICPUSome, Unit: "ratio", Value: d.CPUSome / a.wall},
			result.Metric{Name: workload.LevelPSIMemoryFull, Unit: "ratio", Value: d.MemoryFull / a.wall},
			result.Metric{Name: workload.LevelPSIIOSome, Unit: "ratio", Value: d.IOSome / a.wall})
	}
	return metrics
}

// guard is why the sweep's guards stop the platform after the variant:
// an OOM kill, MemAvailable below the floor, memory pressure; "" to go on.
func (a *atOnce) guard(dn *scenario.Density) string {
	d := a.psi1.Sub(a.psi0)
	switch {
	case dn.Guards.StopOnOOMKills && a.oom1 > a.oom0:
		return fmt.Sprintf("the kernel OOM-killed %d process(es)", a.oom1-a.oom0)
	case dn.Guards.MemAvailable > 0 && a.minAvail < float64(dn.Guards.MemAvailable):
		return fmt.Sprintf("MemAvailable fell to %.0f MiB, below the guard's %d MiB", a.minAvail/(1<<20), dn.Guards.MemAvailable>>20)
	case a.psiErr == nil && a.wall > 0 && d.MemoryFull/a.wall > dn.Guards.PSIMemoryFull:
		return fmt.Sprintf("memory pressure: all tasks stalled %.1f%% of the time, above the guard's %.0f%%", 100*d.MemoryFull/a.wall, 100*dn.Guards.PSIMemoryFull)
	}
	return ""
}

// mergedPercentiles are the latency percentiles of every event every
// instance recorded: their histograms merged, not their percentiles
// averaged.
func mergedPercentiles(samples []result.Sample) []result.Metric {
	merged := map[string]*hist.Hist{}
	for _, x := range samples {
		for name, h := range x.Histograms {
			if merged[name] == nil {
				merged[name] = hist.New()
			}
			merged[name].Merge(h)
		}
	}
	var out []result.Metric
	for _, name := range slices.Sorted(maps.Keys(merged)) {
		for _, m := range workload.QuantileMetrics(merged[name]) {
			m.Name = "merged_" + name + "_" + m.Name
			out = append(out, m)
		}
	}
	return out
}

// withCondition adds key=value to a sample's conditions.
func withCondition(c map[string]string, key, value string) map[string]string {
	if c == nil {
		c = map[string]string{}
	}
	c[key] = value
	return c
}

// withConditions adds the workload's conditions to the platform's.
func withConditions(c, workload map[string]string) map[string]string {
	for k, v := range workload {
		c = withCondition(c, k, v)
	}
	return c
}

// levelSample is a level's own sample.
func levelSample(runID, platform string, v scenario.Trial, n, rep int, metrics []result.Metric, stop string) result.Sample {
	return result.Sample{RunID: runID, Workload: v.Workload, Type: v.Type, Params: maps.Clone(v.Params), Label: v.Label, Platform: platform,
		Trial: rep, Level: n, Start: time.Now(), Metrics: metrics, Stop: stop}
}

// recordPlatform describes a platform in run.json from its first instance.
func recordPlatform(info *result.RunInfo, p scenario.Platform, inst platform.Instance) {
	for _, pi := range info.Platforms {
		if pi.Name == p.Name {
			return
		}
	}
	info.Platforms = append(info.Platforms, result.PlatformInfo{Name: p.Name, Type: p.Type, Info: maps.Clone(inst.Info())})
}
