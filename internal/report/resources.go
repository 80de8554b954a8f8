package report

import (
	"fmt"
	"math"
	"slices"

	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/result"
)

// Sampling is what the resource samplers did during a run and what they
// cost, as fractions of one core: the samplers' own thread, and vmbench's
// whole process while trials ran (launching them and reading their results
// included). The trials whose client ran from vmbench are counted apart,
// since the client's work is the workload's, not overhead.
type Sampling struct {
	Interval    float64 // seconds
	Trials      int
	MeanSampler float64
	MaxSampler  float64
	MeanSelf    float64 // trials without a client on the host
	// ClientTrials ran a client from vmbench; MeanSelfClient is vmbench's
	// whole process during them.
	ClientTrials   int
	MeanSelfClient float64
}

// Timeline is a workload variant's resource use over time, one measured
// trial per platform.
type Timeline struct {
	Workload, Label string
	Lines           []Line
}

// Line is one platform's trial on a Timeline.
type Line struct {
	Platform string
	Trial    int
	T        []float64 // seconds from the trial's start, at the end of each interval
	CPU      []float64 // the platform's processes, in cores (CPU-seconds per second)
	HostCPU  []float64 // the whole host busy (user, system, steal), in cores
	PSS      []float64 // the platform's processes, in bytes; at the same T
}

// AddTraces adds what the samplers read (series.jsonl) to the table: the
// samplers' own cost as a note, and a timeline per workload variant from
// the first measured trial of each platform.
func (t *Table) AddTraces(traces []result.Trace) {
	var s Sampling
	var sum, self, selfClient float64
	type key struct{ workload, label string }
	at := map[key]int{}
	for _, tr := range traces {
		if tr.Wall <= 0 {
			continue
		}
		cost := tr.SamplerCPU / tr.Wall
		s.Interval = tr.Interval
		s.Trials++
		sum += cost
		if tr.Client {
			s.ClientTrials++
			selfClient += tr.SelfCPU / tr.Wall
		} else {
			self += tr.SelfCPU / tr.Wall
		}
		s.MaxSampler = max(s.MaxSampler, cost)
		if tr.Warmup || tr.Round > 0 {
			continue
		}
		k := key{tr.Workload, tr.Label}
		i, ok := at[k]
		if !ok {
			i = len(t.Timelines)
			at[k] = i
			t.Timelines = append(t.Timelines, Timeline{Workload: tr.Workload, Label: tr.Label})
		}
		tl := &t.Timelines[i]
		if slices.ContainsFunc(tl.Lines, func(l Line) bool { return l.Platform == tr.Platform }) {
			continue
		}
		if l, ok := line(tr); ok {
			tl.Lines = append(tl.Lines, l)
		}
	}
	if s.Trials == 0 {
		return
	}
	s.MeanSampler = sum / float64(s.Trials)
	if n := s.Trials - s.ClientTrials; n > 0 {
		s.MeanSelf = self / float64(n)
	}
	if s.ClientTrials > 0 {
		s.MeanSelfClient = selfClient / float64(s.ClientTrials)
	}
	t.Sampling = &s
	note := fmt.Sprintf("resource samplers read every %.0f ms during %d trials (series.jsonl); they cost %.2f%% of one core on average, %.2f%% at most",
		1000*s.Interval, s.Trials, 100*s.MeanSampler, 100*s.MaxSampler)
	if s.ClientTrials < s.Trials {
		note += fmt.Sprintf("; vmbench's whole process during trials, starting them and reading their results included: %.2f%% on average", 100*s.MeanSelf)
	}
	if s.ClientTrials > 0 {
		note += fmt.Sprintf("; during the %d trials whose client ran on the host from vmbench (net, iperf3, redis), which is the workload's own work: %.2f%%", s.ClientTrials, 100*s.MeanSelfClient)
	}
	t.Notes = append(t.Notes, note)
}

// line derives rates and levels from a trace's process and host series.
func line(tr result.Trace) (Line, bool) {
	l := Line{Platform: tr.Platform, Trial: tr.Trial}
	var proc, host *collect.Series
	for i := range tr.Series {
		switch tr.Series[i].Sampler {
		case "process":
			proc = &tr.Series[i]
		case "host":
			host = &tr.Series[i]
		}
	}
	if proc == nil || len(proc.Points) < 2 {
		return l, false
	}
	cpu, pss := proc.Field("cpu"), proc.Field("pss")
	for i := 1; i < len(proc.Points); i++ {
		a, b := proc.Points[i-1], proc.Points[i]
		if dt := b.T - a.T; dt > 0 {
			l.T = append(l.T, b.T)
			l.CPU = append(l.CPU, (b.Values[cpu]-a.Values[cpu])/dt)
			l.PSS = append(l.PSS, b.Values[pss])
			l.HostCPU = append(l.HostCPU, busyBetween(host, a.T, b.T))
		}
	}
	return l, len(l.T) > 0
}

// busyBetween is the host's busy cores between two instants, from the
// host readings nearest to them; NaN-free: 0 when there are none.
func busyBetween(host *collect.Series, t0, t1 float64) float64 {
	if host == nil || len(host.Points) < 2 {
		return 0
	}
	nearest := func(t float64) collect.Point {
		best := host.Points[0]
		for _, p := range host.Points[1:] {
			if math.Abs(p.T-t) < math.Abs(best.T-t) {
				best = p
			}
		}
		return best
	}
	a, b := nearest(t0), nearest(t1)
	if b.T <= a.T {
		return 0
	}
	var busy float64
	for _, f := range []string{"cpu_user", "cpu_system", "cpu_steal"} {
		if i := host.Field(f); i >= 0 {
			busy += b.Values[i] - a.Values[i]
		}
	}
	return busy / (b.T - a.T)
}
