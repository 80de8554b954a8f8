package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/cleanup"
	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/hostinfo"
	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/rundir"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/workload"
)

// A session is one pass over a run directory: a new run, a resume of a
// killed one, or a retry round of some of its cells. It holds what the
// pass shares — the options, the run's info, where samples go, what was
// provisioned, the undo stack and the started instances — and goes
// open → provision → start → run → close.
type session struct {
	o         Options
	dir       string
	info      *result.RunInfo
	round     int // the retry round the samples belong to; 0: the run's own
	w         *sinks
	env       Env
	undo      cleanup.Stack
	instances map[string]platform.Instance
	release   func()
	// The trials of the whole session, across the adaptive looks: how
	// many were planned and done, and when the first began, for one
	// progress count and its time left.
	planned, done int
	began         time.Time
}

// openSession locks the run and opens its sinks.
func openSession(o Options, dir string, info *result.RunInfo, round int) (*session, error) {
	release, err := rundir.LockRun(info.RunID)
	if err != nil {
		return nil, err
	}
	w, err := openSinks(dir)
	if err != nil {
		release()
		return nil, err
	}
	return &session{o: o, dir: dir, info: info, round: round, w: w, instances: map[string]platform.Instance{}, release: release}, nil
}

// provision makes what the pass's platforms share, pushing its removal onto
// the undo stack: the scratch directory, the bridge when a workload
// measures over the network, the tools rootfs (and image) when a platform
// runs a tool. Container names continue after firstID.
func (ss *session) provision(ctx context.Context, firstID int64) (err error) {
	s, runID := ss.o.Scenario, ss.info.RunID
	ss.env = Env{RunID: runID, RunDir: ss.dir, Binary: ss.o.Binary, IDs: new(atomic.Int64), Decision: &kvm.Decision{}, CacheDir: ss.o.CacheDir, Sample: s.Sample}
	ss.env.IDs.Store(firstID)
	if ss.env.Scratch, err = makeScratch(s, runID, &ss.undo); err != nil {
		return err
	}
	if ss.env.Network, err = makeNetwork(ctx, s, runID, &ss.undo); err != nil {
		return err
	}
	if ss.env.Tools, ss.env.ToolsImage, err = makeTools(ctx, s, runID, ss.o.CacheDir, ss.o.Log); err != nil {
		return err
	}
	return makeKernel(ctx, s, ss.o.CacheDir, ss.o.Log)
}

// close ends the pass, whatever err it ends with: the platforms' info
// refreshed from their instances (which learn things while they run, such
// as a guest's restarts), everything torn down, then record (which writes
// what the pass did into run.json), the sinks closed and the lock released.
// It returns err with what went wrong on the way.
func (ss *session) close(ctx context.Context, err error, record func(error) error) error {
	for i, p := range ss.info.Platforms {
		if inst := ss.instances[p.Name]; inst != nil {
			ss.info.Platforms[i].Info = maps.Clone(inst.Info())
		}
	}
	if cerr := ss.o.teardown(ctx, &ss.undo); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if rerr := record(err); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if cerr := ss.w.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	ss.release()
	return err
}

// endRun records the end of a run or a resume in run.json.
func (ss *session) endRun(err error) error {
	ss.info.End = time.Now()
	ss.info.Interrupted = errors.Is(err, ErrInterrupted)
	return result.WriteRun(ss.dir, *ss.info)
}

// start starts the platforms in order, pushing each Close onto the undo
// stack and writing the boot sample of those that report one. A platform
// that does not start is recorded and named in failed; the others go on.
func (ss *session) start(ctx context.Context, platforms []scenario.Platform) (infos []result.PlatformInfo, failed []string, err error) {
	for _, p := range platforms {
		if ctx.Err() != nil {
			return infos, failed, ErrInterrupted
		}
		pi := result.PlatformInfo{Name: p.Name, Type: p.Type}
		fmt.Fprintf(ss.o.Log, "platform %s (%s) starting%s\n", p.Name, p.Type, startingWhat(p))
		t0 := time.Now()
		inst, serr := ss.startOne(ctx, p, &ss.undo)
		if inst != nil {
			pi.Info = maps.Clone(inst.Info())
		}
		if serr != nil {
			if ctx.Err() != nil {
				return infos, failed, ErrInterrupted
			}
			pi.Error = serr.Error()
			failed = append(failed, p.Name)
			fmt.Fprintf(ss.o.Log, "platform %s did not start, its trials are skipped: %v\n", p.Name, serr)
		} else {
			ss.instances[p.Name] = inst
			took := time.Since(t0).Round(time.Millisecond)
			if took > time.Second {
				took = took.Round(100 * time.Millisecond)
			}
			fmt.Fprintf(ss.o.Log, "platform %s (%s) ready in %s%s\n", p.Name, p.Type, took, describeInfo(pi.Info))
			if sr, ok := inst.(platform.StartupReporter); ok {
				boot := startupSample(ss.info.RunID, p.Name, inst, sr)
				boot.Round = ss.round
				if err := ss.w.samples.Write(boot); err != nil {
					return infos, failed, err
				}
			}
		}
		infos = append(infos, pi)
	}
	return infos, failed, nil
}

// startOne builds and starts one platform, pushing its Close onto undo (the
// session's, or a density level's own).
func (ss *session) startOne(ctx context.Context, p scenario.Platform, undo *cleanup.Stack) (platform.Instance, error) {
	plat, err := ss.o.NewPlatform(p, ss.env)
	if err != nil {
		return nil, err
	}
	inst, err := plat.Start(ctx)
	if inst != nil {
		undo.Push("platform "+p.Name, inst.Close)
	}
	if err != nil {
		return inst, fmt.Errorf("start %s: %w", p.Name, err)
	}
	return inst, nil
}

// plan records in run.json that the measured trials (warmups aside: a
// baseline file leaves them out) whose platform has an instance are about
// to run, so that a report can tell the samples that are missing.
// A resume runs trials already planned, and does not call it.
func (ss *session) plan(trials []scenario.Trial) error {
	ss.info.Planned += ss.measured(trials)
	return result.WriteRun(ss.dir, *ss.info)
}

// measured counts the measured trials (warmups aside) whose platform has
// an instance: what run.json's planned trials count.
func (ss *session) measured(trials []scenario.Trial) int {
	return ss.runnable(slices.DeleteFunc(slices.Clone(trials), func(t scenario.Trial) bool { return t.Warmup }))
}

// runnable counts the trials whose platform has an instance.
func (ss *session) runnable(trials []scenario.Trial) int {
	n := 0
	for _, t := range trials {
		if ss.instances[t.Platform] != nil {
			n++
		}
	}
	return n
}

// run runs the trials whose platform has an instance, writing each sample
// as soon as it is measured.
func (ss *session) run(ctx context.Context, trials []scenario.Trial) error {
	o := ss.o
	if ss.began.IsZero() {
		ss.began = time.Now()
	}
	ss.planned += ss.runnable(trials)
	if o.Progress != nil {
		o.Progress.Begin(ss.planned)
	}
	for _, t := range trials {
		inst := ss.instances[t.Platform]
		if inst == nil {
			continue
		}
		sample, err := ss.trial(ctx, inst, t)
		if errors.Is(err, ErrInterrupted) {
			return ErrInterrupted
		}
		if err != nil {
			return err
		}
		if err := ss.w.samples.Write(sample); err != nil {
			return err
		}
		ss.done++
		if o.Progress != nil {
			o.Progress.Done(sample)
		} else {
			fmt.Fprintf(o.Log, "[%d/%d%s] %s\n", ss.done, ss.planned, ss.timeLeft(), describeSample(sample))
		}
	}
	return nil
}

// timeLeft is the time the session's planned trials should still take at
// the pace so far: ", 1m20s left". The adaptive looks may plan more.
func (ss *session) timeLeft() string {
	if ss.done == 0 || ss.done >= ss.planned {
		return ""
	}
	left := time.Since(ss.began) / time.Duration(ss.done) * time.Duration(ss.planned-ss.done)
	return ", " + left.Round(time.Second).String() + " left"
}

// startingWhat says what starting a platform does, for the log line
// before it: a guest boots, an engine pulls nothing but checks its image.
func startingWhat(p scenario.Platform) string {
	switch {
	case p.Type == scenario.VM && p.VM.Manager == options.ManagerLibvirt:
		return ": defining and booting a libvirt guest from " + filepath.Base(p.VM.Image)
	case p.Type == scenario.VM:
		return ": booting the guest (accel " + p.VM.Accel + ")"
	case p.Type == scenario.Remote:
		return ": connecting to " + p.Remote.Host + " and placing the agent"
	case p.Type == scenario.Container && p.Container.Engine != "":
		return ": preparing its " + p.Container.Engine + " image"
	}
	return ""
}

// trial runs t on inst and returns its sample, with the series sampled
// meanwhile written to series.jsonl and its profile under profiles/.
func (ss *session) trial(ctx context.Context, inst platform.Instance, t scenario.Trial) (result.Sample, error) {
	s, w, runID, round := ss.o.Scenario, ss.w, ss.info.RunID, ss.round
	sample := result.Sample{
		RunID: runID, Workload: t.Workload, Type: t.Type, Params: t.Params, Label: t.Label,
		Platform: t.Platform, Trial: t.Rep, Warmup: t.Warmup, Round: round, Start: time.Now(),
	}
	if c, ok := inst.(platform.Conditioner); ok {
		sample.Conditions = maps.Clone(c.Conditions())
	}
	var coll *collect.Collection
	if s.Sample > 0 {
		samplers := []collect.Sampler{w.host}
		if sm, ok := inst.(platform.Sampled); ok {
			samplers = append(samplers, sm.Samplers()...)
		}
		coll = collect.Start(ctx, s.Sample, samplers...)
	}
	req := request(t, s.Profile && !t.Warmup)
	// This host's CPU pressure; a remote machine's trial runs elsewhere.
	stalled, psi := hostinfo.CPUPressure()
	psi = psi && !slices.ContainsFunc(s.Platforms, func(p scenario.Platform) bool { return p.Name == t.Platform && p.Type == scenario.Remote })
	res, err := attempt(ctx, s, inst, t.Impl, req)
	if errors.Is(err, platform.ErrRestarted) && ctx.Err() == nil {
		// The guest died or wedged under the trial and was booted again
		// (under TCG a 2-vCPU guest locks up in runc now and then). That
		// is the platform's failure, not the workload's: run the trial
		// once more on the fresh guest, and say so in the sample.
		sample.Warnings = append(sample.Warnings, "first attempt failed and was run again: "+err.Error())
		sample.Start = time.Now()
		res, err = attempt(ctx, s, inst, t.Impl, req)
	}
	sample.Duration = time.Since(sample.Start).Seconds()
	if after, ok := hostinfo.CPUPressure(); psi && ok {
		p := hostinfo.PressureOver(stalled, after, time.Since(sample.Start))
		sample.CPUPressure = &p
	}
	var trace result.Trace
	if coll != nil {
		_, client := t.Impl.(workload.Client)
		trace = result.TraceOf(sample)
		trace.Client, trace.Result = client, coll.Stop()
		trace.Series = append(trace.Series, res.Series...)
	}
	if ctx.Err() != nil {
		return sample, ErrInterrupted
	}
	sample.Metrics, sample.Warnings = res.Metrics, append(sample.Warnings, res.Warnings...)
	sample.Histograms = res.Histograms
	sample.Conditions = withConditions(sample.Conditions, res.Conditions)
	if err == nil {
		sample.Metrics = append(sample.Metrics, workload.Cost(res.Work, res.HostCPU, footprint(trace.Series))...)
		sample.Metrics = append(sample.Metrics, res.Measured...)
	}
	if err != nil {
		sample.Error = err.Error()
	}
	if len(res.Profile) > 0 {
		if path, perr := w.profile(sample, res.Profile); perr != nil {
			sample.Warnings = append(sample.Warnings, "profile not written: "+perr.Error())
		} else {
			sample.Profile = path
		}
	}
	if coll != nil {
		if err := w.traces.Write(trace); err != nil {
			return sample, err
		}
	}
	return sample, nil
}

// footprint is the peak PSS of the platform's processes in series, 0 when
// they were not sampled.
func footprint(series []collect.Series) float64 {
	for _, s := range series {
		if s.Sampler == "process" {
			if v, ok := s.Max("pss"); ok {
				return v
			}
		}
	}
	return 0
}

// request is what a platform needs to run t: the workload's type and
// parameters, and what the type means for the platform, resolved once here.
func request(t scenario.Trial, profile bool) agent.Request {
	_, tool := t.Impl.(workload.Tool)
	_, fresh := t.Impl.(workload.Starter)
	req := agent.Request{Type: t.Type, Params: t.Params, Profile: profile, Tool: tool, Fresh: fresh}
	if c, ok := t.Impl.(workload.Client); ok {
		req.Port = c.Port(t.Params)
	}
	return req
}

// attempt runs a trial of the workload w once within the scenario's timeout.
func attempt(ctx context.Context, s *scenario.Scenario, inst platform.Instance, w workload.Workload, req agent.Request) (platform.Output, error) {
	tctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	var res platform.Output
	var err error
	cr, self := inst.(platform.ClientRunner)
	if c, ok := w.(workload.Client); ok && req.Port > 0 && !(self && cr.RunsClient()) {
		res, err = withClient(tctx, inst, req, c)
	} else {
		res, err = inst.Run(tctx, req)
	}
	if err != nil && tctx.Err() != nil && ctx.Err() == nil {
		err = fmt.Errorf("timed out after %s (the scenario's timeout): %w", s.Timeout, err)
	}
	return res, err
}

// withClient runs a trial whose server runs in the platform and whose
// client runs here, on the host: the client's metrics with the server's
// cost (host CPU, samples of the guest, profile).
func withClient(ctx context.Context, inst platform.Instance, req agent.Request, c workload.Client) (platform.Output, error) {
	var addr string
	if a, ok := inst.(platform.Addressed); ok {
		addr = a.Addr()
	}
	waiter, wait := inst.(platform.AddrWaiter)
	if addr == "" && !wait {
		return platform.Output{}, fmt.Errorf("%s needs a platform the host can reach over the network: set network: bridge, nat or host on a container platform", req.Type)
	}
	_, stops := c.(workload.ServerStopper)
	srv, cres, err := workload.Pair(ctx,
		func(ctx context.Context) (platform.Output, error) { return inst.Run(ctx, req) },
		func(ctx context.Context) (workload.Result, bool, error) {
			if wait {
				a, err := waiter.WaitAddr(ctx)
				if err != nil {
					return workload.Result{}, false, err
				}
				addr = a
			}
			res, err := c.Client(ctx, addr, req.Params) // complete: the plan filled in the defaults
			return res, stops, err
		})
	res := platform.Output{Result: cres}
	if err != nil {
		return res, err
	}
	res.HostCPU, res.Measured, res.Series, res.Profile = srv.HostCPU, srv.Measured, srv.Series, srv.Profile
	res.Warnings = append(res.Warnings, srv.Warnings...)
	return res, nil
}

// startupSample records what an instance measured of its own start.
func startupSample(runID, name string, inst platform.Instance, sr platform.StartupReporter) result.Sample {
	s := result.Sample{RunID: runID, Workload: workload.Boot, Type: workload.Boot, Platform: name, Start: time.Now(), Metrics: sr.StartupMetrics()}
	if c, ok := inst.(platform.Conditioner); ok {
		s.Conditions = maps.Clone(c.Conditions())
	}
	return s
}
