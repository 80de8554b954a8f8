package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The run's metrics as their real consumers read them: report --textfile
// writes them into a textfile directory (atomically: no temporary file
// stays), promtool check metrics finds nothing to say, and a real
// node_exporter's textfile collector serves them with no scrape error.
func TestPrometheusTextfile(t *testing.T) {
	for _, tool := range []string{"promtool", "prometheus-node-exporter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: scripts/test.sh installs it (Debian's prometheus and prometheus-node-exporter)", tool)
		}
	}
	a := copyRun(t, "a")
	if code, _, stderr := runCLI(t, "gate", a); code != 0 {
		t.Fatalf("gate: exit %d: %s", code, stderr)
	}
	dir := t.TempDir()
	code, out, stderr := runCLI(t, "report", a, "--format", "openmetrics", "--textfile", dir)
	if code != 0 || !strings.HasSuffix(out, "# EOF\n") || !strings.Contains(out, "# UNIT vmbench_cell_median_seconds seconds") {
		t.Fatalf("report: exit %d\n%.1000s\n%s", code, out, stderr)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "vmbench_golden.prom" {
		t.Fatalf("the textfile directory holds %v, want vmbench_golden.prom alone", entries)
	}
	prom := filepath.Join(dir, "vmbench_golden.prom")
	text, _ := os.ReadFile(prom)
	check := exec.Command("promtool", "check", "metrics")
	check.Stdin = strings.NewReader(string(text))
	if b, err := check.CombinedOutput(); err != nil || len(strings.TrimSpace(string(b))) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, b)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var log strings.Builder
	ne := exec.Command("prometheus-node-exporter", "--web.listen-address="+addr, "--collector.disable-defaults",
		"--collector.textfile", "--collector.textfile.directory="+dir)
	ne.Stdout, ne.Stderr = &log, &log
	if err := ne.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { ne.Process.Kill(); ne.Wait() }()
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(fmt.Sprintf("http://%s/metrics", addr))
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		break
	}
	for _, want := range []string{`vmbench_run_info{baseline="native",run_id="20261129-180822-625e",scenario="golden"`, "vmbench_resource_verdict{", "vmbench_gate_status{",
		`vmbench_cell_median_bytes_per_second{metric="throughput"`, "node_textfile_scrape_error 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("node_exporter's /metrics lacks %q\n%.3000s\nnode_exporter: %s", want, body, log.String())
		}
	}
}
