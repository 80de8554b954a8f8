package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/gate"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
)

func newRunsCmd() *cobra.Command {
	var results string
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the stored runs: id, date, scenario, host, accelerators, trials, gate verdict",
		Long: `List the run directories under --results, newest first: the run id, when it
started, its scenario, the host it ran on, the accelerators of its vm
platforms, its measured trials (and failed ones), its labels, and the
verdict of vmbench gate when it was gated (gates.json). A directory that is
not a run is skipped.`,
		Example: `  vmbench runs
  vmbench runs --results /srv/vmbench/results`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, err := os.ReadDir(results)
			if err != nil {
				return usageError(fmt.Errorf("--results: %w", err))
			}
			var rows [][]string
			for _, e := range entries {
				if !e.IsDir() {
					continue
				}
				dir := filepath.Join(results, e.Name())
				info, err := result.ReadRun(dir)
				if err != nil {
					continue
				}
				rows = append(rows, runRow(dir, info))
			}
			slices.Reverse(rows) // run ids sort by time: newest first
			if len(rows) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "no runs in %s\n", results)
				return nil
			}
			tw := tablewriter.NewWriter(cmd.OutOrStdout())
			tw.SetHeader([]string{"run", "started", "scenario", "host", "accel", "trials", "labels", "gates"})
			tw.SetAutoFormatHeaders(false)
			tw.SetAutoWrapText(false)
			tw.SetAlignment(tablewriter.ALIGN_LEFT)
			tw.AppendBulk(rows)
			tw.Render()
			return nil
		},
	}
	cmd.Flags().StringVar(&results, "results", "results", "directory holding the run directories")
	return cmd
}

// runRow describes a stored run in one row.
func runRow(dir string, info result.RunInfo) []string {
	var accels []string
	for _, p := range info.Platforms {
		if a := p.Info["accel"]; a != "" && !slices.Contains(accels, a) {
			accels = append(accels, a)
		}
	}
	if info.Lab != nil {
		accels = append(accels, "lab")
	}
	measured, failed := countTrials(dir)
	trials := strconv.Itoa(measured)
	if failed > 0 {
		trials += fmt.Sprintf(" (%d failed)", failed)
	}
	if info.Interrupted {
		trials += " interrupted"
	}
	var labels []string
	for _, k := range slices.Sorted(maps.Keys(info.Labels)) {
		labels = append(labels, k+"="+info.Labels[k])
	}
	gates := ""
	if b, err := os.ReadFile(filepath.Join(dir, "gates.json")); err == nil {
		var g struct {
			Schema  string
			Verdict string
			Failed  int
		}
		if json.Unmarshal(b, &g) == nil && g.Schema == gate.GatesSchema {
			gates = g.Verdict
			if g.Failed > 0 {
				gates += fmt.Sprintf(" (%d failed)", g.Failed)
			}
		}
	}
	return []string{info.RunID, info.Start.Local().Format("2006-01-02 15:04"), info.Scenario.Name, info.Host.Hostname,
		strings.Join(accels, ","), trials, strings.Join(labels, " "), gates}
}

// countTrials counts the measured trials of a run and the failed ones,
// reading samples.jsonl line by line.
func countTrials(dir string) (measured, failed int) {
	f, err := os.Open(filepath.Join(dir, result.SamplesFile))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var s struct {
			Warmup   bool   `json:"warmup"`
			Workload string `json:"workload"`
			Error    string `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &s) != nil || s.Warmup || s.Workload == workload.Boot {
			continue
		}
		measured++
		if s.Error != "" {
			failed++
		}
	}
	return measured, failed
}
