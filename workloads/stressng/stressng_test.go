package stressng

import (
	"math"
	"os"
	"slices"
	"testing"

	"github.com/vmbench/vmbench/internal/workload"
)

// Real YAML of stress-ng 0.15.06, captured with the command lines Args builds.
func TestParse(t *testing.T) {
	b, err := os.ReadFile("testdata/stress-ng-stream.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Parse("stream", b)
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Metrics[0]; m.Name != "bandwidth" || math.Abs(m.Value/((8384.905003+5589.936669)*1e6)-1) > 1e-12 {
		t.Errorf("stream: %+v", m)
	}
	b, _ = os.ReadFile("testdata/stress-ng-cpu.yaml")
	res, err = Parse("cpu", b)
	if err != nil || res.Metrics[0].Value <= 0 {
		t.Errorf("cpu: %+v, %v", res, err)
	}
	// A stream run too short has no rate, and says so.
	if _, err := Parse("stream", []byte("metrics:\n    - stressor: stream\n      bogo-ops: 3\n")); err == nil {
		t.Error("a stream run without a memory rate parsed")
	}
}

func TestArgsAndValidate(t *testing.T) {
	p, errs := workload.Complete(Workload{}, map[string]string{"duration": "7s", "l3": "8MiB"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	args := Args(p, "/tmp/m.yaml")
	for _, want := range []string{"--stream", "-t", "7", "--yaml", "/tmp/m.yaml", "--temp-path", "/tmp", "--stream-l3-size", "8388608"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	if _, errs := workload.Complete(Workload{}, map[string]string{"duration": "2s"}); len(errs) == 0 {
		t.Error("a 2s stream run was accepted")
	}
}
