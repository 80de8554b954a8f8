package scenario

import (
	"os"
	"path/filepath"
	"testing"
)

// shipped are the scenario files in the repository.
func shipped() []string {
	var files []string
	for _, dir := range []string{"", "experiments/", "repro/"} {
		more, _ := filepath.Glob("../../scenarios/" + dir + "*.yaml")
		files = append(files, more...)
	}
	more, _ := filepath.Glob("../../deploy/ansible/*.yaml")
	return append(files, more...)
}

// Every shipped scenario loads: a user runs them as they are.
func TestShippedScenariosLoad(t *testing.T) {
	files := shipped()
	if len(files) < 8 {
		t.Fatalf("found %d scenario files: %v", len(files), files)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p, b); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// FuzzLoad: no input makes the loader or the planner panic; what loads
// plans, estimates and checks.
func FuzzLoad(f *testing.F) {
	for _, p := range shipped() {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(good))
	f.Add([]byte("version: 1\nname: x\nplatforms: [{name: a, type: vm, per_guest: 2}]\nworkloads: [{type: memory, params: {size: [1MiB, 10GiB]}}]\ndensity: {levels: {from: 1, to: 8}, slo: [{metric: memory.bandwidth, max_loss: 10%}]}\n"))
	f.Add([]byte("version: 1\nname: x\nplatforms: [{name: a, type: native}]\nworkloads: [{type: cpu}]\ngates: [{min_instances_per_host: 2, platform: a}, {metric: cpu.throughput, negligible: 2%}]\nnegligible: 3%\ncompare: [a vs a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Load("fuzz.yaml", data)
		if err != nil {
			if _, ok := err.(Errors); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		Estimate(s, Host{})
		CheckPlan(s, false)
		if Trials(s) <= 10000 {
			if n := len(Plan(s)); n != Trials(s) {
				t.Fatalf("plan of %d trials, Trials says %d", n, Trials(s))
			}
		}
		s.Analysis()
	})
}
