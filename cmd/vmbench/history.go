package main

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/gate"
	"github.com/vmbench/vmbench/internal/history"
	"github.com/vmbench/vmbench/internal/pgstore"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/units"
)

type historyOptions struct {
	results   []string
	db        string
	scenario  string
	labels    []string
	order     string
	alpha     float64
	minChange string
	asJSON    bool
	html      string
}

func newHistoryCmd() *cobra.Command {
	var o historyOptions
	cmd := &cobra.Command{
		Use:   "history",
		Short: "Read stored runs of a scenario as a history: each cell's overhead run after run, and where it changed",
		Long: `Read the stored runs of one scenario — under --results (repeatable), or in a
PostgreSQL database that vmbench publish wrote (--db) — and print, per cell,
where its overhead (or a platform's own value) changed level: the change
points of the series, found by E-Divisive means with a permutation test (as
Apache Otava and MongoDB's CI do), each with the run it starts at, its
magnitude with a 95% interval, and the labels that changed there.

The runs are ordered by their start time, or by a label (--order commit_seq);
--label keeps the runs with a label's value (branch=main, host=ci-7). Runs of
different scenarios are never mixed: name one with --scenario. A change of
the scenario file itself (its sha256) is said where it happens.

--json prints the history as one document (schema vmbench.history/v1);
--html FILE writes a trend chart per cell, change points marked.`,
		Example: `  vmbench history
  vmbench history --results /srv/vmbench/results --label branch=main --html history.html
  vmbench history --db postgres://vmbench@db/vmbench --scenario default --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := loadHistory(cmd, o)
			if err != nil {
				return err
			}
			if o.html != "" {
				var b bytes.Buffer
				if err := history.HTML(&b, h, o.order); err != nil {
					return err
				}
				writeOutput("", o.html, b.Bytes(), cmd.ErrOrStderr())
			}
			if o.asJSON {
				return history.JSON(cmd.OutOrStdout(), h)
			}
			return history.Text(cmd.OutOrStdout(), h, o.order)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.results, "results", nil, "a results directory to read runs from; repeatable (default results)")
	f.StringVar(&o.db, "db", "", "read the runs from this PostgreSQL database (postgres://…) instead, as vmbench publish wrote them")
	f.StringVar(&o.scenario, "scenario", "", "the scenario's name, when the runs are of several")
	f.StringArrayVar(&o.labels, "label", nil, "keep the runs with this label's value (key=value); repeatable")
	f.StringVar(&o.order, "order", "", "order the runs by this label's value (as numbers when all are) instead of their start time")
	addSearchFlags(f, &o.alpha, &o.minChange)
	f.BoolVar(&o.asJSON, "json", false, "print the history as JSON (schema vmbench.history/v1)")
	f.StringVar(&o.html, "html", "", "also write history.html, a trend chart per cell, to this file")
	return cmd
}

// searchFlags are the change-point search's settings on the command line.
type flagSet interface {
	Float64Var(p *float64, name string, value float64, usage string)
	StringVar(p *string, name string, value string, usage string)
}

func addSearchFlags(f flagSet, alpha *float64, minChange *string) {
	d := history.DefaultSearch
	f.Float64Var(alpha, "alpha", d.Alpha, "significance of each change point (its permutation test's p-value at most this)")
	f.StringVar(minChange, "min-change", strconv.FormatFloat(100*d.MinChange, 'g', -1, 64)+"%", "the smallest change of a level reported, in percent")
}

// search is the change-point search the flags ask for.
func search(alpha float64, minChange string) (history.Search, error) {
	s := history.DefaultSearch
	if alpha <= 0 || alpha >= 1 {
		return s, usageError(fmt.Errorf("--alpha %g: want a probability between 0 and 1, such as 0.01", alpha))
	}
	s.Alpha = alpha
	s.Permutations = max(s.Permutations, int(10/alpha)-1)
	v, err := strconv.ParseFloat(strings.TrimSuffix(minChange, "%"), 64)
	if err != nil || v < 0 || !strings.HasSuffix(minChange, "%") {
		return s, usageError(fmt.Errorf("--min-change %q: want a percentage, such as 1%%", minChange))
	}
	s.MinChange = v / 100
	return s, nil
}

// loadHistory reads the runs the options name and analyses them.
func loadHistory(cmd *cobra.Command, o historyOptions) (history.History, error) {
	s, err := search(o.alpha, o.minChange)
	if err != nil {
		return history.History{}, err
	}
	labels, err := labelFilter(o.labels)
	if err != nil {
		return history.History{}, err
	}
	var runs []history.Run
	if o.db != "" {
		if len(o.results) > 0 {
			return history.History{}, usageError(fmt.Errorf("--db and --results name two sources: give one"))
		}
		runs, err = pgstore.ReadRuns(cmd.Context(), o.db, o.scenario)
	} else {
		if len(o.results) == 0 {
			o.results = []string{"results"}
		}
		runs, err = history.ReadResults(o.results)
	}
	if err != nil {
		return history.History{}, usageError(err)
	}
	h, err := history.Analyze(runs, history.Options{Scenario: o.scenario, Labels: labels, Order: o.order, Search: s})
	if err != nil {
		return history.History{}, usageError(err)
	}
	return h, nil
}

// labelFilter reads --label key=value filters.
func labelFilter(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError(fmt.Errorf("--label %q: want key=value, such as branch=main", kv))
		}
		out[k] = v
	}
	return out, nil
}

// historyChecks are vmbench gate --history's checks of a run: per overhead
// series of the stored runs of its scenario, up to it, the persistent
// change within the last o.history runs against the threshold.
func historyChecks(dir string, info result.RunInfo, o gateOptions) ([]gate.Check, error) {
	threshold, err := search(history.DefaultSearch.Alpha, o.historyThreshold)
	if err != nil {
		return nil, usageError(fmt.Errorf("--history-threshold: %w", err))
	}
	dirs := o.historyResults
	if len(dirs) == 0 {
		dirs = []string{filepath.Dir(filepath.Clean(dir))}
	}
	runs, err := history.ReadResults(dirs)
	if err != nil {
		return nil, usageError(err)
	}
	runs = slices.DeleteFunc(runs, func(r history.Run) bool { return r.Start.After(info.Start) })
	if !slices.ContainsFunc(runs, func(r history.Run) bool { return r.ID == info.RunID }) {
		return nil, usageError(fmt.Errorf("--history: run %s is not among the runs of %s: name its results directory with --history-results", info.RunID, strings.Join(dirs, ", ")))
	}
	h, err := history.Analyze(runs, history.Options{Scenario: info.Scenario.Name, Search: history.DefaultSearch})
	if err != nil {
		return nil, usageError(fmt.Errorf("--history: %w", err))
	}
	last := len(h.Runs) - 1
	var checks []gate.Check
	for _, s := range h.Series {
		if !s.Key.Overhead() || len(s.Points) == 0 || s.Points[len(s.Points)-1].Run != last {
			continue
		}
		c := gate.Check{
			Gate: "history " + s.Key.Workload + "." + s.Key.Metric, Path: "--history", Kind: gate.History, Workload: s.Key.Workload, Label: s.Key.Label,
			Metric: s.Key.Metric, Unit: s.Key.Unit, Platform: s.Key.Platform, Against: s.Key.Versus, Reference: s.Key.Versus,
			Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Bound: threshold.MinChange, Level: 0.95,
			N: len(s.Points), Window: o.history, Status: gate.Pass,
		}
		ch, ok := h.Persistent(s, o.history)
		switch {
		case len(h.Runs) < 2*history.DefaultSearch.MinSize:
			c.Status = gate.Skipped
			c.Reason = fmt.Sprintf("%d stored runs of scenario %s: a change point needs %d runs on either side", len(h.Runs), h.Scenario, history.DefaultSearch.MinSize)
		case !ok:
			c.Reason = fmt.Sprintf("no change point in the last %d of %d runs", o.history, len(h.Runs))
		default:
			c.Value, c.Lo, c.Hi = ch.Magnitude, ch.Lo, ch.Hi
			from := h.RunName(ch.At, "")
			switch {
			case !ch.Worse || ch.Hi <= c.Bound:
				c.Reason = fmt.Sprintf("the level changed from run %s by %s [%s, %s]: within %s", from, units.Overhead(ch.Magnitude), units.Overhead(ch.Lo), units.Overhead(ch.Hi), units.Overhead(c.Bound))
			case ch.Lo > c.Bound:
				c.Status = gate.Fail
				c.Reason = fmt.Sprintf("the overhead's level rose from run %s by %s [%s, %s] and still holds: beyond %s, though each step may have passed its regression gate", from, units.Overhead(ch.Magnitude), units.Overhead(ch.Lo), units.Overhead(ch.Hi), units.Overhead(c.Bound))
			default:
				c.Status = gate.Inconclusive
				c.Reason = fmt.Sprintf("the level rose from run %s by %s [%s, %s]: the interval straddles %s; more runs will tell", from, units.Overhead(ch.Magnitude), units.Overhead(ch.Lo), units.Overhead(ch.Hi), units.Overhead(c.Bound))
			}
		}
		checks = append(checks, c)
	}
	if len(checks) == 0 {
		return nil, usageError(fmt.Errorf("--history: run %s has no overhead to follow", info.RunID))
	}
	return checks, nil
}

func newPublishCmd() *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "publish RUN_DIR...",
		Short: "Write stored runs into a PostgreSQL database, for vmbench history --db and dashboards",
		Long: `Write each run — run.json, its samples and its judged cells (a platform's
median, an overhead with its interval and verdict) — into the PostgreSQL
database --to names, in one transaction per run, creating or migrating
vmbench's tables first (docs/history.md describes them). Publishing a run
again changes nothing; one that changed since (gate --retry added trials)
is written anew. A damaged or unfinished run is refused with the reason,
and nothing of it is written.`,
		Example: `  vmbench publish results/latest --to postgres://vmbench@db.example/vmbench
  vmbench publish results/2026* --to 'postgres:///vmbench?host=/run/postgresql'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return usageError(fmt.Errorf("publish: name the database with --to postgres://…"))
			}
			var failed int
			for _, dir := range args {
				p, err := pgstore.Publish(cmd.Context(), to, dir)
				switch {
				case err != nil:
					failed++
					fmt.Fprintf(cmd.ErrOrStderr(), "vmbench: %s not published: %v\n", dir, err)
				case p.Unchanged:
					fmt.Fprintf(cmd.OutOrStdout(), "%s: run %s is published already, unchanged\n", dir, p.RunID)
				case p.Replaced:
					fmt.Fprintf(cmd.OutOrStdout(), "%s: run %s published anew (it changed since): %d trials, %d cells\n", dir, p.RunID, p.Samples, p.Cells)
				default:
					fmt.Fprintf(cmd.OutOrStdout(), "%s: run %s published: %d trials, %d cells\n", dir, p.RunID, p.Samples, p.Cells)
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d runs not published (above)", failed, len(args))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the database: postgres://user@host/db (libpq's URL and key=value forms, and PG* variables)")
	return cmd
}
