package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/cleanup"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/workload"
)

// Resume continues the run in dir, killed or interrupted: same run id and
// scenario (o.Scenario must be the one run.json holds), its platforms
// provisioned afresh, every trial that finished skipped, the rest run and
// appended. A variant that still has measured trials to run on a platform
// runs its warmups again first: the platform starts cold.
func Resume(ctx context.Context, o Options, dir string) (err error) {
	if err := o.complete(); err != nil {
		return err
	}
	s := o.Scenario
	if s.Density != nil {
		return errors.New("a density sweep cannot be resumed yet: run it again")
	}
	info, err := result.ReadRun(dir)
	if err != nil {
		return err
	}
	old, err := result.ReadSamples(dir)
	if err != nil {
		return err
	}
	release, lerr := lockRun(info.RunID)
	defer release()
	if lerr != nil {
		return fmt.Errorf("resume: %w", lerr)
	}
	trials := remaining(scenario.Plan(s), old)
	info.Resumes = append(info.Resumes, result.Resume{At: time.Now(), Trials: len(trials)})
	info.Interrupted = false
	w, err := openSinks(dir)
	if err != nil {
		return err
	}
	defer w.Close()
	var undo cleanup.Stack
	instances := map[string]platform.Instance{}
	defer func() { err = o.closeRun(ctx, dir, &info, instances, &undo, err) }()
	env, err := o.provision(ctx, info.RunID, dir, &undo)
	if err != nil {
		return err
	}
	// Container names continue after the killed run's.
	env.IDs.Store(int64(len(old)) + 100000)
	var failed []string
	info.Platforms, failed, err = startPlatforms(ctx, o, s.Platforms, env, &undo, instances, w.samples, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "resume %s: %d of %d trials left\n", info.RunID, len(trials), scenario.Trials(s))
	if err := runTrials(ctx, o, instances, trials, w, info.RunID, 0); err != nil {
		return err
	}
	if s.Adaptive(s.Repetitions) {
		if err := adapt(ctx, o, instances, w, &info); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: %s", ErrPlatformsFailed, strings.Join(failed, ", "))
	}
	return nil
}

// remaining is the plan less the measured trials the samples hold, with
// the warmups of every variant and platform that still has measured trials
// to run.
func remaining(plan []scenario.Trial, samples []result.Sample) []scenario.Trial {
	type key struct {
		workload, label, platform string
		rep                       int
	}
	done := map[key]bool{}
	for _, s := range samples {
		if !s.Warmup && s.Round == 0 && s.Workload != workload.Boot {
			done[key{s.Workload, s.Label, s.Platform, s.Trial}] = true
		}
	}
	cell := func(t scenario.Trial) Cell { return Cell{t.Workload, t.Label, t.Platform} }
	left := map[Cell]bool{}
	for _, t := range plan {
		if !t.Warmup && !done[key{t.Workload, t.Label, t.Platform, t.Rep}] {
			left[cell(t)] = true
		}
	}
	var out []scenario.Trial
	for _, t := range plan {
		if t.Warmup && left[cell(t)] || !t.Warmup && !done[key{t.Workload, t.Label, t.Platform, t.Rep}] {
			t.Seq = len(out)
			out = append(out, t)
		}
	}
	return out
}
