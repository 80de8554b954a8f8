package sysbench

import (
	"os"
	"slices"
	"testing"

	"github.com/vmbench/vmbench/internal/workload"
)

// Real output of sysbench 1.0.20, captured with the command lines Args builds.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		test, file, metric string
		want               float64
	}{
		{"cpu", "testdata/sysbench-cpu.txt", "rate", 3362.20},
		{"memory", "testdata/sysbench-memory.txt", "bandwidth", 39094.05 * (1 << 20)},
	} {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Parse(tc.test, b)
		if err != nil {
			t.Fatal(err)
		}
		if m := res.Metrics[0]; m.Name != tc.metric || m.Value != tc.want {
			t.Errorf("%s: %+v, want %s = %g", tc.test, m, tc.metric, tc.want)
		}
		if _, err := Parse(tc.test, []byte("FATAL: unknown test")); err == nil {
			t.Errorf("%s: garbage parsed", tc.test)
		}
	}
}

func TestArgsAndValidate(t *testing.T) {
	p, errs := workload.Complete(Workload{}, map[string]string{"test": "memory", "threads": "2", "duration": "3s"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	args := Args(p)
	if args[0] != "memory" || !slices.Contains(args, "--threads=2") || !slices.Contains(args, "--time=3") || !slices.Contains(args, "--memory-oper=write") || args[len(args)-1] != "run" {
		t.Errorf("args %v", args)
	}
	if _, errs := workload.Complete(Workload{}, map[string]string{"duration": "1500ms"}); len(errs) == 0 {
		t.Error("a duration of 1.5s was accepted; sysbench runs whole seconds")
	}
}
