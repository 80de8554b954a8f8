package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/gate"
	"github.com/vmbench/vmbench/internal/result"
)

// RunsSchema names the layout of vmbench runs --json.
const RunsSchema = "vmbench.runs/v1"

func newRunsCmd() *cobra.Command {
	var results string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the stored runs: id, date, scenario, host, accelerators, trials, gate verdict",
		Long: `List the run directories under --results, newest first: the run id, when it
started, its scenario, the host it ran on, the accelerators of its vm
platforms, its measured trials (and failed ones), its labels, and the
verdict of vmbench gate when it was gated (gates.json). A directory that is
not a run is skipped. --json prints the same as one JSON document (schema
vmbench.runs/v1).`,
		Example: `  vmbench runs
  vmbench runs --results /srv/vmbench/results --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, err := os.ReadDir(results)
			if err != nil {
				return usageError(fmt.Errorf("--results: %w", err))
			}
			runs := []storedRun{}
			for _, e := range entries {
				if !e.IsDir() {
					continue
				}
				dir := filepath.Join(results, e.Name())
				info, err := result.ReadRun(dir)
				if err != nil {
					continue
				}
				runs = append(runs, describeRun(dir, info))
			}
			slices.Reverse(runs) // run ids sort by time: newest first
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), struct {
					Schema string      `json:"schema"`
					Runs   []storedRun `json:"runs"`
				}{RunsSchema, runs})
			}
			if len(runs) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "no runs in %s\n", results)
				return nil
			}
			tw := tablewriter.NewWriter(cmd.OutOrStdout())
			tw.SetHeader([]string{"run", "started", "scenario", "host", "accel", "trials", "labels", "gates"})
			tw.SetAutoFormatHeaders(false)
			tw.SetAutoWrapText(false)
			tw.SetAlignment(tablewriter.ALIGN_LEFT)
			for _, r := range runs {
				tw.Append(r.row())
			}
			tw.Render()
			return nil
		},
	}
	cmd.Flags().StringVar(&results, "results", "results", "directory holding the run directories")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (schema vmbench.runs/v1) instead of a table")
	return cmd
}

// storedRun is a stored run as vmbench runs describes it.
type storedRun struct {
	RunID       string            `json:"run_id"`
	Dir         string            `json:"dir"`
	Start       time.Time         `json:"start"`
	Scenario    string            `json:"scenario"`
	Host        string            `json:"host"`
	Accel       []string          `json:"accel"` // the vm platforms' accelerators, and "lab"
	Measured    int               `json:"measured_trials"`
	Failed      int               `json:"failed_trials"`
	Interrupted bool              `json:"interrupted"`
	Labels      map[string]string `json:"labels"`
	Gates       string            `json:"gates,omitempty"` // vmbench gate's verdict, when gated
	GatesFailed int               `json:"gates_failed,omitempty"`
}

func describeRun(dir string, info result.RunInfo) storedRun {
	r := storedRun{RunID: info.RunID, Dir: dir, Start: info.Start, Scenario: info.Scenario.Name, Host: info.Host.Hostname,
		Accel: []string{}, Interrupted: info.Interrupted, Labels: info.Labels}
	for _, p := range info.Platforms {
		if a := p.Info["accel"]; a != "" && !slices.Contains(r.Accel, a) {
			r.Accel = append(r.Accel, a)
		}
	}
	if info.Lab != nil {
		r.Accel = append(r.Accel, "lab")
	}
	if r.Labels == nil {
		r.Labels = map[string]string{}
	}
	r.Measured, r.Failed = result.CountTrials(dir)
	r.Gates, r.GatesFailed, _ = gate.ReadVerdict(dir)
	return r
}

// row is the run in the table's columns.
func (r storedRun) row() []string {
	trials := strconv.Itoa(r.Measured)
	if r.Failed > 0 {
		trials += fmt.Sprintf(" (%d failed)", r.Failed)
	}
	if r.Interrupted {
		trials += " interrupted"
	}
	var labels []string
	for _, k := range slices.Sorted(maps.Keys(r.Labels)) {
		labels = append(labels, k+"="+r.Labels[k])
	}
	gates := r.Gates
	if r.GatesFailed > 0 {
		gates += fmt.Sprintf(" (%d failed)", r.GatesFailed)
	}
	return []string{r.RunID, r.Start.Local().Format("2006-01-02 15:04"), r.Scenario, r.Host,
		strings.Join(r.Accel, ","), trials, strings.Join(labels, " "), gates}
}
