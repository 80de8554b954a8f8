package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/report"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/safefs"
)

// format is one way to render a run; file is where it goes in the run
// directory ("": printed only).
type format struct {
	name, file string
	render     func(io.Writer, *loadedRun) error
}

// formats are what `vmbench report --format` prints, and the files a
// rendered run directory holds.
var formats = []format{
	{"text", "", func(w io.Writer, r *loadedRun) error { return report.Text(w, r.table) }},
	{"markdown", "report.md", func(w io.Writer, r *loadedRun) error { return report.Markdown(w, r.table) }},
	{"html", "report.html", func(w io.Writer, r *loadedRun) error { return report.HTML(w, r.table) }},
	{"json", "report.json", func(w io.Writer, r *loadedRun) error { return report.JSON(w, r.table) }},
	{"csv", "samples.csv", func(w io.Writer, r *loadedRun) error { return report.CSV(w, r.samples) }},
	{"benchstat", "bench.txt", func(w io.Writer, r *loadedRun) error { return report.Benchfmt(w, r.info, r.samples) }},
	{"openmetrics", "", func(w io.Writer, r *loadedRun) error { return report.OpenMetrics(w, r.table) }},
}

func formatNames() []string {
	var names []string
	for _, f := range formats {
		names = append(names, f.name)
	}
	return names
}

func newReportCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "report RUN_DIR",
		Short: "Render the report of a stored run again, without re-running it",
		Long: `Read RUN_DIR/run.json and samples.jsonl, (re)write report.md, report.html, report.json,
samples.csv and bench.txt (Go benchmark format: benchstat -col /platform
bench.txt) in RUN_DIR, and print the report in the chosen format. Works on
runs that were interrupted or crashed: every trial that finished is in
samples.jsonl.`,
		Example: `  vmbench report results/20261124-221500-3fa2
  vmbench report --format csv results/20261124-221500-3fa2 > samples.csv
  benchstat -col /platform results/20261124-221500-3fa2/bench.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			i := slices.IndexFunc(formats, func(f format) bool { return f.name == name })
			if i < 0 {
				return usageError(fmt.Errorf("--format must be one of %s, got %q", strings.Join(formatNames(), ", "), name))
			}
			r, err := loadRun(args[0])
			if err != nil {
				return err
			}
			if err := writeFiles(args[0], r, cmd.ErrOrStderr()); err != nil {
				return err
			}
			return formats[i].render(cmd.OutOrStdout(), r)
		},
	}
	cmd.Flags().StringVar(&name, "format", "text", "what to print: "+strings.Join(formatNames(), ", "))
	return cmd
}

// loadedRun is a run read back from its directory.
type loadedRun struct {
	info    result.RunInfo
	samples []result.Sample
	table   report.Table
}

func loadRun(dir string) (*loadedRun, error) {
	info, err := result.ReadRun(dir)
	if err != nil {
		return nil, usageError(fmt.Errorf("read run: %w", err))
	}
	samples, err := result.ReadSamples(dir)
	if err != nil {
		return nil, usageError(fmt.Errorf("read samples: %w", err))
	}
	t := report.Build(info, samples)
	traces, err := result.ReadTraces(dir)
	if err != nil {
		t.Notes = append(t.Notes, fmt.Sprintf("resource series not shown: %v", err))
	}
	t.AddTraces(traces)
	if err := t.AddProfiles(dir, samples); err != nil {
		t.Notes = append(t.Notes, fmt.Sprintf("CPU profiles not shown: %v", err))
	}
	return &loadedRun{info: info, samples: samples, table: t}, nil
}

// writeFiles writes every file format of a run into its directory. A file
// that cannot be written (a read-only copy of a run) is reported on warn,
// not an error: what is printed is complete without it.
func writeFiles(dir string, r *loadedRun, warn io.Writer) error {
	for _, f := range formats {
		if f.file == "" {
			continue
		}
		var b bytes.Buffer
		if err := f.render(&b, r); err != nil {
			return fmt.Errorf("render %s: %w", f.file, err)
		}
		writeOutput(dir, f.file, b.Bytes(), warn)
	}
	return nil
}

// writeOutput writes a file that restates what is printed, and says so on
// warn when it cannot: name in the run directory dir, as a regular file
// reached without a link (a stored run may come from elsewhere), or, with
// dir "", the path the user named.
func writeOutput(dir, name string, data []byte, warn io.Writer) {
	var err error
	if dir != "" {
		err = safefs.WriteFile(dir, name, data, result.FileMode)
	} else {
		err = os.WriteFile(name, data, 0o644)
	}
	if err != nil {
		fmt.Fprintf(warn, "vmbench: not written: %v (what is printed is complete)\n", err)
	}
}

// renderRun writes the files of a run and prints its text table to w,
// saying on warn what could not be written.
func renderRun(dir string, w, warn io.Writer) error {
	r, err := loadRun(dir)
	if err != nil {
		return err
	}
	if err := writeFiles(dir, r, warn); err != nil {
		return err
	}
	return report.Text(w, r.table)
}
