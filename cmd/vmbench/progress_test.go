package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

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

// The bar counts trials, names the last one, and keeps log lines above it.
func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	p := &progress{w: &out} // no throttle: every change is drawn
	p.Write([]byte("platform vm ready\n"))
	p.Begin(3)
	p.Done(result.Sample{Workload: "cpu", Platform: "native"})
	p.Write([]byte("warning: something\n"))
	p.Done(result.Sample{Workload: "cpu", Platform: "vm", Error: "boom"})
	p.Done(result.Sample{Workload: "memory", Platform: "vm"})
	p.Finish()
	got := out.String()
	for _, want := range []string{"platform vm ready\n", "warning: something\n", "cpu on vm FAILED", "(2/3)"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%q", want, got)
		}
	}
}
