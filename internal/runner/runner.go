// Package runner executes a plan: it starts every platform of the scenario,
// runs the interleaved trials, appends each sample to samples.jsonl as soon as
// it is measured, and tears everything down through one cleanup stack on
// success, failure and interrupt alike.
package runner

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/cleanup"
	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/hostinfo"
	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
)

// ErrInterrupted is returned when the run was stopped by its context; the
// samples measured until then are written.
var ErrInterrupted = errors.New("interrupted")

// Options configure one run.
type Options struct {
	Scenario     *scenario.Scenario
	ScenarioText []byte
	ResultsDir   string // the run goes to ResultsDir/<run-id>
	Binary       string // the static vmbench binary the platforms run
	Version      string
	Revision     string
	Log          io.Writer
	// NewPlatform builds a platform of the scenario. Nil means New.
	NewPlatform func(p scenario.Platform, env Env) (platform.Platform, error)
	// CacheDir keeps guest images between runs; "" means kvm.DefaultCacheDir.
	CacheDir string
	// TeardownTimeout bounds the whole teardown; 0 means two minutes.
	TeardownTimeout time.Duration
	// Progress follows the trials; nil logs one line per trial instead.
	Progress Progress
}

// Progress follows a run's trials, on a terminal.
type Progress interface {
	Begin(total int)
	Done(s result.Sample)
}

// Env is what every platform of a run shares.
type Env struct {
	RunID  string
	RunDir string
	Binary string
	IDs    *atomic.Int64 // container numbering across the run
	// Decision is the accel: auto outcome, shared by the run's guests.
	Decision *kvm.Decision
	CacheDir string        // guest images; "": kvm.DefaultCacheDir
	Sample   time.Duration // the scenario's sample_interval
	// Scratch is the run's scratch directory on the host (under the
	// scenario's scratch_dir), removed at teardown.
	Scratch string
	// Network is the run's bridge, when a workload measures from the host
	// over the network; nil otherwise.
	Network *platform.Network
	// Tools is the tools rootfs containers run tool workloads in, and
	// ToolsImage the ext4 image of it that guests attach; "" when no
	// platform of the kind runs a tool workload.
	Tools, ToolsImage string
}

// makeTools builds (or finds in the cache) the tools rootfs when a
// container or vm platform will run a tool workload, and its image when a
// vm will. Built, it holds every tool, so that one rootfs serves every
// scenario; imported from the scenario's tools_image, it must hold the
// programs of the scenario's tool workloads.
func makeTools(ctx context.Context, s *scenario.Scenario, cacheDir string, log io.Writer) (rootfs, image string, err error) {
	var programs []string
	for _, w := range s.Workloads {
		w, _ := workloads.Lookup(w.Type)
		if t, ok := w.(workload.Tool); ok {
			programs = append(programs, t.Programs()...)
		}
	}
	has := func(t string) bool {
		return slices.ContainsFunc(s.Platforms, func(p scenario.Platform) bool { return p.Type == t })
	}
	container, vm := has(scenario.Container), has(scenario.VM)
	if len(programs) == 0 || !container && !vm {
		return "", "", nil
	}
	if cacheDir == "" {
		cacheDir = kvm.DefaultCacheDir
	}
	if s.ToolsImage != "" {
		if rootfs, err = platform.ImportTools(ctx, cacheDir, s.ToolsImage, log); err != nil {
			return "", "", err
		}
		if missing := platform.MissingPrograms(rootfs, programs); len(missing) > 0 {
			return "", "", fmt.Errorf("tools_image %s has no %s, which the scenario's tool workloads run: install them in the image, or remove tools_image to have vmbench build the tools rootfs", s.ToolsImage, strings.Join(missing, ", "))
		}
	} else if rootfs, err = platform.ToolsRootfs(ctx, cacheDir, toolPackages(), log); err != nil {
		return "", "", err
	}
	if !vm {
		return rootfs, "", nil
	}
	image, err = platform.ToolsImage(ctx, rootfs, log)
	return rootfs, image, err
}

// toolPackages are the Debian packages of every tool workload: what the
// tools rootfs vmbench builds holds.
func toolPackages() []string {
	var pkgs []string
	for _, w := range workloads.All() {
		if t, ok := w.(workload.Tool); ok {
			pkgs = append(pkgs, t.Packages()...)
		}
	}
	return pkgs
}

// makeNetwork creates the run's bridge when a workload of the scenario
// runs its client on the host, and pushes its removal onto undo.
func makeNetwork(ctx context.Context, s *scenario.Scenario, runID string, undo *cleanup.Stack) (*platform.Network, error) {
	need := slices.ContainsFunc(s.Workloads, func(w scenario.Workload) bool {
		impl, _ := workloads.Lookup(w.Type)
		_, client := impl.(workload.Client)
		return client
	})
	if !need {
		return nil, nil
	}
	n, err := platform.NewNetwork(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	undo.Push("bridge "+n.Bridge, func(context.Context) error { return n.Close() })
	return n, nil
}

// makeScratch creates the run's scratch directory under the scenario's
// scratch_dir and pushes its removal onto undo.
func makeScratch(s *scenario.Scenario, runID string, undo *cleanup.Stack) (string, error) {
	dir, err := os.MkdirTemp(s.ScratchDir, Prefix+runID+"-scratch-")
	if err != nil {
		return "", fmt.Errorf("scratch directory: %w (scratch_dir: names where it goes)", err)
	}
	undo.Push("scratch directory", func(context.Context) error { return os.RemoveAll(dir) })
	return dir, nil
}

// sinks are where a run's trials are written: samples.jsonl, series.jsonl
// and profiles/.
type sinks struct {
	dir     string
	samples *result.SampleWriter
	traces  *result.TraceWriter
	host    collect.Sampler
}

func openSinks(dir string) (*sinks, error) {
	samples, err := result.CreateSamples(dir)
	if err != nil {
		return nil, err
	}
	traces, err := result.CreateTraces(dir)
	if err != nil {
		samples.Close()
		return nil, err
	}
	return &sinks{dir: dir, samples: samples, traces: traces, host: collect.NewHost("host", "/")}, nil
}

func (w *sinks) Close() error { return errors.Join(w.samples.Close(), w.traces.Close()) }

// profile writes a trial's CPU profile under profiles/<platform>/ and
// returns its path relative to the run directory.
func (w *sinks) profile(s result.Sample, data []byte) (string, error) {
	name := s.Workload
	if s.Label != "" {
		name += "-" + strings.Map(func(r rune) rune {
			if r == ' ' || r == '/' {
				return ','
			}
			return r
		}, s.Label)
	}
	name += fmt.Sprintf("-%d", s.Trial)
	if s.Round > 0 {
		name += fmt.Sprintf("-r%d", s.Round)
	}
	rel := filepath.Join(result.ProfilesDir, s.Platform, name+".pb.gz")
	if err := os.MkdirAll(filepath.Dir(filepath.Join(w.dir, rel)), 0o755); err != nil {
		return "", err
	}
	return rel, os.WriteFile(filepath.Join(w.dir, rel), data, 0o644)
}

// complete fills in the defaults of the options and checks the binary.
func (o *Options) complete() error {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.NewPlatform == nil {
		o.NewPlatform = New
	}
	if o.TeardownTimeout == 0 {
		o.TeardownTimeout = 2 * time.Minute
	}
	return platform.CheckStatic(o.Binary)
}

// teardown runs undo within TeardownTimeout, also when ctx was cancelled,
// and logs what failed.
func (o *Options) teardown(ctx context.Context, undo *cleanup.Stack) error {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.TeardownTimeout)
	defer cancel()
	err := undo.Run(tctx)
	if err != nil {
		fmt.Fprintf(o.Log, "teardown: %v\n", err)
	}
	return err
}

// NewRunID returns a sortable, unique id such as 20261124-221500-3fa2.
func NewRunID(now time.Time) string {
	b := make([]byte, 2)
	rand.Read(b)
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// Run executes the scenario and returns the run directory. The directory
// holds run.json and samples.jsonl even when Run returns an error, as long as
// it could be created.
func Run(ctx context.Context, o Options) (dir string, err error) {
	if err := o.complete(); err != nil {
		return "", err
	}
	s := o.Scenario
	start := time.Now()
	runID := NewRunID(start)
	dir = filepath.Join(o.ResultsDir, runID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create run directory: %w", err)
	}
	// Released after the teardown (deferred before it): until then
	// vmbench cleanup leaves the run's resources alone.
	release, lerr := lockRun(runID)
	defer release()
	if lerr != nil {
		fmt.Fprintf(o.Log, "warning: %v: vmbench cleanup could take this run for a leftover\n", lerr)
	}
	if err := pointLatest(o.ResultsDir, runID); err != nil {
		fmt.Fprintf(o.Log, "warning: %v\n", err)
	}
	sum := sha256.Sum256(o.ScenarioText)
	info := result.RunInfo{
		RunID:    runID,
		Scenario: result.ScenarioCopy{Name: s.Name, Path: s.File(), SHA256: hex.EncodeToString(sum[:]), Text: string(o.ScenarioText)},
		Version:  o.Version, Revision: o.Revision,
		Start: start, Host: hostinfo.Take(), Tools: toolVersions(), Baseline: s.Baseline,
		Analysis: s.Analysis(),
	}
	if err := result.WriteRun(dir, info); err != nil {
		return dir, err
	}
	w, err := openSinks(dir)
	if err != nil {
		return dir, err
	}
	defer w.Close()

	var undo cleanup.Stack
	instances := map[string]platform.Instance{}
	defer func() { err = o.closeRun(ctx, dir, &info, instances, &undo, err) }()

	env, err := o.provision(ctx, runID, dir, &undo)
	if err != nil {
		return dir, err
	}
	if s.Density != nil {
		fmt.Fprintf(o.Log, "run %s: density sweep, levels %v × %d rounds × %d platforms\n", runID, s.Density.Levels, s.Density.Repetitions, len(s.Platforms))
		return dir, sweep(ctx, o, env, w, &info)
	}
	var failed []string
	info.Platforms, failed, err = startPlatforms(ctx, o, s.Platforms, env, &undo, instances, w.samples, 0)
	if err != nil {
		return dir, err
	}
	if err := result.WriteRun(dir, info); err != nil {
		return dir, err
	}

	trials := scenario.Plan(s)
	fmt.Fprintf(o.Log, "run %s: %s\n", runID, scenario.Describe(s))
	if err := runTrials(ctx, o, instances, trials, w, runID, 0); err != nil {
		return dir, err
	}
	if s.Adaptive(s.Repetitions) {
		if err := adapt(ctx, o, instances, w, &info); err != nil {
			return dir, err
		}
	}
	if len(failed) > 0 {
		return dir, fmt.Errorf("%w: %s (the others ran; see the notes of the report)", ErrPlatformsFailed, strings.Join(failed, ", "))
	}
	return dir, nil
}

// provision makes what a run's platforms share, pushing its removal onto
// undo: the scratch directory, the bridge when a workload measures over
// the network, the tools rootfs (and image) when a platform runs a tool.
func (o *Options) provision(ctx context.Context, runID, dir string, undo *cleanup.Stack) (env Env, err error) {
	s := o.Scenario
	env = Env{RunID: runID, RunDir: dir, Binary: o.Binary, IDs: new(atomic.Int64), Decision: &kvm.Decision{}, CacheDir: o.CacheDir, Sample: s.Sample}
	if env.Scratch, err = makeScratch(s, runID, undo); err != nil {
		return env, err
	}
	if env.Network, err = makeNetwork(ctx, s, runID, undo); err != nil {
		return env, err
	}
	env.Tools, env.ToolsImage, err = makeTools(ctx, s, o.CacheDir, o.Log)
	return env, err
}

// closeRun ends a run (or a resume of it), whatever err it ends with:
// the platforms' info refreshed from their instances (which learn things
// while they run, such as a guest's restarts), everything torn down,
// run.json written. It returns err with what went wrong on the way.
func (o *Options) closeRun(ctx context.Context, dir string, info *result.RunInfo, instances map[string]platform.Instance, undo *cleanup.Stack, err error) error {
	for i, p := range info.Platforms {
		if inst := instances[p.Name]; inst != nil {
			info.Platforms[i].Info = maps.Clone(inst.Info())
		}
	}
	if cerr := o.teardown(ctx, undo); cerr != nil {
		err = errors.Join(err, cerr)
	}
	info.End = time.Now()
	info.Interrupted = errors.Is(err, ErrInterrupted)
	if werr := result.WriteRun(dir, *info); werr != nil {
		err = errors.Join(err, werr)
	}
	return err
}

// Latest is the symlink in the results directory that names the newest run.
const Latest = "latest"

// pointLatest makes ResultsDir/latest point at the run, replacing the
// previous link in one rename.
func pointLatest(results, runID string) error {
	tmp := filepath.Join(results, "."+Latest+"-"+runID)
	os.Remove(tmp)
	if err := os.Symlink(runID, tmp); err != nil {
		return fmt.Errorf("link %s: %w", Latest, err)
	}
	if err := os.Rename(tmp, filepath.Join(results, Latest)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("link %s: %w", Latest, err)
	}
	return nil
}

// ErrPlatformsFailed is returned when some platforms could not start; the
// trials of the others were run and written.
var ErrPlatformsFailed = errors.New("platforms did not start")

// startPlatforms starts the platforms in order, pushing each Close onto
// undo and writing the boot sample of those that report one. A platform
// that does not start is recorded and named in failed; the others go on.
func startPlatforms(ctx context.Context, o Options, platforms []scenario.Platform, env Env, undo *cleanup.Stack,
	instances map[string]platform.Instance, samples *result.SampleWriter, round int) (infos []result.PlatformInfo, failed []string, err error) {
	for _, p := range platforms {
		if ctx.Err() != nil {
			return infos, failed, ErrInterrupted
		}
		pi := result.PlatformInfo{Name: p.Name, Type: p.Type}
		inst, serr := startPlatform(ctx, o, p, env, undo)
		if inst != nil {
			pi.Info = maps.Clone(inst.Info())
		}
		if serr != nil {
			if ctx.Err() != nil {
				return infos, failed, ErrInterrupted
			}
			pi.Error = serr.Error()
			failed = append(failed, p.Name)
			fmt.Fprintf(o.Log, "platform %s did not start, its trials are skipped: %v\n", p.Name, serr)
		} else {
			instances[p.Name] = inst
			fmt.Fprintf(o.Log, "platform %s (%s) ready%s\n", p.Name, p.Type, describeInfo(pi.Info))
			if sr, ok := inst.(platform.StartupReporter); ok {
				boot := startupSample(env.RunID, p.Name, inst, sr)
				boot.Round = round
				if err := samples.Write(boot); err != nil {
					return infos, failed, err
				}
			}
		}
		infos = append(infos, pi)
	}
	return infos, failed, nil
}

// runTrials runs the trials whose platform has an instance, writing each
// sample as soon as it is measured.
func runTrials(ctx context.Context, o Options, instances map[string]platform.Instance, trials []scenario.Trial, w *sinks, runID string, round int) error {
	if o.Progress != nil {
		n := 0
		for _, t := range trials {
			if instances[t.Platform] != nil {
				n++
			}
		}
		o.Progress.Begin(n)
	}
	for i, t := range trials {
		inst := instances[t.Platform]
		if inst == nil {
			continue
		}
		sample, err := runTrial(ctx, o.Scenario, inst, t, runID, round, w)
		if errors.Is(err, ErrInterrupted) {
			return ErrInterrupted
		}
		if err != nil {
			return err
		}
		if err := w.samples.Write(sample); err != nil {
			return err
		}
		if o.Progress != nil {
			o.Progress.Done(sample)
		} else {
			fmt.Fprintf(o.Log, "[%d/%d] %s\n", i+1, len(trials), describeSample(sample))
		}
	}
	return nil
}

// startPlatform builds and starts one platform, pushing its Close onto undo.
func startPlatform(ctx context.Context, o Options, p scenario.Platform, env Env, undo *cleanup.Stack) (platform.Instance, error) {
	plat, err := o.NewPlatform(p, env)
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

func runTrial(ctx context.Context, s *scenario.Scenario, inst platform.Instance, t scenario.Trial, runID string, round int, w *sinks) (result.Sample, error) {
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
	var trace result.Trace
	if coll != nil {
		_, client := t.Impl.(workload.Client)
		trace = result.Trace{RunID: runID, Workload: t.Workload, Label: t.Label, Platform: t.Platform,
			Trial: t.Rep, Warmup: t.Warmup, Round: round, Start: sample.Start, Client: client, Result: coll.Stop()}
		trace.Series = append(trace.Series, res.Series...)
		res.Footprint = footprint(trace.Series)
	}
	if ctx.Err() != nil {
		return sample, ErrInterrupted
	}
	sample.Metrics, sample.Warnings = res.Metrics, append(sample.Warnings, res.Warnings...)
	sample.Histograms = res.Histograms
	if err == nil {
		sample.Metrics = append(sample.Metrics, workload.Cost(res)...)
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
	return agent.Request{Type: t.Type, Params: t.Params, Profile: profile, Tool: tool, Fresh: fresh}
}

// attempt runs a trial of the workload w once within the scenario's timeout.
func attempt(ctx context.Context, s *scenario.Scenario, inst platform.Instance, w workload.Workload, req agent.Request) (workload.Result, error) {
	tctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	var res workload.Result
	var err error
	if c, ok := w.(workload.Client); ok {
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
func withClient(ctx context.Context, inst platform.Instance, req agent.Request, c workload.Client) (workload.Result, error) {
	var addr string
	if a, ok := inst.(platform.Addressed); ok {
		addr = a.Addr()
	}
	if addr == "" {
		return workload.Result{}, fmt.Errorf("%s needs a platform the host can reach over the network: set network: bridge, nat or host on a container platform", req.Type)
	}
	type served struct {
		res workload.Result
		err error
	}
	sctx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	cctx, stopClient := context.WithCancel(ctx)
	defer stopClient()
	done := make(chan served, 1)
	go func() {
		res, err := inst.Run(sctx, req)
		stopClient() // a server that ended early, failed, cannot be waited for
		done <- served{res, err}
	}()
	res, cerr := c.Client(cctx, addr, req.Params) // complete: the plan filled in the defaults
	if cerr != nil {
		stopServer()
	}
	srv := <-done
	if cerr != nil { // the server was stopped for it
		return res, fmt.Errorf("client: %w", cerr)
	}
	if srv.err != nil {
		return res, fmt.Errorf("server: %w", srv.err)
	}
	res.HostCPU, res.Series, res.Profile = srv.res.HostCPU, srv.res.Series, srv.res.Profile
	res.Warnings = append(res.Warnings, srv.res.Warnings...)
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

func describeInfo(info map[string]string) string {
	if info["accel"] == "" {
		return ""
	}
	return fmt.Sprintf(": accel %s (%s)", info["accel"], info["accel_reason"])
}

func describeSample(s result.Sample) string {
	what := s.Workload
	if s.Label != "" {
		what += " " + s.Label
	}
	kind := ""
	if s.Warmup {
		kind = " (warmup)"
	}
	if s.Error != "" {
		return fmt.Sprintf("%s on %s%s: FAILED: %s", what, s.Platform, kind, s.Error)
	}
	var vals string
	for _, m := range s.Metrics {
		vals += fmt.Sprintf(" %s=%s", m.Name, units.Format(m.Value, m.Unit))
	}
	return fmt.Sprintf("%s on %s%s:%s (%.2fs)", what, s.Platform, kind, vals, s.Duration)
}

// toolVersions records the versions of the system tools platforms use.
func toolVersions() map[string]string {
	out := map[string]string{}
	for name, args := range map[string][]string{
		"runc": {"--version"}, "crun": {"--version"}, "qemu-system-x86_64": {"--version"},
	} {
		if path, err := exec.LookPath(name); err == nil {
			if v := platform.ToolVersion(path, args...); v != "" {
				out[name] = v
			}
		}
	}
	return out
}
