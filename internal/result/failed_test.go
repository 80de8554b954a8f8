package result

import (
	"strings"
	"testing"
	"time"
)

func TestFailedCells(t *testing.T) {
	s := func(platform string, warmup bool, errText string) Sample {
		return Sample{Workload: "cpu", Label: "threads=2", Platform: platform, Warmup: warmup, Error: errText}
	}
	samples := []Sample{
		s("vm", true, ""), s("vm", false, "guest wedged"), s("vm", false, "timed out"),
		s("native", false, ""), s("native", false, "once"),
	}
	got := FailedCells(samples)
	if len(got) != 1 || got[0] != "cpu threads=2 on vm: 2 of 2 trials failed, first: guest wedged" {
		t.Errorf("FailedCells = %q, want the vm cell only (its warmup aside)", got)
	}
}

// TestMissingTrials: samples.jsonl cut short of the plan says so; a boot
// sample is not a trial.
func TestMissingTrials(t *testing.T) {
	info := RunInfo{Planned: 3, End: time.Unix(1, 0)}
	samples := []Sample{{Type: Boot}, {Type: "cpu"}, {Type: "cpu", Error: "x"}}
	if m := Missing(info, samples); !strings.Contains(m, "samples.jsonl holds 2 of the 3 trials run.json planned, 1 missing") {
		t.Errorf("Missing = %q", m)
	}
	if m := Missing(info, append(samples, Sample{Type: "cpu"})); m != "" {
		t.Errorf("all there, yet Missing = %q", m)
	}
	info.End = time.Time{}
	if m := Missing(info, samples); !strings.Contains(m, "the run was killed") {
		t.Errorf("killed run: Missing = %q", m)
	}
	info.Interrupted = true
	if m := Missing(info, samples); m != "" {
		t.Errorf("interrupted run (its own banner): Missing = %q", m)
	}
}
