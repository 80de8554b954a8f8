// Package runner executes a plan: it starts every platform of the scenario,
// runs the interleaved trials, appends each sample to samples.jsonl as soon as
// it is measured, and tears everything down through one cleanup stack on
// success, failure and interrupt alike.
package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vmbench/vmbench/internal/cleanup"
	"github.com/vmbench/vmbench/internal/hostinfo"
	"github.com/vmbench/vmbench/internal/hostnet"
	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/rundir"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/untrusted"
)

// ErrInterrupted is returned when the run was stopped by its context; the
// samples measured until then are written.
var ErrInterrupted = errors.New("interrupted")

// Options configure one run.
type Options struct {
	Scenario     *scenario.Scenario
	ScenarioText []byte
	Labels       map[string]string // vmbench run --label
	ResultsDir   string            // the run goes to ResultsDir/<run-id>
	Binary       string            // the static vmbench binary the platforms run
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

// Progress follows a run's trials, on a terminal. Begin is called again
// with a larger total when an adaptive look plans more trials.
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
	Network *hostnet.Network
	// Tools is the tools rootfs containers run tool workloads in, and
	// ToolsImage the ext4 image of it that guests attach; "" when no
	// platform of the kind runs a tool workload.
	Tools, ToolsImage string
}

// complete fills in the defaults of the options and checks the binary:
// static, unless every platform is native.
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
	if o.Scenario != nil && !o.Scenario.NeedsStaticAgent() {
		return nil // native trials run the agent as a host process
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

// Run executes the scenario and returns the run directory. The directory
// holds run.json and samples.jsonl even when Run returns an error, as long as
// it could be created.
func Run(ctx context.Context, o Options) (dir string, err error) {
	if err := o.complete(); err != nil {
		return "", err
	}
	s := o.Scenario
	start := time.Now()
	dir, runID, err := rundir.Make(o.ResultsDir, func() string { return rundir.FreeRunID(start, rundir.LiveRuns(), hostnet.TagInUse) }, o.Log)
	if err != nil {
		return "", err
	}
	if err := rundir.PointLatest(o.ResultsDir, runID); err != nil {
		fmt.Fprintf(o.Log, "warning: %v\n", err)
	}
	sum := sha256.Sum256(o.ScenarioText)
	info := result.RunInfo{
		RunID:    runID,
		Scenario: result.ScenarioCopy{Name: s.Name, Path: s.File(), SHA256: hex.EncodeToString(sum[:]), Text: string(o.ScenarioText)},
		Version:  o.Version, Revision: o.Revision, Labels: o.Labels,
		Start: start, Host: hostinfo.Take(), Tools: hostinfo.ToolVersions(), Baseline: s.Baseline,
		Analysis: s.Analysis(),
	}
	if err := result.WriteRun(dir, info); err != nil {
		return dir, err
	}
	// Until the session closes, vmbench cleanup leaves the run's resources alone.
	ss, err := openSession(o, dir, &info, 0)
	if err != nil {
		return dir, err
	}
	defer func() { err = ss.close(ctx, err, ss.endRun) }()
	if err := ss.provision(ctx, 0); err != nil {
		return dir, err
	}
	if s.Density != nil {
		fmt.Fprintf(o.Log, "run %s: density sweep, levels %v × %d rounds × %d platforms\n", runID, s.Density.Levels, s.Density.Repetitions, len(s.Platforms))
		return dir, ss.sweep(ctx)
	}
	var failed []string
	info.Platforms, failed, err = ss.start(ctx, s.Platforms)
	if err != nil {
		return dir, err
	}
	plan := scenario.Plan(s)
	if err := ss.plan(plan); err != nil {
		return dir, err
	}
	fmt.Fprintf(o.Log, "run %s: %s\n", runID, scenario.Describe(s))
	if err := ss.run(ctx, plan); err != nil {
		return dir, err
	}
	if s.Adaptive(s.Repetitions) {
		if err := ss.adapt(ctx); err != nil {
			return dir, err
		}
	}
	if len(failed) > 0 {
		return dir, fmt.Errorf("%w: %s (the others ran; see the notes of the report)", ErrPlatformsFailed, strings.Join(failed, ", "))
	}
	return dir, nil
}

// ErrPlatformsFailed is returned when some platforms could not start; the
// trials of the others were run and written.
var ErrPlatformsFailed = errors.New("platforms did not start")

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
		return fmt.Sprintf("%s on %s%s: FAILED: %s", what, s.Platform, kind, untrusted.Line(untrusted.Cap(s.Error, result.MaxError)))
	}
	var vals string
	for _, m := range s.Metrics {
		vals += fmt.Sprintf(" %s=%s", m.Name, units.Format(m.Value, m.Unit))
	}
	return fmt.Sprintf("%s on %s%s:%s (%.2fs)", what, s.Platform, kind, vals, s.Duration)
}
