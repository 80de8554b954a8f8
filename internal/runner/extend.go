package runner

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
)

// Extend runs more trials of some cells of the stored run in dir and
// appends them to its samples.jsonl, each marked with round. The trials are
// the scenario's own (its warmups, then its repetitions), interleaved and
// rotated the same way, restricted to the cells; only the platforms of the
// cells are started, and they are torn down before Extend returns.
// o.Scenario must be the scenario the run was made of.
func Extend(ctx context.Context, o Options, dir string, cells []result.Cell, round int) (err error) {
	if err := o.complete(); err != nil {
		return err
	}
	run, err := result.Open(dir)
	if err != nil {
		return err
	}
	info, old := run.Info, run.Samples
	// Measured repetitions continue the numbering of each cell.
	next := map[result.Cell]int{}
	for _, s := range old {
		if c := s.Cell(); !s.Warmup && s.Trial >= next[c] {
			next[c] = s.Trial + 1
		}
	}
	// A twin (the baseline's definition of a platform) is numbered as its
	// platform, so that their trials pair round by round.
	for _, c := range cells {
		if of, twin := result.TwinOf(c.Platform); twin {
			next[c] = next[result.Cell{Workload: c.Workload, Label: c.Label, Platform: of}]
		}
	}
	var trials []scenario.Trial
	for _, t := range scenario.Plan(o.Scenario) {
		c := t.Cell()
		if !slices.Contains(cells, c) {
			continue
		}
		if !t.Warmup {
			t.Rep += next[c]
		}
		t.Seq = len(trials)
		trials = append(trials, t)
	}
	var platforms []scenario.Platform
	for _, p := range o.Scenario.Platforms {
		if slices.ContainsFunc(cells, func(c result.Cell) bool { return c.Platform == p.Name }) {
			platforms = append(platforms, p)
		}
	}
	if len(trials) == 0 {
		return fmt.Errorf("none of the cells to retry is in the scenario: %v", cells)
	}

	retry := result.Retry{Round: round, Start: time.Now(), Trials: len(trials)}
	for _, c := range cells {
		retry.Cells = append(retry.Cells, c.String())
	}
	ss, err := openSession(o, dir, &info, round)
	if err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	defer func() {
		err = ss.close(ctx, err, func(err error) error {
			retry.End = time.Now()
			if err != nil {
				retry.Error = err.Error()
			}
			// Re-read: nothing else writes run.json meanwhile, but keep what is there.
			if cur, rerr := result.ReadRun(dir); rerr == nil {
				info = cur
			}
			info.Retries = append(info.Retries, retry)
			return result.WriteRun(dir, info)
		})
	}()
	// Container names continue after the run's own: vmbench-<run-id>-<n>.
	if err := ss.provision(ctx, int64(round)*10000); err != nil {
		return err
	}
	_, failed, err := ss.start(ctx, platforms)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "retry round %d of run %s: %d trials of %d cells\n", round, info.RunID, len(trials), len(cells))
	if err := ss.plan(trials); err != nil {
		return err
	}
	if err := ss.run(ctx, trials); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: %v", ErrPlatformsFailed, failed)
	}
	return nil
}
