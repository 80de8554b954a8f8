package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/report"
	"github.com/vmbench/vmbench/internal/result"
)

func newReportCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "report RUN_DIR",
		Short: "Render the report of a stored run again, without re-running it",
		Long: `Read RUN_DIR/run.json and samples.jsonl, print the table and write
RUN_DIR/report.md. Works on runs that were interrupted or crashed: every
trial that finished is in samples.jsonl.`,
		Example: `  vmbench report results/20261124-221500-3fa2
  vmbench report --format markdown results/20261124-221500-3fa2 > report.md`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "markdown" {
				return usageError(fmt.Errorf("--format must be text or markdown, got %q", format))
			}
			table, err := loadTable(args[0])
			if err != nil {
				return err
			}
			if err := writeMarkdown(args[0], table); err != nil {
				return err
			}
			if format == "markdown" {
				return report.Markdown(os.Stdout, table)
			}
			return report.Text(os.Stdout, table)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "what to print: text or markdown")
	return cmd
}

func loadTable(dir string) (report.Table, error) {
	info, err := result.ReadRun(dir)
	if err != nil {
		return report.Table{}, usageError(fmt.Errorf("read run: %w", err))
	}
	samples, err := result.ReadSamples(dir)
	if err != nil {
		return report.Table{}, usageError(fmt.Errorf("read samples: %w", err))
	}
	return report.Build(info, samples), nil
}

func writeMarkdown(dir string, t report.Table) error {
	var b bytes.Buffer
	if err := report.Markdown(&b, t); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), b.Bytes(), 0o644)
}

// renderRun prints the text table of a run and writes its report.md.
func renderRun(dir string, w io.Writer) error {
	t, err := loadTable(dir)
	if err != nil {
		return err
	}
	if err := writeMarkdown(dir, t); err != nil {
		return err
	}
	return report.Text(w, t)
}
