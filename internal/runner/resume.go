package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
	run, err := result.Open(dir)
	if err != nil {
		return err
	}
	info, old := run.Info, run.Samples
	trials := remaining(scenario.Plan(s), old)
	info.Resumes = append(info.Resumes, result.Resume{At: time.Now(), Trials: len(trials)})
	info.Interrupted = false
	ss, err := openSession(o, dir, &info, 0)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	defer func() { err = ss.close(ctx, err, ss.endRun) }()
	// Container names continue after the killed run's.
	if err := ss.provision(ctx, int64(len(old))+100000); err != nil {
		return err
	}
	var failed []string
	info.Platforms, failed, err = ss.start(ctx, s.Platforms)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "resume %s: %d of %d trials left\n", info.RunID, len(trials), scenario.Trials(s))
	if err := ss.run(ctx, trials); err != nil {
		return err
	}
	if s.Adaptive(s.Repetitions) {
		if err := ss.adapt(ctx); err != nil {
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
		cell result.Cell
		rep  int
	}
	done := map[key]bool{}
	for _, s := range samples {
		if !s.Warmup && s.Round == 0 && s.Workload != workload.Boot {
			done[key{s.Cell(), s.Trial}] = true
		}
	}
	left := map[result.Cell]bool{}
	for _, t := range plan {
		if !t.Warmup && !done[key{t.Cell(), t.Rep}] {
			left[t.Cell()] = true
		}
	}
	var out []scenario.Trial
	for _, t := range plan {
		if t.Warmup && left[t.Cell()] || !t.Warmup && !done[key{t.Cell(), t.Rep}] {
			t.Seq = len(out)
			out = append(out, t)
		}
	}
	return out
}
