package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/result"
)

// Not a terminal: no bar, the runner logs a line per trial.
func TestProgressOnlyOnTerminals(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if p := newProgress(w); p != nil {
		t.Error("a progress bar on a pipe")
	}
}

// The line counts the whole run's trials, across an adaptive look's added
// rounds, with the time left at the pace so far, names the last trial,
// and keeps log lines above it.
func TestProgressLine(t *testing.T) {
	var out bytes.Buffer
	clock := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	p := &progress{w: &out, now: func() time.Time { return clock }} // no throttle: every change is drawn
	p.Write([]byte("platform vm starting: booting the guest (accel auto)\n"))
	p.Begin(3)
	clock = clock.Add(10 * time.Second)
	p.Done(result.Sample{Workload: "cpu", Platform: "native"})
	p.Write([]byte("warning: something\n"))
	clock = clock.Add(10 * time.Second)
	p.Done(result.Sample{Workload: "cpu", Platform: "vm", Error: "boom"})
	clock = clock.Add(10 * time.Second)
	p.Done(result.Sample{Workload: "memory", Platform: "vm"})
	p.Begin(5) // an adaptive look adds two trials: the count goes on
	clock = clock.Add(10 * time.Second)
	p.Done(result.Sample{Workload: "memory", Platform: "native"})
	p.Finish()
	got := out.String()
	for _, want := range []string{"booting the guest (accel auto)\n", "warning: something\n", "trials 1/3 (33%), 10s so far, about 20s left: cpu on native",
		"cpu on vm FAILED", "trials 3/3 (100%), 30s so far: memory on vm", "trials 4/5 (80%), 40s so far, about 10s left: memory on native"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%q", want, got)
		}
	}
	if !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("the line is not cleared at the end: %q", got)
	}
}
