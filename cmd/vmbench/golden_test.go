package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden runs validate, report, compare and gate on two stored runs of
// testdata/golden.yaml (testdata/runs, measured on the development host)
// and compares what they print, stdout and stderr, with
// testdata/golden/<case>.stdout and .stderr; -update rewrites those. The
// runs are copied first: report and gate write files beside them.
func TestGolden(t *testing.T) {
	a, b := copyRun(t, "a"), copyRun(t, "b")
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"validate", []string{"validate", "testdata/golden.yaml"}, exitOK},
		{"validate-broken", []string{"validate", "testdata/broken.yaml"}, exitUsage},
		{"report", []string{"report", a}, exitOK},
		{"report-markdown", []string{"report", "--format", "markdown", a}, exitOK},
		{"compare", []string{"compare", a, b}, exitOK},
		{"gate", []string{"gate", a}, exitOK},
		{"missing-argument", []string{"report"}, exitUsage},
		{"unknown-command", []string{"reprot", a}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			name := strings.NewReplacer(a, "RUN_A", b, "RUN_B")
			golden(t, tc.name+".stdout", name.Replace(stdout))
			golden(t, tc.name+".stderr", name.Replace(stderr))
		})
	}
}

// copyRun copies testdata/runs/<name> to a fresh directory.
func copyRun(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "runs", name))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// golden compares got with testdata/golden/<file>, or writes it there
// under -update.
func golden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", file)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/vmbench -run TestGolden -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from what it printed (-update rewrites it):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
