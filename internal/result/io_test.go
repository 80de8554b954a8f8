package result

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSamplesRoundTripAndTornLastLine(t *testing.T) {
	dir := t.TempDir()
	w, err := CreateSamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := w.Write(Sample{RunID: "r", Workload: "cpu", Trial: i, Start: time.Unix(0, 0), Metrics: []Metric{{Name: "throughput", Unit: "B/s", Value: float64(i + 1)}}}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	// A crash in the middle of the fourth write.
	f, _ := os.OpenFile(filepath.Join(dir, SamplesFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"schema":1,"run_id":"r","workl`)
	f.Close()
	got, err := ReadSamples(dir)
	if err != nil || len(got) != 3 || got[2].Metrics[0].Value != 3 || got[0].Schema != SchemaVersion {
		t.Fatalf("got %d samples, err %v", len(got), err)
	}
}

func TestBadLineIsLocated(t *testing.T) {
	_, err := DecodeSamples(strings.NewReader("{\"schema\":1}\nnot json\n{\"schema\":1}\n"), "s.jsonl")
	if err == nil || !strings.Contains(err.Error(), "s.jsonl:2:") {
		t.Errorf("err = %v", err)
	}
	_, err = DecodeSamples(strings.NewReader("{\"schema\":99}\n"), "s.jsonl")
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("future schema: %v", err)
	}
}

func TestRunInfoRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := RunInfo{RunID: "20261204-120000-abcd", Baseline: "native", Platforms: []PlatformInfo{{Name: "vm", Type: "vm", Info: map[string]string{"accel": "tcg"}}}}
	if err := WriteRun(dir, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadRun(dir)
	if err != nil || out.RunID != in.RunID || out.Schema != SchemaVersion || out.Platforms[0].Info["accel"] != "tcg" {
		t.Errorf("%+v %v", out, err)
	}
}

// A platform's name (a matrix's, or one from a stored run) cannot take a
// profile out of the run directory's profiles/.
func TestProfilePathStaysInProfiles(t *testing.T) {
	for _, p := range []string{"../../../etc", "vm[vcpus=2,pin=0+1]", "/abs"} {
		got := ProfilePath(Sample{Platform: p, Workload: "cpu", Trial: 1})
		if !filepath.IsLocal(got) || strings.Count(got, "/") != 2 || !strings.HasPrefix(got, ProfilesDir+"/") {
			t.Errorf("%s: %s", p, got)
		}
	}
}
