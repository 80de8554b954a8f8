package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/gate"
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
	{"openmetrics", "", func(w io.Writer, r *loadedRun) error { return report.OpenMetrics(w, r.table, r.export()) }},
}

func formatNames() []string {
	var names []string
	for _, f := range formats {
		names = append(names, f.name)
	}
	return names
}

func newReportCmd() *cobra.Command {
	var name, textfile string
	cmd := &cobra.Command{
		Use:   "report RUN_DIR",
		Short: "Render the report of a stored run again, without re-running it",
		Long: `Read RUN_DIR/run.json and samples.jsonl, (re)write report.md, report.html, report.json,
samples.csv and bench.txt (Go benchmark format: benchstat -col /platform
bench.txt) in RUN_DIR, and print the report in the chosen format. Works on
runs that were interrupted or crashed: every trial that finished is in
samples.jsonl.

--format openmetrics prints the run for Prometheus (OpenMetrics 1.0), and
--textfile DIR writes it into node_exporter's textfile collector directory
(Prometheus text format, replaced atomically): one unit per family, the run
id only on vmbench_run_info, the summary's verdicts and the gates' as
series.`,
		Example: `  vmbench report results/20261124-221500-3fa2
  vmbench report --format csv results/20261124-221500-3fa2 > samples.csv
  benchstat -col /platform results/20261124-221500-3fa2/bench.txt
  vmbench report results/latest --textfile /var/lib/prometheus/node-exporter`,
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
			if textfile != "" {
				path, err := writeTextfile(textfile, r)
				if err != nil {
					return usageError(err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "vmbench: wrote %s for node_exporter's textfile collector\n", path)
			}
			return formats[i].render(cmd.OutOrStdout(), r)
		},
	}
	cmd.Flags().StringVar(&name, "format", "text", "what to print: "+strings.Join(formatNames(), ", "))
	cmd.Flags().StringVar(&textfile, "textfile", "", "also write the run's metrics into this node_exporter textfile directory, atomically")
	return cmd
}

// loadedRun is a run read back from its directory.
type loadedRun struct {
	dir     string
	info    result.RunInfo
	samples []result.Sample
	table   report.Table
}

// openRun reads a stored run (result.Open); a run that does not read is a
// usage error.
func openRun(dir string) (result.Run, error) {
	r, err := result.Open(dir)
	if err != nil {
		return r, usageError(fmt.Errorf("read run: %w", err))
	}
	return r, nil
}

func loadRun(dir string) (*loadedRun, error) {
	r, err := openRun(dir)
	if err != nil {
		return nil, err
	}
	info, samples := r.Info, r.Samples
	t := report.Build(info, samples)
	traces, err := result.ReadTraces(dir)
	if err != nil {
		t.Notes = append(t.Notes, fmt.Sprintf("resource series not shown: %v", err))
	}
	t.AddTraces(traces)
	if err := t.AddProfiles(dir, samples); err != nil {
		t.Notes = append(t.Notes, fmt.Sprintf("CPU profiles not shown: %v", err))
	}
	return &loadedRun{dir: dir, info: info, samples: samples, table: t}, nil
}

// export is what the Prometheus exposition carries beside the table: the
// run's end, its vmbench version and, when it was gated, gates.json's
// verdicts (read as a stored run's file: bounded, beneath the run).
func (r *loadedRun) export() report.Export {
	x := report.Export{End: r.info.End, Version: r.info.Version}
	b, err := safefs.ReadFile(r.dir, "gates.json", 16<<20)
	if err != nil {
		return x
	}
	var g struct {
		Schema string
		Checks []struct{ Gate, Platform, Variant, Status string }
	}
	if json.Unmarshal(b, &g) != nil || g.Schema != gate.GatesSchema {
		return x
	}
	for _, c := range g.Checks {
		x.Gates = append(x.Gates, report.GateStatus{Gate: c.Gate, Platform: c.Platform, Variant: c.Variant, Status: c.Status})
	}
	return x
}

// writeTextfile writes the run's metrics for node_exporter's textfile
// collector into dir as vmbench_<scenario>.prom, atomically: a temporary
// file in dir, synced, then renamed over the old one, so that the
// collector never reads half a file. It returns the file's path.
func writeTextfile(dir string, r *loadedRun) (string, error) {
	name := "vmbench_" + strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			return c
		}
		return '_'
	}, r.info.Scenario.Name) + ".prom"
	tmp, err := os.CreateTemp(dir, ".vmbench-*.prom.tmp") // the collector reads *.prom only
	if err != nil {
		return "", fmt.Errorf("--textfile: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone once renamed
	err = report.PrometheusText(tmp, r.table, r.export())
	if err == nil {
		err = tmp.Chmod(0o644) // node_exporter need not run as root
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		return "", fmt.Errorf("--textfile: %w", err)
	}
	return filepath.Join(dir, name), nil
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
