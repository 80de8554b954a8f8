package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

// runCLI runs vmbench in-process and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	oldOut, oldErr := os.Stdout, os.Stderr
	ro, wo, _ := os.Pipe()
	re, we, _ := os.Pipe()
	os.Stdout, os.Stderr = wo, we
	var out, errb bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, ro); close(done) }()
	doneErr := make(chan struct{})
	go func() { io.Copy(&errb, re); close(doneErr) }()
	code := execute(context.Background(), args)
	wo.Close()
	we.Close()
	<-done
	<-doneErr
	os.Stdout, os.Stderr = oldOut, oldErr
	return code, out.String(), errb.String()
}

func TestValidateBrokenScenarioExit2(t *testing.T) {
	code, _, stderr := runCLI(t, "validate", "testdata/broken.yaml")
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	for _, want := range []string{
		"testdata/broken.yaml:4:14: repetitions: must be ≥ 1, got 0",
		"testdata/broken.yaml:8:33: platforms[1].vcpus: must be between 1 and 256, got 0",
		"testdata/broken.yaml:12:17: workloads[0].params.threads[0]: must be ≥ 1, got 0",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestValidateDefault(t *testing.T) {
	code, stdout, stderr := runCLI(t, "validate", "../../scenarios/default.yaml")
	if code != 0 || !strings.Contains(stdout, "ok: scenario \"default\"") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"run", "--no-such-flag"}, {"report"}, {"validate", "/nonexistent.yaml"}, {"report", "/nonexistent-run"}} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("vmbench %v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestListShowsWorkloadsAndPlatforms(t *testing.T) {
	code, stdout, _ := runCLI(t, "list")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"cpu —", "memory —", "param  threads", "metric bandwidth", "container —", "options: runtime, cpus, memory"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("list lacks %q", want)
		}
	}
}
