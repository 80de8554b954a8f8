package scenario

import (
	"strings"
	"testing"
	"time"
)

const editable = `version: 1
name: e
baseline: native
repetitions: 6
platforms:
  - {name: native, type: native}
  - {name: box, type: container}
workloads:
  - {type: cpu, params: {threads: [1, 2]}}
  - {name: mem, type: memory}
  - {type: startup}
gates:
  - {metric: cpu.throughput, platform: box, max_overhead: 5%}
  - {metric: mem.bandwidth, min: 1GB/s}
`

func TestEdit(t *testing.T) {
	text, err := Edit([]byte(editable), []string{"repetitions=3", "duration=300ms"}, []string{"cpu", "native"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load("edited", text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if s.Repetitions != 3 || len(s.Workloads) != 1 || s.Workloads[0].Type != "cpu" || len(s.Platforms) != 1 || len(s.Gates) != 0 {
		t.Fatalf("edited: %+v\n%s", s, text)
	}
	if v := Variants(s.Workloads[0]); len(v) != 2 || !strings.Contains(v[0].Label, "duration=300ms") {
		t.Errorf("variants %+v", v)
	}
	// duration reaches every workload that has it, and only those.
	text, err = Edit([]byte(editable), []string{"duration=300ms"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, err = Load("edited", text); err != nil || s.Timeout != DefaultTimeout {
		t.Fatalf("%v\n%s", err, text)
	}
	if d, _ := time.ParseDuration("300ms"); d == 0 || !strings.Contains(string(text), "duration: 300ms") {
		t.Errorf("%s", text)
	}
	for _, tc := range []struct {
		sets, only []string
		want       string
	}{
		{[]string{"repetitions"}, nil, "want key=value"},
		{[]string{"nonsense=1"}, nil, "neither a scenario key"},
		{nil, []string{"nope"}, "no workload or platform of that name"},
		{nil, []string{"box"}, "keeps no platform native, the scenario's baseline"},
	} {
		if _, err := Edit([]byte(editable), tc.sets, tc.only); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Edit(%v, %v) = %v, want %q", tc.sets, tc.only, err, tc.want)
		}
	}
}

// --only keeps a matrix by its family: its variants' gates, and the
// workloads' platform lists, follow.
func TestEditOnlyMatrix(t *testing.T) {
	const matrix = `version: 1
name: m
baseline: native
platforms:
  - {name: native, type: native}
  - {name: box, type: container, network: [host, nat]}
  - {name: vm, type: vm}
workloads:
  - {name: rr, type: net, params: {mode: rr}, platforms: [box, vm]}
  - {name: cpu, type: cpu, platforms: [vm]}
gates:
  - {metric: rr.p50, platform: "box[network=nat]", versus: "box[network=host]", min_overhead: 5%}
  - {metric: rr.p50, platform: vm, max_overhead: 5%}
`
	text, err := Edit([]byte(matrix), nil, []string{"native", "box"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load("edited", text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if len(s.Workloads) != 1 || s.Workloads[0].Name != "rr" || strings.Join(s.Workloads[0].Platforms, ",") != "box" {
		t.Errorf("workloads %+v, want rr on box alone (cpu ran only on vm)", s.Workloads)
	}
	if len(s.Gates) != 1 || s.Gates[0].Platforms[0] != "box[network=nat]" {
		t.Errorf("gates %+v, want the one on box's variants", s.Gates)
	}
}
