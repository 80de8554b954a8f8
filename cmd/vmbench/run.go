package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/runner"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/scenarios"
)

type runOptions struct {
	results string
	binary  string
	yes     bool
	resume  string
	labels  []string // key=value
	sets    []string // key=value
	only    []string
	// out receives the report's table, errs the progress and the notes.
	out, errs io.Writer
}

func newRunCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [SCENARIO]",
		Short: "Run a scenario and report the overhead of each platform",
		Long: `Run every trial of a scenario (the embedded default scenario when none is
given), write results/<run-id>/run.json and samples.jsonl as trials finish,
then print the comparison table and write report.md beside them.

Ctrl-C stops the trial in flight, tears everything down, keeps the samples
measured so far and reports them (exit code 4); a second Ctrl-C exits at once.

--resume RUN_DIR continues a run that was killed or interrupted: the same
run id and scenario (its copy in run.json; a SCENARIO given must be the
same file, by sha256), its platforms started afresh, every finished trial
skipped, the rest appended, and the report rendered again.`,
		Example: `  vmbench run
  vmbench run scenarios/default.yaml --results /var/lib/vmbench/results
  vmbench run --resume results/20261129-155524-ac1d`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			}
			o.out, o.errs = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runScenario(cmd.Context(), path, o)
		},
	}
	cmd.Flags().StringVar(&o.results, "results", "results", "directory that receives the run directory")
	cmd.Flags().StringVar(&o.binary, "agent-binary", "", "static vmbench binary the platforms run (default: this binary)")
	cmd.Flags().BoolVar(&o.yes, "yes", false, "run a plan estimated to take longer than the scenario's max_duration")
	cmd.Flags().StringVar(&o.resume, "resume", "", "continue the killed or interrupted run in this directory")
	cmd.Flags().StringArrayVar(&o.labels, "label", nil, "key=value to record with the run (run.json, and bench.txt for benchstat -col key); repeatable")
	cmd.Flags().StringArrayVar(&o.sets, "set", nil, "key=value overriding the scenario: a top-level key (repetitions=3) or a parameter of every workload that has it (duration=300ms); repeatable")
	cmd.Flags().StringSliceVar(&o.only, "only", nil, "run only these workloads and platforms, by name (comma-separated); the others, and gates on them, go")
	return cmd
}

// loadScenario loads path, or the embedded default when path is "", and
// checks what it names on this host when it is to run here.
func loadScenario(path string, here bool) (*scenario.Scenario, []byte, error) {
	return loadPlanned(path, here, true)
}

// loadPlanned is loadScenario, refusing (unless accept) a plan estimated to
// take longer than the scenario's max_duration.
func loadPlanned(path string, here, accept bool) (*scenario.Scenario, []byte, error) {
	return loadEdited(path, here, accept, nil, nil)
}

// loadEdited is loadPlanned with --set and --only applied to the scenario.
func loadEdited(path string, here, accept bool, sets, only []string) (*scenario.Scenario, []byte, error) {
	var s *scenario.Scenario
	var text []byte
	var err error
	if path == "" {
		if text, err = scenario.Edit(scenarios.Default, sets, only); err == nil {
			s, err = scenario.Load(scenarios.DefaultName, text)
		}
	} else {
		s, text, err = scenario.LoadEdited(path, sets, only)
	}
	if err == nil && here {
		if errs := scenario.CheckHost(s, platform.CheckSeccomp); len(errs) > 0 {
			err = errs
		}
	}
	if err == nil {
		if errs := scenario.CheckPlan(s, accept); len(errs) > 0 {
			err = errs
		}
	}
	if err != nil {
		var errs scenario.Errors
		if errors.As(err, &errs) {
			return nil, nil, usageError(fmt.Errorf("%d problem(s) in the scenario:\n%w", len(errs), err))
		}
		return nil, nil, usageError(err)
	}
	return s, text, nil
}

func runScenario(ctx context.Context, path string, o runOptions) error {
	if o.resume != "" {
		return resumeRun(ctx, path, o)
	}
	s, text, err := loadEdited(path, true, o.yes, o.sets, o.only)
	if err != nil {
		return err
	}
	if errs := scenario.CheckRoot(s); len(errs) > 0 {
		return usageError(fmt.Errorf("%d problem(s) in the scenario:\n%w", len(errs), errs))
	}
	labels := map[string]string{}
	for _, kv := range o.labels {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsAny(k, " :\t") {
			return usageError(fmt.Errorf("--label %q: want key=value with a key of one word, such as commit=3fa2c1d", kv))
		}
		if err := scenario.CheckPlain(kv); err != nil {
			return usageError(fmt.Errorf("--label: %w (a label goes into bench.txt, where a newline adds benchmark lines)", err))
		}
		labels[k] = v
	}
	bin, err := platformBinary(o.binary, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.errs, "vmbench: the plan should take %s\n", estimateText(s))
	ctx, stop := interruptible(ctx, o.errs)
	defer stop()

	ro := runner.Options{
		Scenario: s, ScenarioText: text, Labels: labels, ResultsDir: o.results, Binary: bin,
		Version: version, Revision: revision, Log: o.errs,
	}
	if bar := newProgress(o.errs); bar != nil {
		ro.Log, ro.Progress = bar, bar
	}
	dir, runErr := runner.Run(ctx, ro)
	if bar, ok := ro.Progress.(*progress); ok {
		bar.Finish()
	}
	if dir == "" {
		return runErr
	}
	if err := renderRun(dir, o.out, o.errs); err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintf(o.errs, "report: %s\n", filepath.Join(dir, "report.md"))
	if n := len(s.Gates); n > 0 {
		fmt.Fprintf(o.errs, "this scenario has %d gate(s): vmbench gate %s [--baseline RUN_OR_FILE]\n", n, dir)
	}
	if errors.Is(runErr, runner.ErrInterrupted) {
		return &exitError{code: exitInterrupted, err: fmt.Errorf("interrupted: partial results in %s", dir)}
	}
	return cmp.Or(runErr, failedCells(dir))
}

// failedCells is the error of a run some of whose cells have no measured
// trial at all: their every trial failed.
func failedCells(dir string) error {
	samples, err := result.ReadSamples(dir)
	if err != nil {
		return err
	}
	cells := result.FailedCells(samples)
	if len(cells) == 0 {
		return nil
	}
	return &exitError{code: exitTrialsFailed, err: fmt.Errorf("every trial of %d cell(s) failed; the report's summary says which lines they leave undecided:\n  %s", len(cells), strings.Join(cells, "\n  "))}
}

// resumeRun continues a killed or interrupted run.
func resumeRun(ctx context.Context, path string, o runOptions) error {
	info, err := result.ReadRun(o.resume)
	if err != nil {
		return usageError(fmt.Errorf("read run: %w", err))
	}
	if path != "" {
		text, err := os.ReadFile(path)
		if err != nil {
			return usageError(err)
		}
		if sum := sha256.Sum256(text); hex.EncodeToString(sum[:]) != info.Scenario.SHA256 {
			return usageError(fmt.Errorf("%s changed since run %s was made of it (sha256 %.12s now, %.12s then): resume with the run's own copy (omit SCENARIO), or start a new run", path, info.RunID, hex.EncodeToString(sum[:]), info.Scenario.SHA256))
		}
	}
	s, err := storedScenario(info)
	if err != nil {
		return err
	}
	if errs := append(scenario.CheckRoot(s), scenario.CheckHost(s, platform.CheckSeccomp)...); len(errs) > 0 {
		return usageError(fmt.Errorf("the run cannot be resumed on this host:\n%w", errs))
	}
	bin, err := platformBinary(o.binary, s)
	if err != nil {
		return err
	}
	ctx, stop := interruptible(ctx, o.errs)
	defer stop()
	runErr := runner.Resume(ctx, runner.Options{Scenario: s, Binary: bin, Log: o.errs}, o.resume)
	if err := renderRun(o.resume, o.out, o.errs); err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintf(o.errs, "report: %s\n", filepath.Join(o.resume, "report.md"))
	if errors.Is(runErr, runner.ErrInterrupted) {
		return &exitError{code: exitInterrupted, err: fmt.Errorf("interrupted again: resume once more with --resume %s", o.resume)}
	}
	return cmp.Or(runErr, failedCells(o.resume))
}

// estimateText is how long a scenario should take: "about 2m20s", and
// for an adaptive run "about 2m20s, up to 4m45s if the looks add every
// round they may (time_budget 2m)".
func estimateText(s *scenario.Scenario) string {
	h := estimateHost()
	least, most := scenario.Estimate(s, h).Round(time.Second), scenario.EstimateMost(s, h).Round(time.Second)
	text := "about " + least.String()
	if most > least {
		text += ", up to " + most.String() + " if the adaptive looks add every round they may"
		if s.TimeBudget > 0 {
			text += " (time_budget " + s.TimeBudget.String() + ")"
		}
	}
	return text
}

// estimateHost is what an estimate knows of this host: whether /dev/kvm
// opens.
func estimateHost() scenario.Host { return scenario.Host{KVM: kvm.KVMUsable() == nil} }

// platformBinary is the vmbench binary the platforms run: the one
// --agent-binary names, else this one. It must be static when s (nil: any
// use) has a platform other than native; a plain go build is not, and
// fails here before anything starts, with the command that builds one.
func platformBinary(flag string, s *scenario.Scenario) (string, error) {
	bin := flag
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		bin = exe
	}
	if s == nil || s.NeedsStaticAgent() {
		if err := platform.CheckStatic(bin); err != nil {
			return "", usageError(err)
		}
	}
	return bin, nil
}

// interruptible returns a context that the first SIGINT or SIGTERM cancels,
// so that the trial in flight stops and everything is torn down; a second
// signal exits at once.
func interruptible(parent context.Context, log io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(log, "vmbench: interrupted: stopping the trial, tearing down, keeping the samples so far (again to exit at once)")
		cancel()
		if _, ok := <-sigs; ok {
			os.Exit(exitInterrupted)
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(sigs)
		cancel()
	}
}
