package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/gate"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/runner"
	"github.com/vmbench/vmbench/internal/scenario"
)

type gateOptions struct {
	baseline         string
	scenario         string
	junit, markdown  string
	json             string
	retry            int
	failInconclusive bool
	allowEmpty       bool
	binary           string
	history          int
	historyThreshold string
	historyResults   []string
}

func newGateCmd() *cobra.Command {
	var o gateOptions
	cmd := &cobra.Command{
		Use:   "gate RUN_DIR",
		Short: "Evaluate the scenario's gates on a stored run (exit 3 when one fails)",
		Long: `Evaluate the gates of the run's scenario (its gates: list) on the stored
samples, without re-running anything, and print a verdict per gate, variant
and platform with the numbers behind it. Also writes RUN_DIR/gates.xml
(JUnit) and RUN_DIR/gates.md (Markdown, for a pull-request comment).

A gate passes only when its whole interval is within the bound and fails
only when its whole interval breaks it: the evidence decides, not the
absence of it. When the interval straddles the bound the verdict is
inconclusive: --retry N re-runs just those cells, interleaved, up to N
rounds, and decides on all the data. The 95% level (1−alpha for
regression gates) is split over the looks at the data (the run's, and
each retry), so that retrying until a verdict comes keeps its error rate.
Inconclusive verdicts do not fail the gate unless --fail-inconclusive is
given.

--history N also reads the stored runs of the same scenario up to this one
(RUN_DIR's results directory, or --history-results) as vmbench history does,
and fails when an overhead's level moved for the worse at a change point
within the last N runs, by more than --history-threshold with its whole
interval, and still holds: the slow creep of steps that each passed.

Exit codes: 0 every gate passed, 3 a gate failed, 6 the gates checked
nothing (every check skipped: no baseline, or none that covers the gated
cells; --allow-empty makes that 0), 2 bad input (run, scenario, baseline or
flags), 1 internal error.`,
		Example: `  vmbench gate results/20261125-093000-77c1
  vmbench gate results/20261125-093000-77c1 --baseline baseline.json --retry 2
  vmbench gate results/20261125-093000-77c1 --history 6
  vmbench baseline save results/20261124-221500-3fa2 baseline.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGate(cmd, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.baseline, "baseline", "", "run directory or baseline file (vmbench baseline save) for the regression gates")
	f.StringVar(&o.scenario, "scenario", "", "take the gates from this scenario file instead of the run's own copy")
	f.StringVar(&o.junit, "junit", "", "where to write JUnit XML (default RUN_DIR/gates.xml)")
	f.StringVar(&o.markdown, "markdown", "", "where to write the Markdown summary (default RUN_DIR/gates.md)")
	f.StringVar(&o.json, "json", "", "where to write the verdicts as JSON (default RUN_DIR/gates.json)")
	f.IntVar(&o.retry, "retry", 0, "re-run the trials of inconclusive gates, up to this many rounds")
	f.BoolVar(&o.failInconclusive, "fail-inconclusive", false, "count inconclusive verdicts as failures")
	f.BoolVar(&o.allowEmpty, "allow-empty", false, "exit 0 when every check was skipped (without it: exit 6)")
	f.StringVar(&o.binary, "agent-binary", "", "static vmbench binary the platforms run on --retry (default: this binary)")
	f.IntVar(&o.history, "history", 0, "also fail on a persistent change point in the stored runs' history of a cell within the last N runs (vmbench history), even where every step passed")
	f.StringVar(&o.historyThreshold, "history-threshold", "2%", "with --history: the largest persistent worsening of an overhead that passes")
	f.StringArrayVar(&o.historyResults, "history-results", nil, "with --history: the results directories that hold the history; repeatable (default: RUN_DIR's own)")
	return cmd
}

func runGate(cmd *cobra.Command, dir string, o gateOptions) error {
	if o.retry < 0 {
		return usageError(fmt.Errorf("--retry must be ≥ 0, got %d", o.retry))
	}
	info, err := result.ReadRun(dir)
	if err != nil {
		return usageError(fmt.Errorf("read run: %w", err))
	}
	if info.Fleet != nil && o.retry > 0 && o.scenario == "" {
		return usageError(errors.New("gate --retry on a fleet run runs its trials here, as root: name the scenario file the hosts ran with --scenario FILE (the run's stored copy came from a host and is not run)"))
	}
	s, err := gateScenario(info, o.scenario, o.retry > 0, o.history > 0)
	if err != nil {
		return err
	}
	var past []gate.Check
	if o.history > 0 {
		if past, err = historyChecks(dir, info, o); err != nil {
			return err
		}
	}
	var base *gate.Baseline
	if o.baseline != "" {
		if base, err = gate.LoadBaseline(o.baseline); err != nil {
			return usageError(fmt.Errorf("read baseline: %w", err))
		}
	}
	// Every look at the data spends some of the error rate: the run's own
	// (one, or its adaptive looks), the retries already made, and the ones
	// this call may make.
	looks := info.Looks() + o.retry
	// A run gated against itself: its retries grow the baseline too.
	self := o.baseline != "" && sameDir(o.baseline, dir)
	evaluate := func() (gate.Report, error) {
		if self {
			if base, err = gate.LoadBaseline(o.baseline); err != nil {
				return gate.Report{}, usageError(fmt.Errorf("read baseline: %w", err))
			}
		}
		r, err := openRun(dir)
		if err != nil {
			return gate.Report{}, err
		}
		rep := gate.Evaluate(s, r.Info, r.Samples, base, looks)
		rep.Checks = append(rep.Checks, past...)
		return rep, nil
	}
	rep, err := evaluate()
	if err != nil {
		return err
	}
	// Retries run the run's own platforms and workloads, whichever file
	// the gates came from; a fleet run's, only from the file named here
	// (its stored copy came from another host).
	var own *scenario.Scenario
	if o.retry > 0 {
		if own, err = retryScenario(info, s, o.scenario); err != nil {
			return err
		}
	}
	var retryErr error
	retried := false
	for round := len(info.Retries) + 1; round <= len(info.Retries)+o.retry && len(rep.RetryCells()) > 0; round++ {
		retried = true
		// The baseline's definitions of gated platforms that changed run
		// beside them, so that the regression is judged paired.
		retryS, cells := own, rep.RetryCells()
		if twins := gate.TwinsOf(rep, base, own); len(twins.Platforms) > 0 {
			s2 := *own
			s2.Platforms = append(slices.Clone(own.Platforms), twins.Platforms...)
			s2.Repetitions = max(s2.Repetitions, twins.Rounds)
			retryS, cells = &s2, append(cells, twins.Cells...)
			for _, p := range twins.Platforms {
				of, _ := result.TwinOf(p.Name)
				fmt.Fprintf(cmd.ErrOrStderr(), "vmbench: %s is defined otherwise in the baseline: its definition runs beside it as %s, %d rounds, paired\n", of, p.Name, s2.Repetitions)
			}
		}
		if errs := append(scenario.CheckRoot(retryS), scenario.CheckHost(retryS, platform.CheckSeccomp)...); len(errs) > 0 {
			return usageError(fmt.Errorf("the run cannot be retried on this host:\n%w", errs))
		}
		retryErr = retryRound(cmd, dir, retryS, cells, rep, round, o)
		if rep, err = evaluate(); err != nil {
			return err
		}
		if retryErr != nil {
			break
		}
	}
	if retried {
		// The report judges at the level this call's verdicts used.
		if err := recordLooks(dir, len(info.Retries), looks); err != nil {
			return err
		}
		// The retries appended trials: the run's reports include them.
		r, err := loadRun(dir)
		if err != nil {
			return err
		}
		if err := writeFiles(dir, r, cmd.ErrOrStderr()); err != nil {
			return err
		}
	}
	if err := writeGateFiles(dir, rep, o, cmd.ErrOrStderr()); err != nil {
		return err
	}
	if err := gate.Text(cmd.OutOrStdout(), rep); err != nil {
		return err
	}
	switch {
	case errors.Is(retryErr, runner.ErrInterrupted):
		return &exitError{code: exitInterrupted, err: fmt.Errorf("retry interrupted; the verdicts above use the trials that finished")}
	case retryErr != nil && !errors.Is(retryErr, runner.ErrPlatformsFailed):
		return fmt.Errorf("retry: %w", retryErr)
	case rep.Failed():
		return silentExit(exitGateFailed)
	case o.failInconclusive && rep.Count(gate.Inconclusive) > 0:
		fmt.Fprintln(cmd.ErrOrStderr(), "vmbench: inconclusive verdicts count as failures (--fail-inconclusive)")
		return silentExit(exitGateFailed)
	}
	if rep.Empty() && !o.allowEmpty {
		return &exitError{code: exitNothingChecked, err: errors.New("the gates checked nothing (every check was skipped; the reasons are above): give a baseline that covers the gated cells, or --allow-empty where that is expected")}
	}
	return nil
}

// sameDir reports whether two paths name the same directory.
func sameDir(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && sa.IsDir() && os.SameFile(sa, sb)
}

// gateScenario is the scenario whose gates are evaluated: the run's own
// copy, or another file.
func gateScenario(info result.RunInfo, path string, here, history bool) (*scenario.Scenario, error) {
	var s *scenario.Scenario
	var err error
	if path != "" {
		s, _, err = loadScenario(path, here)
	} else {
		s, err = storedScenario(info)
	}
	if err != nil {
		return nil, err
	}
	if len(s.Gates) == 0 && !history {
		return nil, usageError(fmt.Errorf("scenario %q has no gates: add a gates: list to it (see docs/gates.md), or name another file with --scenario", s.Name))
	}
	return s, nil
}

// retryScenario is the scenario whose trials a retry runs: the run's own.
// A fleet run's stored text came from the first of its hosts, and a retry
// runs as root here: it must be the file named with --scenario (loaded as
// s; runGate refuses a fleet retry without one), and that file must be
// the one the hosts ran.
func retryScenario(info result.RunInfo, s *scenario.Scenario, path string) (*scenario.Scenario, error) {
	if info.Fleet == nil {
		if path == "" {
			return s, nil
		}
		return storedScenario(info)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError(err)
	}
	if sum := sha256.Sum256(text); hex.EncodeToString(sum[:]) != info.Scenario.SHA256 {
		return nil, usageError(fmt.Errorf("%s is not the scenario the fleet ran (sha256 %.12s, the run's %.12s): name the file the hosts ran", path, hex.EncodeToString(sum[:]), info.Scenario.SHA256))
	}
	return s, nil
}

// storedScenario is the scenario the run was made of, as run.json keeps it.
func storedScenario(info result.RunInfo) (*scenario.Scenario, error) {
	s, err := scenario.Stored(info)
	if err != nil {
		return nil, usageError(fmt.Errorf("the run's scenario does not load:\n%w", err))
	}
	return s, nil
}

// retryRound runs the trials of the inconclusive cells once more.
func retryRound(cmd *cobra.Command, dir string, s *scenario.Scenario, cells []result.Cell, rep gate.Report, round int, o gateOptions) error {
	bin, err := platformBinary(o.binary, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "vmbench: %d inconclusive verdict(s): retry round %d re-runs %d cell(s)\n", rep.Count(gate.Inconclusive), round, len(cells))
	ctx, stop := interruptible(cmd.Context(), cmd.ErrOrStderr())
	defer stop()
	return runner.Extend(ctx, runner.Options{Scenario: s, Binary: bin, Log: cmd.ErrOrStderr()}, dir, cells, round)
}

func writeGateFiles(dir string, rep gate.Report, o gateOptions, warn io.Writer) error {
	for _, f := range []struct {
		path, def string
		render    func(io.Writer, gate.Report) error
	}{
		{o.junit, "gates.xml", gate.JUnit},
		{o.markdown, "gates.md", gate.Markdown},
		{o.json, "gates.json", gate.JSON},
	} {
		in, name := "", f.path
		if name == "" {
			in, name = dir, f.def
		}
		var b bytes.Buffer
		if err := f.render(&b, rep); err != nil {
			return err
		}
		writeOutput(in, name, b.Bytes(), warn)
	}
	return nil
}

func newBaselineCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "baseline",
		Short: "Manage baseline files for regression gates",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "save RUN_DIR FILE",
		Short: "Store the samples of a run that later regression gates need, in one file to commit",
		Long: `Write FILE with RUN_DIR's description (host, platforms, scenario) and its
measured trials (warmups left out), one trial per line. Pass it to
vmbench gate --baseline FILE; a run directory works there too.`,
		Example: `  vmbench baseline save results/20261124-221500-3fa2 ci/baseline.json`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := loadRun(args[0])
			if err != nil {
				return err
			}
			n, err := gate.SaveBaseline(args[1], r.info, r.samples)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d trials of run %s\n", args[1], n, r.info.RunID)
			return nil
		},
	})
	return cmd
}

// recordLooks records in run.json, on the retries after the first done,
// the looks the gate call that made them counted.
func recordLooks(dir string, done, looks int) error {
	info, err := result.ReadRun(dir)
	if err != nil {
		return err
	}
	for i := done; i < len(info.Retries); i++ {
		info.Retries[i].Looks = looks
	}
	return result.WriteRun(dir, info)
}
