package scenario

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: no input makes the loader or the planner panic; what loads
// plans, estimates and checks.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("../../scenarios/*.yaml")
	more, _ := filepath.Glob("../../scenarios/experiments/*.yaml")
	for _, p := range append(files, more...) {
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
		Estimate(s)
		CheckPlan(s, false)
		if Trials(s) <= 10000 {
			if n := len(Plan(s)); n != Trials(s) {
				t.Fatalf("plan of %d trials, Trials says %d", n, Trials(s))
			}
		}
		s.Analysis()
	})
}
